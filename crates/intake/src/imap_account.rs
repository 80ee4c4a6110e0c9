//! The clinic's IMAP mailbox as configured: `RENKEI_IMAP_URL` (`imaps://USER@HOST:993/INBOX`)
//! parsed and checked, `RENKEI_IMAP_PASSWORD`, the folders processed mail goes to, the timings of
//! the poller, and IMAP's *modified UTF-7* mailbox names (RFC 3501 §5.1.3) for the Japanese
//! folder names.
//!
//! Rules: `imaps://` (TLS from the first byte) anywhere; plain `imap://` only to this computer
//! (loopback), because the password would otherwise cross the network readable. The password
//! never sits in the URL (the URL shows up in logs and process lists) and is never printed:
//! `Debug` masks it.

use renkei_core::mail::MailOptions;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where processed mail goes (`/` = the server's hierarchy separator).
pub const DEFAULT_DONE_FOLDER: &str = "Renkei/取り込み済み";
/// Where mail that cannot be taken in goes (over 25 MiB, not a mail).
pub const DEFAULT_ERROR_FOLDER: &str = "Renkei/取り込みエラー";

/// The mailbox and how to poll it.
#[derive(Clone)]
pub struct ImapConfig {
    /// `imaps://` → true.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The mailbox polled, as written in the URL (UTF-8; encoded when sent).
    pub mailbox: String,
    /// Folder for mail taken in (`/`-separated levels).
    pub done_folder: String,
    /// Folder for mail refused (`/`-separated levels).
    pub error_folder: String,
    /// A private CA (PEM) trusted besides the public roots (`RENKEI_IMAP_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// Pause between polls when the server has no IDLE (`RENKEI_IMAP_POLL_SECS`, default 60 s).
    pub poll_interval: Duration,
    /// IDLE is ended and restarted after this long even when nothing happened (a safety poll;
    /// servers drop IDLE after 30 min, NAT boxes sooner).
    pub idle_refresh: Duration,
    /// First wait after an error; doubles per consecutive error up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Longest wait for one command (connect, login, fetch of one mail…).
    pub command_timeout: Duration,
    /// Which senders are MCS notices (`RENKEI_MCS_SENDERS`).
    pub mail: MailOptions,
}

impl std::fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapConfig")
            .field("url", &self.display_url())
            .field("password", &"<set>")
            .field("done_folder", &self.done_folder)
            .field("error_folder", &self.error_folder)
            .field("ca_file", &self.ca_file)
            .field("poll_interval", &self.poll_interval)
            .field("idle_refresh", &self.idle_refresh)
            .finish_non_exhaustive()
    }
}

impl ImapConfig {
    /// Parses `url` (see the module doc) with `password`. Every refusal says what to write.
    pub fn parse(url: &str, password: &str) -> Result<ImapConfig, String> {
        let url = url.trim();
        let (tls, rest) = if let Some(r) = strip_prefix_ci(url, "imaps://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(url, "imap://") {
            (false, r)
        } else {
            return Err(format!(
                "RENKEI_IMAP_URL must start with imaps:// (e.g. imaps://USER@HOST:993/INBOX), not '{}'",
                url.split("://").next().unwrap_or(url)
            ));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let Some((userinfo, hostport)) = authority.rsplit_once('@') else {
            return Err("RENKEI_IMAP_URL has no user: write imaps://USER@HOST:993/INBOX (an @ inside the user name as %40)".into());
        };
        if userinfo.contains(':') {
            return Err("RENKEI_IMAP_URL contains a password: remove it from the URL and put it in RENKEI_IMAP_PASSWORD".into());
        }
        let user = percent_decode(userinfo)?;
        if user.trim().is_empty() {
            return Err(
                "RENKEI_IMAP_URL has an empty user: write imaps://USER@HOST:993/INBOX".into(),
            );
        }
        let (host, port) = split_host_port(hostport)?;
        let port = port.unwrap_or(if tls { 993 } else { 143 });
        if !tls && !is_loopback(&host) {
            return Err(format!(
                "RENKEI_IMAP_URL: plain imap:// to {host} would send the password unencrypted; use imaps://{host}:993/… (plain imap:// is allowed only to this computer: 127.0.0.1, ::1, localhost)"
            ));
        }
        let mailbox = percent_decode(path.trim_end_matches('/'))?;
        let mailbox = if mailbox.is_empty() {
            "INBOX".to_string()
        } else {
            mailbox
        };
        if password.is_empty() {
            return Err("RENKEI_IMAP_URL is set but RENKEI_IMAP_PASSWORD is empty: set the mailbox password (an app password where the provider offers one)".into());
        }
        Ok(ImapConfig {
            tls,
            host,
            port,
            user,
            password: password.to_string(),
            mailbox,
            done_folder: DEFAULT_DONE_FOLDER.into(),
            error_folder: DEFAULT_ERROR_FOLDER.into(),
            ca_file: None,
            poll_interval: Duration::from_secs(60),
            idle_refresh: Duration::from_secs(10 * 60),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(300),
            command_timeout: Duration::from_secs(120),
            mail: MailOptions::default(),
        })
    }

    /// The URL without secrets, for logs and status lines.
    pub fn display_url(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "{}://{}@{host}:{}/{}",
            if self.tls { "imaps" } else { "imap" },
            self.user,
            self.port,
            self.mailbox
        )
    }

