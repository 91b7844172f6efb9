//! TLS with rustls (ring): client configurations for `http` and `tcp`, a handshake that
//! records the verifier's verdict instead of aborting (so an expired or untrusted
//! certificate can still be described), and certificate expiry.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::tls_reason::{Problem, describe};
use super::trust::Verifier;

pub fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// A TLS 1.2 handshake signature, checked with our provider's algorithms (both verifiers
/// judge certificates their own way, but signatures the one standard way).
pub(super) fn signature12(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(
        message,
        cert,
        dss,
        &provider().signature_verification_algorithms,
    )
}

/// A TLS 1.3 handshake signature (see [`signature12`]).
pub(super) fn signature13(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(
        message,
        cert,
        dss,
        &provider().signature_verification_algorithms,
    )
}

/// A configuration for reqwest: verifying (see [`Verifier`]), or accepting anything.
pub fn client_config(ca_file: Option<&Path>, insecure: bool) -> anyhow::Result<ClientConfig> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Recording::new(None)))
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier::new(ca_file)?))
            .with_no_client_auth()
    };
    Ok(config)
}

/// A verifier that asks the real one, remembers its answer, and lets the handshake finish.
#[derive(Debug)]
struct Recording {
    inner: Option<Verifier>,
    verdict: Mutex<Option<rustls::Error>>,
    schemes: Vec<SignatureScheme>,
}

impl Recording {
    fn new(inner: Option<Verifier>) -> Recording {
        Recording {
            inner,
            verdict: Mutex::new(None),
            schemes: provider()
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(inner) = &self.inner
            && let Err(e) =
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            *self.verdict.lock().expect("verdict lock") = Some(e);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        signature12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        signature13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// What a server's certificate says.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerCert {
    /// Seconds since the epoch.
    pub not_after: i64,
    pub subject: String,
    pub issuer: String,
}

impl PeerCert {
    pub fn parse(der: &[u8]) -> Option<PeerCert> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        Some(PeerCert {
            not_after: cert.validity().not_after.timestamp(),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
        })
    }

    pub fn days_left(&self) -> f64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        (self.not_after - now) as f64 / 86400.0
    }

    pub fn expiry_text(&self) -> String {
        let when = UNIX_EPOCH + Duration::from_secs(self.not_after.max(0) as u64);
        let date = humantime::format_rfc3339_seconds(when).to_string();
        let date = &date[..10];
        let days = self.days_left();
        if days < 0.0 {
            format!("expired {:.0} day(s) ago, on {date}", (-days).floor())
        } else {
            format!("expires in {:.0} day(s), on {date}", days.floor())
        }
    }
}

/// What a handshake learned.
pub struct Probe {
    pub cert: Option<PeerCert>,
    /// Why the certificate is not trusted, if it is not.
    pub problem: Option<Problem>,
}

/// Complete a TLS handshake on `stream`, whatever the certificate, and say whether it would
/// have been trusted (`verify` false: do not judge it).
pub fn probe(
    mut stream: TcpStream,
    host: &str,
    ca_file: Option<&Path>,
    verify: bool,
    timeout: Duration,
) -> anyhow::Result<Probe> {
    let recording = Arc::new(Recording::new(if verify {
        Some(Verifier::new(ca_file)?)
    } else {
        None
    }));
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS could not start: {}", describe(&e).text))?
        .dangerous()
        .with_custom_certificate_verifier(recording.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| anyhow::anyhow!("{host:?} is not a valid TLS server name"))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| anyhow::anyhow!("TLS could not start: {}", describe(&e).text))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let verdict = || recording.verdict.lock().expect("verdict lock").take();
    while conn.is_handshaking() {
        match conn.complete_io(&mut stream) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                anyhow::bail!("timed out during the TLS handshake")
            }
            // A refusal in TLS terms (an alert, not TLS at all) is an answer about the server.
            Err(e) => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(r) => {
                    let problem = verdict().unwrap_or_else(|| r.clone());
                    return Ok(Probe {
                        cert: None,
                        problem: Some(describe(&problem)),
                    });
                }
                None => anyhow::bail!("TLS handshake failed: {}", crate::sys::io_reason(&e)),
            },
        }
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut stream);
    let _ = stream.flush();
    let _ = stream.read(&mut [0u8; 0]);
    let cert = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| PeerCert::parse(c));
    let problem = verdict().map(|e| describe(&e));
    Ok(Probe { cert, problem })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_is_clear() {
        let e = Verifier::new(Some(Path::new("/no/ca.pem"))).unwrap_err();
        assert!(format!("{e:#}").contains("cannot read /no/ca.pem: No such file or directory"));
    }
}
