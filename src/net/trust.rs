//! What a TLS client trusts: the system's CAs and the certificates in `ca_file` — and, as curl
//! does, a certificate from that set that the server presents as it is (the self-signed
//! certificate `openssl req -x509` makes, `CA:TRUE` and all), still checked for its host name
//! and its dates.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};

use super::tls::{provider, signature12, signature13};

/// The system's trusted CAs, loaded once per run.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The certificates of a `ca_file`, read whole (capped, never blocking on a FIFO).
pub fn read_ca_file(f: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let shown = crate::sanitize::path(f);
    let text = crate::sys::readcap::read_capped(f, crate::sys::readcap::DEFAULT_CAP).map_err(|e| {
        if e.is_permission_denied() {
            anyhow::anyhow!(
                "cannot read {shown}: permission denied (run as root, or as the owner, to read it)"
            )
        } else {
            anyhow::anyhow!("cannot read {shown}: {e}")
        }
    })?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<_, _>>()
        .map_err(|_| {
            anyhow::anyhow!(
                "ca_file {shown} is not a readable PEM file (it should hold \"-----BEGIN CERTIFICATE-----\" blocks)"
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "ca_file {shown} holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" block)"
        );
    }
    Ok(certs)
}

/// The system's CAs plus those in `ca_file`.
pub fn root_store(ca_file: Option<&Path>) -> anyhow::Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(f) = ca_file {
        for c in read_ca_file(f)? {
            store.add(c).map_err(|e| {
                anyhow::anyhow!(
                    "ca_file {}: a certificate in it cannot be used: {}",
                    crate::sanitize::path(f),
                    super::tls_reason::describe(&e).text
                )
            })?;
        }
    }
    Ok(store)
}

/// Nothing is trusted: no system CAs and no `ca_file`.
#[derive(Debug)]
pub struct NoRoots;

impl std::fmt::Display for NoRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("this machine has no trusted CA certificates")
    }
}

impl std::error::Error for NoRoots {}

/// The usual web PKI verification, plus curl's rule for a trusted certificate served as is.
#[derive(Debug)]
pub struct Verifier {
    /// `None` when there is nothing to build chains to.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// Certificates trusted as they are: the system's and `ca_file`'s.
    exact: Vec<CertificateDer<'static>>,
}

impl Verifier {
    pub fn new(ca_file: Option<&Path>) -> anyhow::Result<Verifier> {
        let store = root_store(ca_file)?;
        let mut exact = system_roots().to_vec();
        if let Some(f) = ca_file {
            exact.extend(read_ca_file(f)?);
        }
        let webpki = if store.is_empty() {
            None
        } else {
            Some(WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider()).build()?)
        };
        Ok(Verifier { webpki, exact })
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.webpki {
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Err(CertificateError::Other(OtherError(Arc::new(NoRoots))).into()),
        };
        match verdict {
            Err(_) if self.exact.iter().any(|c| c.as_ref() == end_entity.as_ref()) => {
                verify_exact(end_entity, server_name, now)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
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
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A certificate trusted as it is still has to be current and name the host. (Its signature
/// on the handshake, checked apart, proves the server holds its key.)
fn verify_exact(
    cert: &CertificateDer<'_>,
    name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let (_, x) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|_| CertificateError::BadEncoding)?;
    let at = |secs: i64| UnixTime::since_unix_epoch(Duration::from_secs(secs.max(0) as u64));
    let t = now.as_secs() as i64;
    let (not_before, not_after) = (
        x.validity().not_before.timestamp(),
        x.validity().not_after.timestamp(),
    );
    if t < not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: at(not_before),
        }
        .into());
    }
    if t > not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after: at(not_after),
        }
        .into());
    }
    let parsed = rustls::server::ParsedCertificate::try_from(cert)?;
    rustls::client::verify_server_name(&parsed, name)
}