    /// The store cursor of this mailbox (`value` = `UIDVALIDITY:last UID taken`).
    pub fn cursor_key(&self) -> String {
        format!(
            "imap:{}@{}:{}/{}",
            self.user, self.host, self.port, self.mailbox
        )
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

fn split_host_port(hp: &str) -> Result<(String, Option<u16>), String> {
    let bad_port = |p: &str| format!("RENKEI_IMAP_URL: '{p}' is not a port number");
    let (host, port) = if let Some(rest) = hp.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or("RENKEI_IMAP_URL: an IPv6 address needs its closing ]")?;
        match after.strip_prefix(':') {
            Some(p) => (h.to_string(), Some(p.parse().map_err(|_| bad_port(p))?)),
            None => (h.to_string(), None),
        }
    } else {
        match hp.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.parse().map_err(|_| bad_port(p))?)),
            None => (hp.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err("RENKEI_IMAP_URL has no host: write imaps://USER@HOST:993/INBOX".into());
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// `localhost`, 127.0.0.0/8, ::1.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    "RENKEI_IMAP_URL: a % must be followed by two hex digits (%40 for @)"
                        .to_string()
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "RENKEI_IMAP_URL: not valid UTF-8 after %-decoding".into())
}

/// A mailbox name in IMAP's modified UTF-7: printable ASCII as is (`&` → `&-`), other text as
/// `&` + base64 (`,` for `/`, no padding) of UTF-16BE + `-`.
pub fn encode_mailbox_name(name: &str) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    let mut out = String::with_capacity(name.len() * 2);
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&engine.encode(bytes).replace('/', ","));
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// The encoded name of a `/`-separated folder path on a server whose separator is `delimiter`.
pub fn folder_name(path: &str, delimiter: Option<&str>) -> String {
    let levels: Vec<String> = path
        .split('/')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(encode_mailbox_name)
        .collect();
    levels.join(delimiter.unwrap_or("_"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_are_checked() {
        let c = ImapConfig::parse(
            "imaps://desk%40clinic.example.jp@mail.example.jp/INBOX",
            "pw",
        )
        .unwrap();
        assert!(c.tls);
        assert_eq!(c.user, "desk@clinic.example.jp");
        assert_eq!((c.host.as_str(), c.port), ("mail.example.jp", 993));
        assert_eq!(c.mailbox, "INBOX");
        assert!(!format!("{c:?}").contains("pw"));
        let c = ImapConfig::parse("imap://u@127.0.0.1:1143", "pw").unwrap();
        assert_eq!((c.tls, c.port, c.mailbox.as_str()), (false, 1143, "INBOX"));
        assert!(ImapConfig::parse("imap://u@[::1]:143/INBOX", "pw").is_ok());
        assert!(ImapConfig::parse("imap://u@localhost/INBOX", "pw").is_ok());
        let e = ImapConfig::parse("imap://u@mail.example.jp/INBOX", "pw").unwrap_err();
        assert!(e.contains("unencrypted") && e.contains("imaps://"), "{e}");
        let e = ImapConfig::parse("imaps://u:secret@h/INBOX", "pw").unwrap_err();
        assert!(
            e.contains("RENKEI_IMAP_PASSWORD") && !e.contains("secret"),
            "{e}"
        );
        assert!(ImapConfig::parse("https://u@h/", "pw").is_err());
        assert!(ImapConfig::parse("imaps://h/INBOX", "pw").is_err());
        assert!(ImapConfig::parse("imaps://u@h:99999/INBOX", "pw").is_err());
        let e = ImapConfig::parse("imaps://u@h/INBOX", "").unwrap_err();
        assert!(e.contains("RENKEI_IMAP_PASSWORD"), "{e}");
    }

    #[test]
    fn modified_utf7_names() {
        // RFC 3501's example and a Japanese folder (the Japanese one checked with Python).
        assert_eq!(
            encode_mailbox_name("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(encode_mailbox_name("A&B"), "A&-B");
        assert_eq!(encode_mailbox_name("取り込み済み"), "&U9Ywio+8MH9uCDB,-");
        assert_eq!(
            folder_name("Renkei/取り込み済み", Some(".")),
            "Renkei.&U9Ywio+8MH9uCDB,-"
        );
    }
}
