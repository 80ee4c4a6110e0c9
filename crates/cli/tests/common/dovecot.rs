//! A private Dovecot IMAP server for tests, and a tiny blocking IMAP client to drive it (APPEND
//! like a delivery, STATUS/SEARCH to see where mail went).
//!
//! [`Dovecot::start`] writes its own `dovecot.conf` into a temp dir (mail in `maildir:`, the
//! hierarchy separator `/`, a static user from a `passwd-file`, plain IMAP on a free loopback
//! port, no SSL, no other protocols) and runs `dovecot -F -c FILE` as a child process — no
//! system service is touched; dropping the value stops it and removes the dir. As root the
//! package's own `dovecot`/`dovenull` users run the internals and the mail belongs to
//! `nobody` (Dovecot refuses mail access as UID 0); as another user everything runs as that
//! user. Without the `dovecot` binary it returns `None` after a loud message (install it with
//! `scripts/install-system-deps.sh --test`); any other failure panics.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "desk";
pub const PASSWORD: &str = "pw-for-tests-only";

pub struct Dovecot {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// With TLS (`start_tls`): the CA that signed the server's certificate (`localhost`), and
    /// the implicit-TLS port.
    pub ca: Option<PathBuf>,
    pub tls_port: Option<u16>,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_binary() -> Option<PathBuf> {
    ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn id(flag: &str) -> String {
    let out = Command::new("id").arg(flag).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl Dovecot {
    /// Starts a private Dovecot, or `None` (with a loud message) when it is not installed.
    pub fn start() -> Option<Dovecot> {
        Self::start_opts(false)
    }

    /// [`Dovecot::start`] plus an implicit-TLS (imaps) listener with a certificate for
    /// `localhost` signed by a throw-away CA (`openssl`), in [`Dovecot::ca`].
    pub fn start_tls() -> Option<Dovecot> {
        Self::start_opts(true)
    }

    fn start_opts(tls: bool) -> Option<Dovecot> {
        let Some(bin) = find_binary() else {
            eprintln!(
                "\n\n*** SKIPPED: the dovecot binary is missing; run `scripts/install-system-deps.sh --test` (Debian: dovecot-imapd) to run the IMAP tests ***\n\n"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let d = d.as_path();
        let root = id("-u") == "0";
        // Dovecot's unprivileged processes must reach the mail under the temp dir.
        set_mode(d, 0o755);
        for sub in ["mail", "run", "state"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let (internal, internal_group, login, uid, gid) = if root {
            (
                "dovecot".to_string(),
                "dovecot".to_string(),
                "dovenull".to_string(),
                65534,
                65534,
            )
        } else {
            let user = id("-un");
            let group = id("-gn");
            (
                user.clone(),
                group,
                user,
                id("-u").parse::<u32>().unwrap(),
                id("-g").parse::<u32>().unwrap(),
            )
        };
        if root {
            let st = Command::new("chown")
                .arg(format!("{uid}:{gid}"))
                .arg(d.join("mail"))
                .status()
                .unwrap();
            assert!(st.success(), "chown of the test mail dir failed");
        }
        std::fs::write(d.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let port = free_port();
        let tls_port = tls.then(free_port);
        if tls {
            super::tls::make_certs(d);
        }
        let p = |s: &str| d.join(s).display().to_string();
        let (ssl, imaps) = match tls_port {
            Some(tp) => (
                format!(
                    "ssl = yes\nssl_cert = <{}\nssl_key = <{}\n",
                    p("server.pem"),
                    p("server.key")
                ),
                format!("address = 127.0.0.1\n    port = {tp}\n    ssl = yes"),
            ),
            None => ("ssl = no\n".to_string(), "port = 0".to_string()),
        };
        let conf = format!(
            r#"base_dir = {run}
state_dir = {state}
log_path = {log}
protocols = imap
listen = 127.0.0.1
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    {imaps}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"#,
            run = p("run"),
            state = p("state"),
            log = p("dovecot.log"),
            passwd = p("passwd"),
            mail = p("mail"),
        );
        let conf_path = d.join("dovecot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(bin)
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("dovecot.stderr")).unwrap())
            .spawn()
            .unwrap();
        let dc = Dovecot {
            child,
            port,
            dir,
            ca: tls.then(|| d.join("ca.pem")),
            tls_port,
        };
        let t0 = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "dovecot did not listen within 20 s: {}\n{}",
                std::fs::read_to_string(d.join("dovecot.stderr")).unwrap_or_default(),
                std::fs::read_to_string(d.join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(dc)
    }

    /// `imap://desk@127.0.0.1:PORT/INBOX` — what `RENKEI_IMAP_URL` gets.
    pub fn url(&self) -> String {
        format!("imap://{USER}@127.0.0.1:{}/INBOX", self.port)
    }

    /// `imaps://desk@localhost:TLS_PORT/INBOX` (after [`Dovecot::start_tls`]).
    pub fn tls_url(&self) -> String {
        format!("imaps://{USER}@localhost:{}/INBOX", self.tls_port.unwrap())
    }

    /// A logged-in client.
    pub fn client(&self) -> ImapClient {
        ImapClient::login(self.port, USER, PASSWORD)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A minimal blocking IMAP client (tagged commands, synchronizing literals for APPEND).
pub struct ImapClient {
    r: BufReader<TcpStream>,
    w: TcpStream,
    tag: u32,
}

impl ImapClient {
    pub fn login(port: u16, user: &str, password: &str) -> ImapClient {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let w = s.try_clone().unwrap();
        let mut c = ImapClient {
            r: BufReader::new(s),
            w,
            tag: 0,
        };
        let greeting = c.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        c.ok(&format!("LOGIN {user} \"{password}\""));
        c
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        assert!(!l.is_empty(), "the IMAP server closed the connection");
        l.trim_end().to_string()
    }

    /// Sends `cmd`; returns the untagged lines; panics unless the answer is OK.
    pub fn ok(&mut self, cmd: &str) -> Vec<String> {
        let (status, lines) = self.run(cmd);
        assert!(status.starts_with("OK"), "{cmd} → {status}");
        lines
    }

    /// Sends `cmd`; returns (tagged status text, untagged lines).
    pub fn run(&mut self, cmd: &str) -> (String, Vec<String>) {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        write!(self.w, "{tag} {cmd}\r\n").unwrap();
        self.read_until(&tag)
    }

    fn read_until(&mut self, tag: &str) -> (String, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                return (rest.to_string(), lines);
            }
            // Skip literals inside untagged answers ({n} at the end of a line).
            if let Some(n) = l
                .strip_suffix('}')
                .and_then(|x| x.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            {
                let mut buf = vec![0u8; n];
                self.r.read_exact(&mut buf).unwrap();
            }
            lines.push(l);
        }
    }

    /// Delivers `raw` into `mailbox` (IMAP APPEND, like a mail delivery).
    pub fn append(&mut self, mailbox: &str, raw: &[u8]) {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        write!(self.w, "{tag} APPEND {mailbox} {{{}}}\r\n", raw.len()).unwrap();
        let cont = self.line();
        assert!(cont.starts_with('+'), "APPEND: {cont}");
        self.w.write_all(raw).unwrap();
        self.w.write_all(b"\r\n").unwrap();
        let (status, _) = self.read_until(&tag);
        assert!(status.starts_with("OK"), "APPEND → {status}");
    }

    /// Number of messages in `mailbox` (an encoded name), `None` when it does not exist.
    pub fn count(&mut self, mailbox: &str) -> Option<usize> {
        let (status, lines) = self.run(&format!("STATUS \"{mailbox}\" (MESSAGES)"));
        if !status.starts_with("OK") {
            return None;
        }
        lines.iter().find_map(|l| {
            let i = l.find("MESSAGES ")?;
            l[i + 9..]
                .trim_end_matches(')')
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
    }

    /// Lists the folder names (encoded) under `pattern`.
    pub fn list(&mut self, pattern: &str) -> Vec<String> {
        self.ok(&format!("LIST \"\" \"{pattern}\""))
            .into_iter()
            .filter_map(|l| {
                l.rsplit_once(' ')
                    .map(|(_, n)| n.trim_matches('"').to_string())
            })
            .collect()
    }

    pub fn logout(mut self) {
        let _ = self.run("LOGOUT");
    }
}
