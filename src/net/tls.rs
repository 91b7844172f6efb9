//! TLS with rustls (ring): client configurations for `http` and `tcp`, a handshake that
//! records the verifier's verdict instead of aborting (so an expired or untrusted
//! certificate can still be described), and certificate expiry.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::check::{Metric, Status};

pub fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system's trusted CAs, loaded once per run.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The system's CAs plus those in `ca_file`.
pub fn root_store(ca_file: Option<&Path>) -> anyhow::Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(f) = ca_file {
        let shown = crate::sanitize::path(f);
        let text = std::fs::read(f).map_err(|e| crate::sys::denied_or(f, &e))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&text)
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("ca_file {shown}: not a PEM certificate file ({e:?})"))?;
        if certs.is_empty() {
            anyhow::bail!("ca_file {shown} holds no PEM certificate");
        }
        for c in certs {
            store
                .add(c)
                .with_context(|| format!("ca_file {shown}: a certificate is not usable as a CA"))?;
        }
    }
    Ok(store)
}

/// A configuration for reqwest: verifying against the roots, or accepting anything.
pub fn client_config(ca_file: Option<&Path>, insecure: bool) -> anyhow::Result<ClientConfig> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Recording::new(None)?))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(root_store(ca_file)?)
            .with_no_client_auth()
    };
    Ok(config)
}

/// A verifier that asks the real one, remembers its answer, and lets the handshake finish.
#[derive(Debug)]
struct Recording {
    inner: Option<Arc<WebPkiServerVerifier>>,
    verdict: Mutex<Option<rustls::Error>>,
    schemes: Vec<SignatureScheme>,
}

impl Recording {
    fn new(roots: Option<RootCertStore>) -> anyhow::Result<Recording> {
        let inner = match roots {
            Some(r) => {
                Some(WebPkiServerVerifier::builder_with_provider(Arc::new(r), provider()).build()?)
            }
            None => None,
        };
        Ok(Recording {
            inner,
            verdict: Mutex::new(None),
            schemes: provider()
                .signature_verification_algorithms
                .supported_schemes(),
        })
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
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

/// Judge days left against the thresholds; returns the status and a metric.
pub fn judge_expiry(cert: &PeerCert, warn_days: f64, fail_days: f64) -> (Status, Metric) {
    let days = cert.days_left();
    let status = if days < fail_days {
        Status::Fail
    } else if days < warn_days {
        Status::Warn
    } else {
        Status::Pass
    };
    let metric = Metric::new("cert_days_left", (days * 10.0).floor() / 10.0, "d")
        .thresholds(Some(warn_days), Some(fail_days));
    (status, metric)
}

/// What a handshake learned.
pub struct Probe {
    pub cert: Option<PeerCert>,
    /// Why the certificate is not trusted, if it is not.
    pub problem: Option<String>,
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
        Some(root_store(ca_file)?)
    } else {
        None
    })?);
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(recording.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| anyhow::anyhow!("{host:?} is not a valid TLS server name"))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
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
            Err(e) => anyhow::bail!("TLS handshake failed: {}", tls_io_reason(&e)),
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
    let problem = recording
        .verdict
        .lock()
        .expect("verdict lock")
        .take()
        .map(|e| describe(&e));
    Ok(Probe { cert, problem })
}

fn tls_io_reason(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(r) => describe(r),
        None => crate::sys::io_reason(e),
    }
}

/// One sentence for why a certificate or handshake was refused.
pub fn describe(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "the certificate has expired".into(),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the certificate is not valid yet (is the clock right?)".into()
            }
            CertificateError::NotValidForName => "the certificate is not valid for this host name".into(),
            CertificateError::NotValidForNameContext { expected, presented } => format!(
                "the certificate is for {}, not {expected:?}",
                if presented.is_empty() { "no names".to_string() } else { presented.join(", ") }
            ),
            CertificateError::UnknownIssuer => {
                "the certificate's issuer is not trusted (self-signed or a private CA: give it with `ca_file`)".into()
            }
            CertificateError::Revoked => "the certificate has been revoked".into(),
            other => format!("invalid certificate: {other:?}"),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not speak TLS (is this a plain-text port?)".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_well() {
        let e = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(describe(&e).contains("ca_file"));
        let e = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert_eq!(describe(&e), "the certificate has expired");
    }

    #[test]
    fn missing_ca_file_is_clear() {
        let e = root_store(Some(Path::new("/no/ca.pem"))).unwrap_err();
        assert!(format!("{e:#}").contains("cannot read /no/ca.pem: No such file or directory"));
    }
}
