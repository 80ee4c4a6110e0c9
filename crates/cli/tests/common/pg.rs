//! Private PostgreSQL clusters for the tests that need a cluster of their own (TLS, backup and
//! restore into a second database): initdb into a temp dir, `pg_ctl start`, stopped when
//! dropped. Debian's `postgresql` package (scripts/install-system-deps.sh --test); as root the
//! server runs as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn pg_bin() -> PathBuf {
    let initdb = renkei_core::backup_pg::program("initdb");
    match initdb.parent() {
        Some(dir) if initdb.exists() => dir.to_path_buf(),
        _ => panic!(
            "PostgreSQL server binaries (initdb) not found: install them with \
             `sudo scripts/install-system-deps.sh --test` (Debian package: postgresql) \
             or point RENKEI_PG_BIN at their folder"
        ),
    }
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

/// A private PostgreSQL cluster of one test, stopped and removed when dropped: on a Unix socket
/// in its temp dir, and with [`PgCluster::start_tls`] also on 127.0.0.1:`port` with TLS only
/// (`hostssl`; plain TCP rejected).
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for PgCluster {
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

impl PgCluster {
    /// A cluster on a Unix socket only.
    pub fn start() -> PgCluster {
        Self::start_with(false)
    }

    /// A cluster that also listens on 127.0.0.1 with TLS only.
    pub fn start_tls() -> PgCluster {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> PgCluster {
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
        if tls {
            super::tls::make_certs(&certs);
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
        let opts = if tls {
            format!(
                "-k {sock} -c listen_addresses=127.0.0.1 -c port={port} -c ssl=on \
                 -c ssl_cert_file={cert} -c ssl_key_file={key} -c fsync=off",
                sock = d.display(),
                cert = certs.join("server.pem").display(),
                key = certs.join("server.key").display(),
            )
        } else {
            format!(
                "-k {sock} -c listen_addresses='' -c port={port} -c fsync=off",
                sock = d.display()
            )
        };
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
        let cluster = PgCluster { bin, dir, port };
        cluster.create_db("renkei");
        cluster
    }

    /// The database `renkei` over TLS (`start_tls`), with `query` appended.
    pub fn url(&self, query: &str) -> String {
        format!("postgresql://renkei@localhost:{}/renkei?{query}", self.port)
    }

    /// A database over the Unix socket (no TLS), created empty with `pg_trgm` unless it exists.
    pub fn socket_url(&self, db: &str) -> String {
        let sock = self.dir.path().to_string_lossy().replace('/', "%2F");
        format!("postgresql://renkei@{sock}:{}/{db}", self.port)
    }

    /// Creates database `db` (empty, with `pg_trgm`) on the cluster.
    pub fn create_db(&self, db: &str) {
        self.psql("postgres", &format!("CREATE DATABASE {db}"));
        self.psql(db, "CREATE EXTENSION IF NOT EXISTS pg_trgm");
    }

    fn psql(&self, db: &str, sql: &str) {
        let o = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                self.dir.path().to_str().unwrap(),
                "-p",
                &self.port.to_string(),
            ])
            .args(["-U", "renkei", "-d", db, "-qAt", "-c", sql])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// The CA that signed the TLS certificate (`start_tls`).
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("certs/ca.pem")
    }
}
