//! One IMAP connection: TCP (+ rustls for `imaps://`), the greeting, `LOGIN`, the server's
//! capabilities, and the folder helpers the poller needs (find the hierarchy separator, create
//! a folder if missing, move one message). Errors are [`ImapError`]s whose text never carries
//! message content (a parse error does not echo the bytes it choked on).

use crate::imap_account::{folder_name, ImapConfig};
use futures_util::TryStreamExt as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

/// Plain TCP (loopback only) or TLS.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type Session = async_imap::Session<ImapStream>;

/// Why talking to the mail server failed. Texts are status lines: no message content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImapError {
    #[error("cannot reach the mail server {0}")]
    Connect(String),
    #[error("TLS with the mail server failed ({0}); check the host name, or set RENKEI_IMAP_CA_FILE for a private CA")]
    Tls(String),
    #[error("the mail server refused the login ({0}); check the user in RENKEI_IMAP_URL and RENKEI_IMAP_PASSWORD (an app password where the provider requires one)")]
    Login(String),
    #[error("the mail server refused {what}: {why}")]
    Refused { what: String, why: String },
    #[error("the connection to the mail server broke ({0})")]
    Io(String),
    #[error("the mail server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the mail server sent an answer that cannot be read")]
    Protocol,
    #[error("store: {0}")]
    Store(String),
}

impl ImapError {
    /// Maps an async-imap error for `what` (a command) without echoing raw server bytes.
    pub fn from_imap(what: &str, e: async_imap::error::Error) -> ImapError {
        use async_imap::error::Error as E;
        match e {
            E::Io(io) => ImapError::Io(io.kind().to_string()),
            E::ConnectionLost => ImapError::Io("connection lost".into()),
            E::No(why) | E::Bad(why) => ImapError::Refused {
                what: what.into(),
                why: why.chars().take(200).collect(),
            },
            E::Parse(_) => ImapError::Protocol,
            E::Validate(_) => ImapError::Refused {
                what: what.into(),
                why: "a name with a line break".into(),
            },
            E::Append => ImapError::Refused {
                what: what.into(),
                why: "append failed".into(),
            },
            _ => ImapError::Protocol,
        }
    }
}

/// Runs `fut` with the command timeout.
pub async fn timed<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = Result<T, async_imap::error::Error>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(|e| ImapError::from_imap(what, e)),
        Err(_) => Err(ImapError::Timeout(limit)),
    }
}

