//! TLS to PostgreSQL (issue 18): a private PostgreSQL cluster of this test's own, with `ssl=on`
//! and a certificate from a throw-away CA, that refuses every TCP connection without TLS
//! (`hostnossl … reject`). `renkei` with `sslmode=require` and the CA in
//! `RENKEI_DATABASE_CA_FILE` works on it; without the CA the certificate is refused with a
//! message that says what to do; `sslmode=disable` to another host is refused before any
//! connection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    found.retain(|b| b.join("initdb").exists());
    found.sort();
    found.pop().expect(
        "PostgreSQL server binaries (initdb) not found: install them with \
         `sudo scripts/install-system-deps.sh --test` (Debian package: postgresql)",
    )
}

fn is_root() -> bool {
    // The real uid of this process, from /proc (no libc call needed).
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next().map(|u| u == "0"))
        .unwrap_or(false)
}

/// Runs a PostgreSQL binary, as the `postgres` user when the test runs as root (initdb and
/// the server refuse root).
fn pg(bin: &Path, args: &[&str]) -> std::process::Output {
    let mut c = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    c.args(args).output().unwrap()
}

fn chown_pg(p: &Path) {
    if is_root() {
        let o = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(p)
            .output()
            .unwrap();
        assert!(o.status.success());
    }
}

/// A private cluster listening on 127.0.0.1:`port` with TLS only; stopped when dropped.
struct TlsCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = pg(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

impl TlsCluster {
    fn start() -> TlsCluster {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("renkei-pgtls")
            .tempdir()
            .unwrap();
        let d = dir.path().to_path_buf();
        let d = d.as_path();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let certs = d.join("certs");
        std::fs::create_dir(&certs).unwrap();
        tls::make_certs(&certs);
        {
            use std::os::unix::fs::PermissionsExt;
            let key = certs.join("server.key");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        chown_pg(d);
        let data = d.join("data");
        let o = pg(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "renkei",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
        );
        assert!(
            o.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // Unix socket for setting up; TCP only with TLS.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        chown_pg(&data);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let opts = format!(
            "-k {sock} -c listen_addresses=127.0.0.1 -c port={port} -c ssl=on \
             -c ssl_cert_file={cert} -c ssl_key_file={key} -c fsync=off",
            sock = d.display(),
            cert = certs.join("server.pem").display(),
            key = certs.join("server.key").display(),
        );
        let log = d.join("log");
        let o = pg(
            &bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        assert!(
            o.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&o.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let cluster = TlsCluster { bin, dir, port };
        for sql in [
            "CREATE DATABASE renkei",
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        ] {
            let db = if sql.starts_with("CREATE DATABASE") {
                "postgres"
            } else {
                "renkei"
            };
            let o = Command::new(cluster.bin.join("psql"))
                .args(["-h", d.to_str().unwrap(), "-p", &port.to_string()])
                .args(["-U", "renkei", "-d", db, "-qAt", "-c", sql])
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{sql}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        cluster
    }

    fn url(&self, query: &str) -> String {
        format!("postgresql://renkei@localhost:{}/renkei?{query}", self.port)
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("certs/ca.pem")
    }
}

/// `renkei` on the given database URL and environment (not the test run's own PostgreSQL).
fn renkei_on(data: &Path, key: &Path, url: &str, envs: &[(&str, &str)]) -> Command {
    let mut c = renkei(data, key);
    c.env("RENKEI_DATABASE_URL", url)
        .env_remove("RENKEI_DATABASE_CA_FILE")
        .env_remove("RENKEI_DATABASE_ALLOW_PLAINTEXT")
        .envs(envs.iter().copied());
    c
}

#[test]
fn the_hub_talks_to_postgresql_over_verified_tls_only() {
    let cluster = TlsCluster::start();
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let ca = cluster.ca();
    let with_ca = [("RENKEI_DATABASE_CA_FILE", ca.to_str().unwrap())];
    let url = cluster.url("sslmode=require");

    // With the CA: init (the migrations), a partner, the queue — every statement over TLS,
    // since the server rejects TCP without it.
    for args in [
        vec!["init"],
        vec![
            "partner", "add", "--name", PARTNER, "--kind", "nursing", "--json",
        ],
        vec!["queue", "--json"],
    ] {
        let o = renkei_on(&data, &key, &url, &with_ca)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "renkei {args:?} over TLS: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // Without the CA the certificate is not trusted: refused, and the message says what to do.
    let o = renkei_on(&data, &key, &url, &[])
        .args(["queue", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "an untrusted certificate must be refused"
    );
    assert!(
        err.contains("certificate") && err.contains("RENKEI_DATABASE_CA_FILE"),
        "{err}"
    );

    // Loopback without sslmode=require is plain, which this server rejects: proof that the
    // successful runs above were TLS.
    let o = renkei_on(&data, &key, &cluster.url("sslmode=disable"), &with_ca)
        .args(["queue", "--json"])
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "a plain connection must be rejected by this server"
    );
}

#[test]
fn plaintext_to_another_host_is_refused_before_connecting() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    // 192.0.2.1 (TEST-NET-1): refused by the rule, never dialled.
    let o = renkei_on(
        &data,
        &key,
        "postgresql://renkei@192.0.2.1/renkei?sslmode=disable&connect_timeout=2",
        &[],
    )
    .args(["queue", "--json"])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("refusing an unencrypted connection")
            && err.contains("RENKEI_DATABASE_ALLOW_PLAINTEXT"),
        "{err}"
    );
}
