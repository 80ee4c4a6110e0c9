//! The store key in a real OS keyring: GNOME Keyring's Secret Service on a private D-Bus
//! session bus, driven through the `renkei` binary as an operator would. Needs `dbus-daemon`
//! and `gnome-keyring-daemon` (installed by `scripts/install-system-deps.sh --test`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A private session bus with an unlocked GNOME Keyring on it; both die with the value.
struct Keyring {
    bus: Child,
    daemon: Option<Child>,
    address: String,
    home: PathBuf,
}

fn need(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is missing: run `scripts/install-system-deps.sh --test` (installs dbus and gnome-keyring)"
    );
}

impl Keyring {
    fn start(home: &Path) -> Keyring {
        need("dbus-daemon");
        need("gnome-keyring-daemon");
        std::fs::create_dir_all(home.join("run")).unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon gave no address: {address:?}"
        );
        let mut k = Keyring {
            bus,
            daemon: None,
            address,
            home: home.to_path_buf(),
        };
        k.start_daemon();
        k
    }

    /// Starts gnome-keyring-daemon unlocked (creating the login keyring with a test password).
    fn start_daemon(&mut self) {
        let mut d = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", &self.home)
            .env("XDG_RUNTIME_DIR", self.home.join("run"))
            .env("XDG_DATA_HOME", self.home.join("share"))
            .env_remove("DISPLAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        d.stdin.take().unwrap().write_all(b"test-only").unwrap();
        self.daemon = Some(d);
        // Wait until it owns the Secret Service name on the bus.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let out = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "gnome-keyring-daemon did not come up on the test bus"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn stop_daemon(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.kill().unwrap();
            d.wait().unwrap();
        }
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        self.stop_daemon();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

struct Desk {
    data: PathBuf,
    home: PathBuf,
    bus: String,
    extra: Vec<(&'static str, String)>,
}

impl Desk {
    fn run(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_renkei"));
        c.arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("RENKEI_NOW", "2026-12-01T10:00:00+09:00")
            .env("RENKEI_KEYRING_TIMEOUT_MS", "5000")
            .env_remove("RENKEI_DB_KEY")
            .env_remove("RENKEI_KEY_FILE")
            .env_remove("RENKEI_KEYRING")
            .env_remove("RENKEI_DATA_DIR");
        for (k, v) in &self.extra {
            c.env(k, v);
        }
        c.output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["key", "status", "--json"])).unwrap()
    }
    fn default_key_file(&self) -> PathBuf {
        self.home.join("config/renkei-desk/store.key")
    }
}

fn sha(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut v = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .read_to_end(&mut v)
        .unwrap();
    v
}

#[test]
fn the_store_key_lives_in_the_os_keyring_and_moves_in_and_out() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let mut keyring = Keyring::start(&home);
    let desk = Desk {
        data: tmp.path().join("data"),
        home: home.clone(),
        bus: keyring.address.clone(),
        extra: vec![],
    };

    // A new store: its key goes into the keyring, no key file anywhere.
    desk.ok(&["init"]);
    desk.ok(&[
        "partner",
        "add",
        "--name",
        "テスト訪問看護ステーション",
        "--kind",
        "nursing",
    ]);
    let s = desk.status();
    assert_eq!(s["source"], "keyring", "{s}");
    assert_eq!(s["keyring"], "holds a store key", "{s}");
    assert!(!desk.default_key_file().exists());
    let db = desk.data.join("renkei.db");
    assert_ne!(
        &sha(&db)[..16],
        b"SQLite format 3\0",
        "the store must be encrypted"
    );
    // The entry is really in the Secret Service, under its label (seen by another client).
    let found = Command::new("secret-tool")
        .args(["search", "--all", "service", "jp.renkei.desk"])
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&found.stdout).to_string()
        + &String::from_utf8_lossy(&found.stderr);
    assert!(found.contains("store-key"), "secret-tool: {found}");
    let fingerprint = s["fingerprint"].as_str().unwrap().to_string();

    // Key backup: export writes 64 hex digits, 0600, and refuses to overwrite.
    let exported = tmp.path().join("usb/renkei-key.txt");
    desk.ok(&["key", "export", "--out", exported.to_str().unwrap()]);
    let hex = std::fs::read_to_string(&exported).unwrap();
    assert_eq!(hex.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&exported).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = desk.run(&["key", "export", "--out", exported.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Keyring → file (a PC without a keyring) and back; the store opens at every step.
    let default_file = desk.default_key_file();
    desk.ok(&[
        "key",
        "move-to-file",
        "--out",
        default_file.to_str().unwrap(),
    ]);
    let s = desk.status();
    assert_eq!(s["source"], "file", "{s}");
    assert_eq!(s["keyring"], "available, no store key", "{s}");
    assert_eq!(s["fingerprint"], fingerprint.as_str());
    desk.ok(&["key", "move-to-keyring"]);
    assert!(!default_file.exists(), "the key file must be removed");
    let s = desk.status();
    assert_eq!(s["source"], "keyring", "{s}");
    assert_eq!(s["fingerprint"], fingerprint.as_str());
    let audit = desk.ok(&["audit", "--json"]);
    assert!(audit.contains("key.export") && audit.contains("key.move"));
    assert!(
        !audit.contains(hex.trim()),
        "the key itself must never be audited"
    );

    // The keyring goes away: a clear error that says what to do, and the store is untouched.
    keyring.stop_daemon();
    let before = sha(&db);
    let o = desk.run(&["queue", "--json"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("keyring") && err.contains("key backup"),
        "error should name the keyring and the way out: {err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(sha(&db), before, "a failed open must not change the store");
    assert!(
        !default_file.exists(),
        "no new key may be made for an existing store"
    );

    // Recovery from the exported key file.
    let recovered = Desk {
        extra: vec![("RENKEI_KEY_FILE", exported.to_string_lossy().to_string())],
        ..desk
    };
    let rows: serde_json::Value =
        serde_json::from_str(&recovered.ok(&["partner", "list", "--json"])).unwrap();
    assert!(rows.to_string().contains("テスト訪問看護ステーション"));
}

#[test]
fn a_keyring_that_never_answers_does_not_hang_a_new_store() {
    // A "bus" that accepts connections and never says a word (a locked keyring waiting for a
    // prompt looks the same to us): a new store falls back to the key file within the deadline.
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("silent-bus");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in listener.incoming().take(8) {
            conns.push(c);
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    let desk = Desk {
        data: tmp.path().join("data"),
        home: tmp.path().join("home"),
        bus: format!("unix:path={}", sock.display()),
        extra: vec![("RENKEI_KEYRING_TIMEOUT_MS", "400".into())],
    };
    let t = std::time::Instant::now();
    desk.ok(&["init"]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "init waited {:?} for a silent keyring",
        t.elapsed()
    );
    assert!(
        desk.default_key_file().exists(),
        "the key must fall back to the key file"
    );
    let s = desk.status();
    assert_eq!(s["source"], "file", "{s}");
    assert!(
        s["keyring"].as_str().unwrap().contains("did not answer"),
        "{s}"
    );
    drop(held);
}

#[test]
fn with_the_keyring_turned_off_a_new_store_uses_the_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = Desk {
        data: tmp.path().join("data"),
        home: tmp.path().join("home"),
        bus: "unix:path=/nonexistent/bus".into(),
        extra: vec![("RENKEI_KEYRING", "off".into())],
    };
    desk.ok(&["init"]);
    assert!(desk.default_key_file().exists());
    let s = desk.status();
    assert_eq!(s["source"], "file", "{s}");
    assert!(s["keyring"].as_str().unwrap().contains("turned off"), "{s}");
}
