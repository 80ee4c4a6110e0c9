//! The hub's certificate: trust on first use, then pinned.
//!
//! On first connect [`probe`] reads the certificate the hub presents (a request to `/healthz`
//! carrying no secret) and returns its SHA-256 fingerprint for the user to compare with the one
//! `renkei serve` / the administrator shows. After the user confirmed it, every connection uses
//! [`client_config`] with that pin: the server's certificate is accepted when it chains to a
//! public root for the host name (Mozilla's roots — a renewed public certificate keeps working)
//! or when its fingerprint is exactly the pinned one; anything else is refused *before* a byte
//! of the request (device token, PIN, session) is sent. The handshake signature is always
//! checked, so the hub must hold the certificate's key.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// `AB:CD:…` (32 bytes, upper case, colons — as `openssl x509 -fingerprint -sha256` prints it).
pub fn fingerprint(der: &[u8]) -> String {
    let d = Sha256::digest(der);
    d.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Compares fingerprints ignoring case, colons and spaces.
pub fn same_fingerprint(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_hexdigit())
            .map(|c| c.to_ascii_uppercase())
            .collect::<String>()
    };
    let (a, b) = (norm(a), norm(b));
    a.len() == 64 && a == b
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// The fingerprint of the last certificate a connection saw (for messages).
pub type Seen = Arc<Mutex<Option<String>>>;

/// Which certificates a connection accepts.
#[derive(Debug, Clone, Copy)]
pub enum Trust<'a> {
    /// Any certificate, only recorded: [`crate::client::probe`], which sends no secret.
    RecordOnly,
    /// Public roots for the host name, or the certificate with this fingerprint.
    Pin(Option<&'a str>),
}

/// The verifier of a connected desk: public roots, else the pin.
#[derive(Debug)]
struct Pinned {
    public: Arc<WebPkiServerVerifier>,
    record_only: bool,
    pin: Option<String>,
    seen: Seen,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = fingerprint(end_entity.as_ref());
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(fp.clone());
        }
        if self.record_only {
            return Ok(ServerCertVerified::assertion());
        }
        if let Some(pin) = &self.pin {
            if same_fingerprint(&fp, pin) {
                return Ok(ServerCertVerified::assertion());
            }
        }
        self.public
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls configuration that accepts the hub's certificate as `trust` says. `seen` receives
/// the fingerprint of the certificate each handshake saw.
pub fn client_config(trust: Trust<'_>, seen: Seen) -> Result<rustls::ClientConfig, String> {
    let provider = provider();
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let public = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("cannot set up certificate checks: {e}"))?;
    let verifier = Pinned {
        public,
        record_only: matches!(trust, Trust::RecordOnly),
        pin: match trust {
            Trust::Pin(p) => p.map(str::to_string),
            Trust::RecordOnly => None,
        },
        seen,
        provider: provider.clone(),
    };
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(cfg)
}
