//! A `renkei serve` polling a private Dovecot (`super::dovecot`), with the data dir, the
//! store key and helpers to look at the queue and the mailbox — for the IMAP tests.

#![allow(dead_code)]

use super::dovecot::{Dovecot, ImapClient, PASSWORD};
use super::Server;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const NOW: &str = "2026-12-01T10:00:00+09:00";

pub struct Rig {
    pub dc: Dovecot,
    pub _tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub key: PathBuf,
    pub server: Option<Server>,
    pub starts: u32,
    /// `RENKEI_NOW` for the server (false: the real clock).
    pub frozen: bool,
    /// `RENKEI_IMAP_URL` (default: plain IMAP on loopback) and more variables.
    pub url: String,
    pub extra: Vec<(String, String)>,
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/mail")
            .join(name),
    )
    .unwrap()
}

/// LF → CRLF, as a mail arrives over the wire.
pub fn crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

pub fn done_folder() -> String {
    renkei_intake::imap_account::folder_name(
        renkei_intake::imap_account::DEFAULT_DONE_FOLDER,
        Some("/"),
    )
}

pub fn wait_until<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            t0.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Rig {
    pub fn new() -> Option<Rig> {
        Some(Rig::with(Dovecot::start()?))
    }

    pub fn with(dc: Dovecot) -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let key = tmp.path().join("store.key");
        let o = super::renkei(&data, &key).arg("init").output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let url = dc.url();
        Rig {
            dc,
            _tmp: tmp,
            data,
            key,
            server: None,
            starts: 0,
            frozen: true,
            url,
            extra: Vec::new(),
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.data.join("logs").join("renkei.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts `renkei serve` polling the Dovecot mailbox; waits for its `imap: connected`.
    pub fn serve(&mut self) {
        let before = self.log().matches("imap: connected").count();
        self.spawn();
        wait_until(
            Duration::from_secs(20),
            "imap: connected in the log",
            || (self.log().matches("imap: connected").count() > before).then_some(()),
        );
    }

    /// Starts `renkei serve` without waiting for the mailbox.
    pub fn spawn(&mut self) {
        self.starts += 1;
        let url = self.url.clone();
        let stderr = self
            ._tmp
            .path()
            .join(format!("serve-{}.stderr", self.starts));
        let mut envs = vec![
            ("RENKEI_IMAP_URL", url.as_str()),
            ("RENKEI_IMAP_PASSWORD", PASSWORD),
            ("RENKEI_MCS_SENDERS", ""),
        ];
        if self.frozen {
            envs.push(("RENKEI_NOW", NOW));
        }
        for (k, v) in &self.extra {
            envs.push((k.as_str(), v.as_str()));
        }
        self.server = Some(super::start_with(&self.data, &self.key, stderr, &envs));
    }

    pub fn kill(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.child.kill().unwrap();
            s.child.wait().unwrap();
            std::mem::forget(s);
        }
    }

    pub fn pid(&self) -> u32 {
        self.server.as_ref().unwrap().child.id()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let o = super::renkei(&self.data, &self.key)
            .args(args)
            .env("RENKEI_NOW", NOW)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    }

    pub fn queue(&self) -> Vec<Value> {
        self.json(&["queue", "--json", "--all"])
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn show(&self, id: &Value) -> Value {
        self.json(&["show", &id.as_i64().unwrap().to_string(), "--json"])
    }

    pub fn client(&self) -> ImapClient {
        self.dc.client()
    }

    /// (INBOX, done folder) message counts.
    pub fn counts(&self) -> (usize, usize) {
        let mut c = self.client();
        let inbox = c.count("INBOX").unwrap();
        let done = c.count(&done_folder()).unwrap_or(0);
        c.logout();
        (inbox, done)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- renkei.log ---\n{}", self.log());
            eprintln!("--- dovecot.log (tail) ---\n{}", {
                let l = self.dc.log();
                l.lines().rev().take(30).collect::<Vec<_>>().join("\n")
            });
        }
    }
}

pub fn text_of(show: &Value) -> String {
    let mut t = show["subject"].as_str().unwrap_or("").to_string();
    for m in show["thread"].as_array().into_iter().flatten() {
        t.push('\n');
        t.push_str(m["body"].as_str().unwrap_or(""));
    }
    t
}

pub fn peak_rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
