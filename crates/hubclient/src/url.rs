//! The hub's address as the desk may use it: `https://HOST[:PORT]`, or `http://` only when the
//! host is a loopback address (the hub on this very PC, tests). Parse, don't validate: a
//! [`HubUrl`] is always one of those.

use crate::{HubError, Result};
use std::net::IpAddr;

/// A checked hub base URL without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUrl {
    base: String,
    https: bool,
}

impl HubUrl {
    /// Checks what the user typed. Plain HTTP to anything but loopback is refused with a
    /// sentence saying what to do.
    pub fn parse(text: &str) -> Result<HubUrl> {
        let t = text.trim().trim_end_matches('/');
        let u = reqwest::Url::parse(t).map_err(|_| {
            HubError::BadUrl(format!(
                "「{t}」 is not a hub address: type it like https://hub.clinic.example:8787"
            ))
        })?;
        let host = u.host_str().unwrap_or_default().to_string();
        if host.is_empty() || u.path() != "/" && !u.path().is_empty() || u.query().is_some() {
            return Err(HubError::BadUrl(format!(
                "「{t}」 is not a hub address: give only the scheme, host and port, like https://hub.clinic.example:8787"
            )));
        }
        match u.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(HubError::BadUrl(format!(
                    "plain http:// is only allowed to this PC itself (127.0.0.1, localhost); {host} must be reached over https:// — ask the hub's administrator for its https address"
                )))
            }
            other => {
                return Err(HubError::BadUrl(format!(
                    "「{other}://」 is not supported: the hub's address starts with https://"
                )))
            }
        }
        Ok(HubUrl {
            base: u.as_str().trim_end_matches('/').to_string(),
            https: u.scheme() == "https",
        })
    }

    pub fn as_str(&self) -> &str {
        &self.base
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl std::fmt::Display for HubUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base)
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8787",
            "http://localhost:1/",
            "http://[::1]:80",
            "https://hub.example:8787",
            "https://192.168.1.10",
        ] {
            assert!(HubUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://192.168.1.10:8787",
            "http://hub.example",
            "http://127.0.0.1.evil.example",
            "ftp://hub.example",
            "hub.example",
            "https://hub.example/v1/desk",
            "",
        ] {
            assert!(HubUrl::parse(bad).is_err(), "{bad}");
        }
        let e = HubUrl::parse("http://192.168.1.10:8787").unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
        assert_eq!(
            HubUrl::parse("https://hub.example:8787/").unwrap().as_str(),
            "https://hub.example:8787"
        );
    }
}
