//! HTTPS for `renkei serve` (`--tls-cert FILE --tls-key FILE`): rustls with the ring provider —
//! the same TLS stack the IMAP client uses (memory-safe, TLS 1.2 and 1.3 only, the same on
//! Windows and Linux). The hub carries patient data to the desks and to partners: it either
//! terminates TLS itself or sits behind a reverse proxy that does (docs/operations.md).
//!
//! Loading checks everything a clinic's administrator can get wrong before the server listens,
//! each with a message that says what to do: a missing or unreadable file, a file without a
//! PEM certificate or key, a key that does not belong to the certificate, a certificate that
//! has expired (or is not valid yet).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate chain and private key files (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server certificate first, then any intermediates (a "fullchain" file).
    pub cert: PathBuf,
    /// Its private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Both or neither: one flag without the other is a mistake, not plain HTTP.
    pub fn from_flags(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
    ) -> Result<Option<TlsFiles>, String> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(
                "--tls-cert was given without --tls-key: give both (the certificate and its private key) to serve HTTPS, or neither for plain HTTP behind a reverse proxy".into(),
            ),
            (None, Some(_)) => Err(
                "--tls-key was given without --tls-cert: give both (the certificate and its private key) to serve HTTPS, or neither for plain HTTP behind a reverse proxy".into(),
            ),
        }
    }
}

/// Reads and checks the files and builds the acceptor's configuration (HTTP/1.1 over ALPN).
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, String> {
    server_config_at(files, chrono::Utc::now())
}

/// [`server_config`] with the certificate's validity checked at `now`.
pub fn server_config_at(
    files: &TlsFiles,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let chain = read_chain(&files.cert)?;
    let key = read_key(&files.key)?;
    check_validity(&files.cert, &chain[0], now)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "the private key in {} does not belong to the certificate in {}: give the key \
                 that was made with this certificate",
                files.key.display(),
                files.cert.display()
            ),
            other => format!(
                "cannot use the certificate {} with the key {}: {other}",
                files.cert.display(),
                files.key.display()
            ),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The acceptor for `serve`.
pub fn acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, String> {
    Ok(tokio_rustls::TlsAcceptor::from(server_config(files)?))
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the TLS {what} {}: {e}; check the path given with --tls-{}",
            path.display(),
            if what == "certificate" { "cert" } else { "key" }
        )
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_file(path, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "{} is not a readable PEM certificate file: {e}",
                path.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "{} holds no certificate (expected a PEM file with \"-----BEGIN CERTIFICATE-----\"; \
             is it the key, or a DER file?)",
            path.display()
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read_file(path, "private key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        format!(
            "{} holds no usable private key ({e}); expected a PEM file with \"-----BEGIN PRIVATE \
             KEY-----\" (PKCS#8), RSA or EC, not encrypted",
            path.display()
        )
    })
}

/// Refuses a certificate outside its validity period: every desk would refuse it anyway, with
/// a less helpful message, and only when the clinic opens in the morning.
fn check_validity(
    path: &Path,
    cert: &CertificateDer<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let (not_before, not_after) = validity(cert.as_ref()).ok_or_else(|| {
        format!(
            "cannot read the validity dates of the certificate in {}",
            path.display()
        )
    })?;
    if now > not_after {
        return Err(format!(
            "the certificate in {} expired on {}; renew it (e.g. certbot renew) and restart",
            path.display(),
            not_after.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if now < not_before {
        return Err(format!(
            "the certificate in {} is not valid before {}; check the server's clock",
            path.display(),
            not_before.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    Ok(())
}

/// `notBefore` / `notAfter` of an X.509 certificate (DER).
fn validity(der: &[u8]) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    use x509_cert::der::Decode as _;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let v = &cert.tbs_certificate.validity;
    Some((
        v.not_before.to_system_time().into(),
        v.not_after.to_system_time().into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_flag_without_the_other_is_refused() {
        let e = TlsFiles::from_flags(Some("c.pem".into()), None).unwrap_err();
        assert!(e.contains("--tls-key"), "{e}");
        let e = TlsFiles::from_flags(None, Some("k.pem".into())).unwrap_err();
        assert!(e.contains("--tls-cert"), "{e}");
        assert_eq!(TlsFiles::from_flags(None, None).unwrap(), None);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(validity(b"").is_none());
        assert!(validity(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(validity(&[0x30, 0x03, 0x30, 0x01, 0x00]).is_none());
    }
}