fn tls_connector(cfg: &ImapConfig) -> Result<tokio_rustls::TlsConnector, ImapError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &cfg.ca_file {
        let certs = CertificateDer::pem_file_iter(ca)
            .map_err(|e| ImapError::Tls(format!("cannot read {}: {e}", ca.display())))?;
        for c in certs {
            let c = c.map_err(|e| ImapError::Tls(format!("{}: {e}", ca.display())))?;
            roots
                .add(c)
                .map_err(|e| ImapError::Tls(format!("{}: {e}", ca.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// What a logged-in connection offers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caps {
    pub idle: bool,
    pub moves: bool,
    pub uidplus: bool,
}

/// Connects, reads the greeting, logs in; returns the session and its capabilities.
pub async fn connect(cfg: &ImapConfig) -> Result<(Session, Caps), ImapError> {
    let limit = cfg.command_timeout;
    let addr = format!("{}:{}", cfg.host, cfg.port);
    let tcp = tokio::time::timeout(limit, TcpStream::connect(&addr))
        .await
        .map_err(|_| ImapError::Timeout(limit))?
        .map_err(|e| ImapError::Connect(format!("{}:{} ({e})", cfg.host, cfg.port)))?;
    let _ = tcp.set_nodelay(true);
    let stream = if cfg.tls {
        let name = rustls::pki_types::ServerName::try_from(cfg.host.clone())
            .map_err(|e| ImapError::Tls(format!("'{}': {e}", cfg.host)))?;
        let tls = tokio::time::timeout(limit, tls_connector(cfg)?.connect(name, tcp))
            .await
            .map_err(|_| ImapError::Timeout(limit))?
            .map_err(|e| ImapError::Tls(e.to_string()))?;
        ImapStream::Tls(Box::new(tls))
    } else {
        ImapStream::Plain(tcp)
    };
    let mut client = async_imap::Client::new(stream);
    let greeting = tokio::time::timeout(limit, client.read_response())
        .await
        .map_err(|_| ImapError::Timeout(limit))?
        .map_err(|e| ImapError::Io(e.kind().to_string()))?;
    if greeting.is_none() {
        return Err(ImapError::Io("closed before the greeting".into()));
    }
    let mut session =
        match tokio::time::timeout(limit, client.login(&cfg.user, &cfg.password)).await {
            Err(_) => return Err(ImapError::Timeout(limit)),
            Ok(Err((e, _))) => {
                return Err(match ImapError::from_imap("LOGIN", e) {
                    ImapError::Refused { why, .. } => ImapError::Login(why),
                    other => other,
                })
            }
            Ok(Ok(s)) => s,
        };
    let caps = timed(limit, "CAPABILITY", session.capabilities()).await?;
    let caps = Caps {
        idle: caps.has_str("IDLE"),
        moves: caps.has_str("MOVE"),
        uidplus: caps.has_str("UIDPLUS"),
    };
    Ok((session, caps))
}

/// The server's hierarchy separator: `LIST "" ""` (RFC 3501), else that of the top-level
/// folders (`LIST "" "%"`); `None` = a flat server.
pub async fn delimiter(
    session: &mut Session,
    limit: Duration,
) -> Result<Option<String>, ImapError> {
    for pattern in ["", "%"] {
        let names: Vec<_> = timed(limit, "LIST", async {
            session
                .list(Some(""), Some(pattern))
                .await?
                .try_collect()
                .await
        })
        .await?;
        if let Some(d) = names.iter().find_map(|n| n.delimiter()) {
            return Ok(Some(d.to_string()));
        }
    }
    Ok(None)
}

async fn folder_exists(
    session: &mut Session,
    name: &str,
    limit: Duration,
) -> Result<bool, ImapError> {
    let found: Vec<_> = timed(limit, "LIST", async {
        session
            .list(Some(""), Some(name))
            .await?
            .try_collect()
            .await
    })
    .await?;
    Ok(!found.is_empty())
}

/// The encoded name of a `/`-separated folder, created when missing.
pub async fn ensure_folder(
    session: &mut Session,
    path: &str,
    delim: Option<&str>,
    limit: Duration,
) -> Result<String, ImapError> {
    let name = folder_name(path, delim);
    if folder_exists(session, &name, limit).await? {
        return Ok(name);
    }
    let created = timed(limit, "CREATE", session.create(&name)).await;
    // Another client may have created it meanwhile: only a folder still missing is an error.
    if let Err(e) = created {
        if !folder_exists(session, &name, limit).await? {
            return Err(e);
        }
    }
    let _ = timed(limit, "SUBSCRIBE", session.subscribe(&name)).await;
    tracing::info!("imap: created the folder {path}");
    Ok(name)
}

/// Moves the messages `uids` (a UID set) to `folder`: `UID MOVE`, else copy + `\Deleted` +
/// expunge (`UID EXPUNGE` where the server has UIDPLUS).
pub async fn move_uids(
    session: &mut Session,
    caps: Caps,
    uids: &str,
    folder: &str,
    limit: Duration,
) -> Result<(), ImapError> {
    if caps.moves {
        return timed(limit, "UID MOVE", session.uid_mv(uids, folder)).await;
    }
    timed(limit, "UID COPY", session.uid_copy(uids, folder)).await?;
    timed(limit, "UID STORE", async {
        session
            .uid_store(uids, "+FLAGS.SILENT (\\Deleted)")
            .await?
            .try_for_each(|_| async { Ok(()) })
            .await
    })
    .await?;
    if caps.uidplus {
        timed(limit, "UID EXPUNGE", async {
            session
                .uid_expunge(uids)
                .await?
                .try_for_each(|_| async { Ok(()) })
                .await
        })
        .await
    } else {
        timed(limit, "EXPUNGE", async {
            session
                .expunge()
                .await?
                .try_for_each(|_| async { Ok(()) })
                .await
        })
        .await
    }
}
