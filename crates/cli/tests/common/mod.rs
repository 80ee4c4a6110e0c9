//! Helpers shared by the tests that run `renkei` and `renkei serve` as real processes.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod desk;
pub mod dovecot;
pub mod mail_rig;
pub mod pg;
pub mod tls;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const PARTNER: &str = "ひまわり訪問看護ステーション";
/// Bounds every socket operation, so a hung server fails the test instead of hanging CI.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `renkei serve`; killed when dropped, so a failed assertion leaves no server behind.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn renkei(data: &Path, key: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_renkei"));
    c.arg("--data-dir")
        .arg(data)
        .env("RENKEI_KEY_FILE", key)
        .env_remove("RENKEI_DB_KEY")
        .env("RENKEI_RATE_LIMIT_PER_MIN", "0");
    match database_url(data) {
        Some(url) => c.env("RENKEI_DATABASE_URL", url),
        None => c.env_remove("RENKEI_DATABASE_URL"),
    };
    c
}

/// Under `make unit-pg` (`RENKEI_TEST_DATABASE_URL` set by scripts/with-postgres.sh) every
/// `renkei` of a test runs on PostgreSQL: one schema per data dir (so a restart finds its
/// store), chosen through the URL's `options=-csearch_path=…`. Otherwise `None` (SQLite).
pub fn database_url(data: &Path) -> Option<String> {
    let url = std::env::var("RENKEI_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())?;
    let schema = format!(
        "d_{}",
        &renkei_core::store::blobs::sha256_hex(data.to_string_lossy().as_bytes())[..20]
    );
    let admin = renkei_core::store::pg::PgStore::connect(&url).unwrap();
    admin
        .db()
        .execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!(
        "{url}{sep}options=-csearch_path%3D{schema}%2Cpublic"
    ))
}

/// Starts `renkei serve` on a free port; its stderr goes to `log`.
pub fn start(data: &Path, key: &Path, log: PathBuf) -> Server {
    start_with(data, key, log, &[])
}

/// [`start`] with extra environment variables (`RENKEI_IMAP_URL`, `RENKEI_NOW`…).
pub fn start_with(data: &Path, key: &Path, log: PathBuf, envs: &[(&str, &str)]) -> Server {
    start_args(data, key, log, envs, &[])
}

/// [`start_with`] with extra `serve` arguments (`--tls-cert`…). The ready line may say
/// `http://` or `https://`; [`Server::addr`] is the `HOST:PORT` after it.
pub fn start_args(
    data: &Path,
    key: &Path,
    log: PathBuf,
    envs: &[(&str, &str)],
    args: &[&str],
) -> Server {
    let mut cmd = renkei(data, key);
    cmd.envs(envs.iter().copied());
    cmd.arg("serve");
    // Any free port unless the test chose one (a restart on the same address).
    if !args.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    let mut child = cmd
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut server = Server {
        child,
        addr: String::new(),
        log,
    };
    // The ready line is read on a helper thread so that a server that never gets ready fails
    // the test after a while instead of blocking it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no ready line within 60 s; see {}", server.log.display()));
    server.addr = line
        .trim()
        .strip_prefix("listening on http://")
        .or_else(|| line.trim().strip_prefix("listening on https://"))
        .unwrap_or_else(|| panic!("ready line: {line:?}; see {}", server.log.display()))
        .to_string();
    server
}

/// How one request ended.
#[derive(Debug)]
pub enum Sent {
    /// A complete HTTP answer: status and body.
    Answer(u16, String),
    /// No connection: the request never reached a server.
    Refused(String),
    /// Connected, but no complete answer: the server may or may not have acted on it.
    Lost(String),
}

/// One HTTP/1.1 request on a fresh connection, every step bounded by [`IO_TIMEOUT`].
pub fn send(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Sent {
    let sa: SocketAddr = addr.parse().unwrap();
    let mut s = match TcpStream::connect_timeout(&sa, IO_TIMEOUT) {
        Ok(s) => s,
        Err(e) => return Sent::Refused(e.to_string()),
    };
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    if let Err(e) = s.write_all(req.as_bytes()) {
        return Sent::Lost(format!("writing: {e}"));
    }
    let mut raw = Vec::new();
    if let Err(e) = s.read_to_end(&mut raw) {
        return Sent::Lost(format!("reading: {e}"));
    }
    let resp = String::from_utf8_lossy(&raw);
    let Some((head, body)) = resp.split_once("\r\n\r\n") else {
        return Sent::Lost(format!("incomplete answer: {resp:?}"));
    };
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok());
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    match (status, length) {
        (Some(status), Some(n)) if n == body.len() => Sent::Answer(status, body.to_string()),
        _ => Sent::Lost(format!("incomplete answer: {resp:?}")),
    }
}

pub fn post(addr: &str, key: &str, body: &str) -> Sent {
    post_with(addr, key, body, &[])
}

/// `POST /v1/consultations` with the partner's key and `extra` headers (an Idempotency-Key).
pub fn post_with(addr: &str, key: &str, body: &str, extra: &[(&str, &str)]) -> Sent {
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    send(addr, "POST", "/v1/consultations", &headers, body)
}

pub fn partner_key(data: &Path, key: &Path) -> String {
    let v = cli_json(
        data,
        key,
        &[
            "partner", "add", "--name", PARTNER, "--kind", "nursing", "--json",
        ],
    );
    v["api_key"].as_str().unwrap().to_string()
}

/// `renkei ARGS` on the store, which must succeed (else the test fails with its stderr): its
/// standard output.
pub fn cli_ok(data: &Path, key: &Path, args: &[&str]) -> Vec<u8> {
    let out = renkei(data, key).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "renkei {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// [`cli_ok`] for a command with `--json`: its answer.
pub fn cli_json(data: &Path, key: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&cli_ok(data, key, args)).unwrap()
}

/// `renkei queue --json --all`: every consultation in the store, resolved ones included.
pub fn all_rows(data: &Path, key: &Path) -> Vec<serde_json::Value> {
    let out = renkei(data, key)
        .args(["queue", "--json", "--all"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "queue: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `renkei check` (store, attachments, audit chain) passes.
pub fn check_clean(data: &Path, key: &Path, when: &str) {
    let check = renkei(data, key).arg("check").output().unwrap();
    assert!(
        check.status.success(),
        "check {when}: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}
