//! The TCP side of the server: each accepted stream is wrapped in [`JsonBareErrors`] before
//! hyper sees it.
//!
//! hyper answers a request it cannot parse at all (a garbled request line, a header that is not
//! `name: value`, a header block or URI that is too long) by itself, before any of our code
//! runs: a bare `400`/`414`/`431` head with `content-length: 0`, then it closes the connection.
//! It has no hook for the body of that answer, so the wrapper recognises exactly that shape on
//! the way out and sends the same status as JSON `{code, message}` instead — the contract says
//! every error answer is JSON, including the ones the framework makes itself. Everything else
//! passes through untouched (every answer of the router has a JSON body, so it never has this
//! shape).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream whose bare error answers from the HTTP layer become JSON (see the module doc).
#[derive(Debug)]
pub(crate) struct JsonBareErrors<S> {
    inner: S,
    /// A rewritten answer and how much of it is written.
    pending: Vec<u8>,
    written: usize,
}

impl<S> JsonBareErrors<S> {
    pub(crate) fn new(inner: S) -> Self {
        JsonBareErrors {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> JsonBareErrors<S> {
    /// Writes what is left of a rewritten answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending = Vec::new();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonBareErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonBareErrors<S> {
    // Not vectored (the default): hyper then hands over each answer as one flat buffer, which
    // is what `rewrite_bare_error` looks at.
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if let Some(json) = rewrite_bare_error(buf) {
            this.pending = json;
            this.written = 0;
            // Whatever is not written now goes out on the next write, flush or shutdown.
            if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// The JSON answer for a bare `4xx` head with `content-length: 0` and no content type (what
/// hyper writes for a request it could not parse), or `None` for anything else.
pub(crate) fn rewrite_bare_error(buf: &[u8]) -> Option<Vec<u8>> {
    // "HTTP/1.1 400 Bad Request\r\n…\r\n\r\n" and nothing after the head.
    if buf.len() < 16 || !buf.starts_with(b"HTTP/1.") || buf.get(9) != Some(&b'4') {
        return None;
    }
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if head_end != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?.to_ascii_lowercase();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    let mut empty = false;
    for line in lines {
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n.trim(), v.trim()),
            None => continue,
        };
        match name {
            "content-type" | "transfer-encoding" => return None,
            "content-length" if value == "0" => empty = true,
            "content-length" => return None,
            _ => {}
        }
    }
    if !empty {
        return None;
    }
    let (code, message) = match status {
        414 => (
            "uri_too_long",
            "the request URI is too long; see docs/openapi.yaml for the API",
        ),
        431 => (
            "headers_too_large",
            "the request headers are too large; nothing was stored",
        ),
        _ => (
            "bad_request",
            "the request is not valid HTTP/1.1 (request line or headers could not be parsed); nothing was stored",
        ),
    };
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Bad Request");
    let body = serde_json::json!({"code": code, "message": message}).to_string();
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn bare_parse_errors_become_json() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 01:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite_bare_error(bare).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        assert!(out.contains("content-type: application/json\r\n"), "{out}");
        let (_, body) = out.split_once("\r\n\r\n").unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["code"], "bad_request");
        assert!(out.contains(&format!("content-length: {}\r\n", body.len())));
        let big = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        let out = String::from_utf8(rewrite_bare_error(big).unwrap()).unwrap();
        assert!(out.contains("headers_too_large"), "{out}");
    }

    #[test]
    fn everything_else_passes_through() {
        for ok in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nextra",
            b"{\"code\":\"HTTP/1.1 400\"}",
            b"",
        ] {
            assert!(rewrite_bare_error(ok).is_none(), "{ok:?}");
        }
    }

    fn head_like() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        (
            "HTTP/1\\.[01] [1-5][0-9]{2} [A-Za-z ]{0,20}",
            proptest::collection::vec(
                prop_oneof![
                    Just("content-length: 0".to_string()),
                    Just("Content-Length: 0".to_string()),
                    Just("content-length: 12".to_string()),
                    Just("content-type: application/json".to_string()),
                    Just("transfer-encoding: chunked".to_string()),
                    "[a-z-]{1,12}: [ -~]{0,20}",
                    ".{0,20}",
                ],
                0..5,
            ),
            proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
        )
            .prop_map(|(status, headers, tail)| {
                let mut v = status.into_bytes();
                for h in headers {
                    v.extend_from_slice(b"\r\n");
                    v.extend_from_slice(h.as_bytes());
                }
                v.extend_from_slice(b"\r\n\r\n");
                v.extend_from_slice(&tail);
                v
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Only a bare 4xx head is rewritten, always into a complete JSON answer with the same
        /// status; anything else passes through.
        #[test]
        fn only_bare_4xx_heads_are_rewritten(buf in proptest::prop_oneof![
            head_like(),
            proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ]) {
            let Some(out) = rewrite_bare_error(&buf) else { return Ok(()) };
            proptest::prop_assert_eq!(buf.get(9), Some(&b'4'));
            proptest::prop_assert_eq!(&out[9..12], &buf[9..12]);
            let out = String::from_utf8(out).unwrap();
            let (head, body) = out.split_once("\r\n\r\n").unwrap();
            proptest::prop_assert!(head.contains("content-type: application/json"));
            let len = format!("content-length: {}", body.len());
            proptest::prop_assert!(head.contains(&len));
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            proptest::prop_assert!(v["code"].is_string() && v["message"].is_string());
        }
    }

    #[tokio::test]
    async fn the_stream_writes_the_rewritten_answer() {
        let (a, mut b) = tokio::io::duplex(16);
        let mut w = JsonBareErrors::new(a);
        let writer = tokio::spawn(async move {
            w.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            w.shutdown().await.unwrap();
        });
        let mut out = String::new();
        b.read_to_string(&mut out).await.unwrap();
        writer.await.unwrap();
        assert!(out.starts_with("HTTP/1.1 400"), "{out}");
        assert!(out.ends_with('}'), "{out}");
    }
}
