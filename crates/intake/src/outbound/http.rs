//! What a provider's HTTP answer means for an outbox entry: sent, try again (timeouts, 5xx,
//! 429 — honouring `Retry-After`, LINE WORKS `RateLimit-Reset`, Chatwork `x-ratelimit-reset`),
//! or refused for good (other 4xx) with the provider's own message.

use renkei_core::outbound::SendOutcome;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::Duration;

/// A provider's answer read whole: status, headers and body text (empty when unreadable).
pub async fn answer(resp: reqwest::Response) -> (u16, HeaderMap, String) {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap_or_default();
    (status, headers, body)
}

/// How long a 429 (or 503) asks us to wait: `Retry-After` (seconds), else a rate-limit reset
/// header — seconds from now when small, epoch seconds when it looks like a time.
pub fn asked_wait(h: &HeaderMap) -> Option<Duration> {
    let num = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    if let Some(s) = num("retry-after") {
        return Some(Duration::from_secs_f64(s.min(86_400.0)));
    }
    let reset = num("ratelimit-reset").or_else(|| num("x-ratelimit-reset"))?;
    if reset > 1_000_000_000.0 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        return Some(Duration::from_secs_f64((reset - now).clamp(0.0, 86_400.0)));
    }
    Some(Duration::from_secs_f64(reset.min(86_400.0)))
}

/// The provider's words from an error body: LINE WORKS `{"code","description"}`, Chatwork
/// `{"errors":[…]}`, or the start of the text. Cut to one short line.
pub fn provider_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        if let Some(list) = v.get("errors").and_then(Value::as_array) {
            let words: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
            if !words.is_empty() {
                return Some(words.join("; "));
            }
        }
        let code = v.get("code").and_then(Value::as_str);
        let desc = v
            .get("description")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error_description"))
            .and_then(Value::as_str);
        match (code, desc) {
            (Some(c), Some(d)) => Some(format!("{c}: {d}")),
            (Some(c), None) => Some(c.to_string()),
            (None, Some(d)) => Some(d.to_string()),
            (None, None) => v.get("error").and_then(Value::as_str).map(str::to_string),
        }
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if line.trim().is_empty() {
        "(no message)".into()
    } else {
        line
    }
}

/// A non-2xx answer of `provider` for a reply.
pub fn refused(provider: &str, status: u16, headers: &HeaderMap, body: &str) -> SendOutcome {
    let words = provider_message(body);
    match status {
        429 => SendOutcome::Retry {
            error: format!("{provider} answered 429 (rate limited): {words}"),
            after: asked_wait(headers).unwrap_or(Duration::from_secs(60)),
            unknown: false,
        },
        408 | 500..=599 => SendOutcome::Retry {
            error: format!("{provider} answered {status}: {words}"),
            after: asked_wait(headers).unwrap_or(Duration::ZERO),
            unknown: false,
        },
        _ => SendOutcome::Failed {
            error: format!("{provider} refused the reply ({status}): {words}"),
        },
    }
}

/// A request that got no answer. A timeout or a broken connection after the request went out
/// may have reached the provider (`unknown`); a refused connection did not.
pub fn no_answer(provider: &str, e: &reqwest::Error) -> SendOutcome {
    let unknown = !e.is_connect() && !e.is_builder();
    let what = if e.is_timeout() {
        "no answer in time (timeout)".to_string()
    } else {
        e.without_url_string()
    };
    SendOutcome::Retry {
        error: format!("cannot reach {provider}: {what}"),
        after: Duration::ZERO,
        unknown,
    }
}

trait WithoutUrl {
    fn without_url_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    /// The error without the URL (it may carry ids, never a secret, but keep logs short).
    fn without_url_string(&self) -> String {
        let mut s = self.to_string();
        if let Some(u) = self.url() {
            s = s.replace(u.as_str(), "");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_words_are_kept() {
        assert_eq!(
            provider_message(r#"{"errors":["Invalid Endpoint or HTTP method"]}"#),
            "Invalid Endpoint or HTTP method"
        );
        assert_eq!(
            provider_message(
                r#"{"code":"INVALID_PARAMETER","description":"channelId is invalid"}"#
            ),
            "INVALID_PARAMETER: channelId is invalid"
        );
        assert_eq!(provider_message(""), "(no message)");
    }

    #[test]
    fn reset_headers_are_honoured() {
        let mut h = HeaderMap::new();
        h.insert("ratelimit-reset", "7".parse().unwrap());
        assert_eq!(asked_wait(&h), Some(Duration::from_secs(7)));
        let mut h = HeaderMap::new();
        let soon = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 30;
        h.insert("x-ratelimit-reset", soon.to_string().parse().unwrap());
        let w = asked_wait(&h).unwrap();
        assert!(
            w > Duration::from_secs(28) && w <= Duration::from_secs(30),
            "{w:?}"
        );
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(asked_wait(&h), Some(Duration::from_secs(3)));
    }

    #[test]
    fn classes_of_answers() {
        let h = HeaderMap::new();
        assert!(matches!(
            refused("Chatwork", 503, &h, ""),
            SendOutcome::Retry { .. }
        ));
        assert!(matches!(
            refused("Chatwork", 429, &h, ""),
            SendOutcome::Retry { .. }
        ));
        match refused("Chatwork", 400, &h, r#"{"errors":["Invalid room_id"]}"#) {
            SendOutcome::Failed { error } => assert!(error.contains("Invalid room_id"), "{error}"),
            other => panic!("{other:?}"),
        }
    }
}
