//! One sentence, and the remedy that fits, for every way rustls (and the webpki verifier
//! under it) refuses a handshake or a certificate. The libraries' own texts are `Debug`
//! names (`Other(OtherError(CaUsedAsEndEntity))`); none of them reaches a user.

use rustls::{AlertDescription, CertificateError, Error, PeerIncompatible};

/// Why a TLS connection was refused, in words, with what kind of fix it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub text: String,
    pub remedy: Remedy,
}

/// The kind of fix a TLS problem needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    Renew,
    Clock,
    Name,
    /// The issuer is unknown: `ca_file`, or the server's chain.
    Trust,
    /// There is nothing to trust at all: no system CAs and no `ca_file`.
    NoRoots,
    /// A CA certificate served as the server's own (`openssl req -x509`).
    Pin,
    Revoked,
    Reissue,
    Protocol,
    PlainText,
    ClientCert,
    Server,
    Local,
}

impl Remedy {
    /// What to do; `ca_file` says whether the check already names one.
    pub fn advice(self, ca_file: bool) -> &'static str {
        match self {
            Remedy::Renew => "renew the certificate (e.g. `certbot renew`) and reload the server",
            Remedy::Clock => {
                "check this machine's clock (`timedatectl`) and the certificate's start date"
            }
            Remedy::Name => {
                "use a host name the certificate lists, or reissue the certificate with this name in its subjectAltName"
            }
            Remedy::Trust if ca_file => {
                "`ca_file` holds neither this certificate nor the CA that signed it: put the server's own certificate, or its CA, in `ca_file`"
            }
            Remedy::Trust => {
                "for a self-signed certificate or a private CA, give that certificate (or the CA) in `ca_file`; for a public CA, make the server send the full chain (fullchain.pem)"
            }
            Remedy::NoRoots => {
                "install the system's CA certificates (`apt install ca-certificates`), or give the CA in `ca_file`"
            }
            Remedy::Pin => {
                "to trust this self-signed certificate, put exactly the certificate the server presents in `ca_file`; or serve a server certificate signed by that CA"
            }
            Remedy::Revoked => "replace the certificate: its CA has revoked it",
            Remedy::Reissue => {
                "reissue the certificate with a current tool (certbot, or `openssl req -x509` with a subjectAltName)"
            }
            Remedy::Protocol => {
                "enable TLS 1.2 or 1.3 with current ciphers on the server (nginx `ssl_protocols`, Apache `SSLProtocol`)"
            }
            Remedy::PlainText => {
                "this port does not speak TLS: use http://, or the port where TLS listens (443)"
            }
            Remedy::ClientCert => {
                "the server wants a client certificate, which this check cannot send: check a URL that does not need one"
            }
            Remedy::Server => "look at the server's TLS configuration and its error log",
            Remedy::Local => "this machine could not do TLS: check its clock and `/dev/urandom`",
        }
    }
}

fn p(text: impl Into<String>, remedy: Remedy) -> Problem {
    Problem {
        text: text.into(),
        remedy,
    }
}

/// The sentence for a handshake or certificate refusal.
pub fn describe(e: &Error) -> Problem {
    match e {
        Error::InvalidCertificate(c) => certificate(c),
        Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. }
        | Error::InvalidMessage(_) => p(
            "the server did not speak TLS (is this a plain-text port?)",
            Remedy::PlainText,
        ),
        Error::PeerIncompatible(why) => incompatible(why),
        Error::AlertReceived(a) => alert(*a),
        Error::InvalidEncryptedClientHello(_) => p(
            "the server refused encrypted client hello",
            Remedy::Protocol,
        ),
        Error::NoApplicationProtocol => p(
            "the server accepts none of the application protocols offered (ALPN)",
            Remedy::Protocol,
        ),
        Error::NoCertificatesPresented => p("the server sent no certificate", Remedy::Server),
        Error::UnsupportedNameType => p(
            "this kind of server name cannot be used for TLS",
            Remedy::Name,
        ),
        Error::DecryptError => p(
            "a TLS message from the server could not be decrypted (a broken server, or something tampering with the connection)",
            Remedy::Server,
        ),
        Error::PeerMisbehaved(_) | Error::PeerSentOversizedRecord => {
            p("the server broke the TLS protocol", Remedy::Server)
        }
        Error::HandshakeNotComplete => p(
            "the connection ended before the TLS handshake finished",
            Remedy::Server,
        ),
        Error::InvalidCertRevocationList(_) => {
            p("a certificate revocation list is invalid", Remedy::Server)
        }
        Error::FailedToGetCurrentTime => p("this machine's clock could not be read", Remedy::Local),
        Error::FailedToGetRandomBytes => {
            p("the system gave no random numbers for TLS", Remedy::Local)
        }
        Error::EncryptError | Error::BadMaxFragmentSize | Error::InconsistentKeys(_) => {
            p("the TLS client on this machine failed", Remedy::Local)
        }
        Error::Other(o) => other(o),
        Error::General(why) if !super::errors::looks_like_debug(why) => {
            p(format!("TLS failed: {why}"), Remedy::Server)
        }
        _ => p("the TLS handshake failed", Remedy::Server),
    }
}

fn certificate(c: &CertificateError) -> Problem {
    use CertificateError as C;
    #[allow(deprecated)]
    match c {
        C::Expired | C::ExpiredContext { .. } => p("the certificate has expired", Remedy::Renew),
        C::NotValidYet | C::NotValidYetContext { .. } => p(
            "the certificate is not valid yet (is the clock right?)",
            Remedy::Clock,
        ),
        C::NotValidForName => p(
            "the certificate is not valid for this host name",
            Remedy::Name,
        ),
        C::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names: Vec<&str> = presented.iter().filter_map(|n| presented_name(n)).collect();
            let expected = expected.to_str();
            let text = if names.is_empty() {
                format!(
                    "the certificate lists no host name (no subjectAltName) that could be {expected}"
                )
            } else {
                format!(
                    "the certificate is for {}, not for {expected}",
                    names.join(", ")
                )
            };
            p(text, Remedy::Name)
        }
        C::UnknownIssuer => p(
            "the certificate's issuer is not trusted (a self-signed certificate, a private CA, or a missing intermediate certificate)",
            Remedy::Trust,
        ),
        C::Revoked => p("the certificate has been revoked", Remedy::Revoked),
        C::UnknownRevocationStatus => p(
            "the certificate's revocation status could not be determined",
            Remedy::Server,
        ),
        C::ExpiredRevocationList | C::ExpiredRevocationListContext { .. } => p(
            "the certificate revocation list has expired",
            Remedy::Server,
        ),
        C::BadEncoding => p("the certificate is malformed", Remedy::Reissue),
        C::UnhandledCriticalExtension => p(
            "the certificate has a critical extension this client does not understand",
            Remedy::Reissue,
        ),
        C::BadSignature => p(
            "the certificate's signature does not match its issuer (a damaged certificate, or the wrong CA)",
            Remedy::Trust,
        ),
        C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => p(
            "the certificate is signed with an algorithm this client does not accept (such as SHA-1 or DSA)",
            Remedy::Reissue,
        ),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => p(
            "the certificate is not meant for a TLS server (its extended key usage lacks serverAuth)",
            Remedy::Reissue,
        ),
        C::InvalidOcspResponse => p(
            "the server's stapled OCSP response is invalid",
            Remedy::Server,
        ),
        C::ApplicationVerificationFailure => p("the certificate was refused", Remedy::Server),
        C::Other(o) => other(o),
        _ => p("the certificate was refused", Remedy::Reissue),
    }
}

/// A name the certificate presents, as webpki writes it (`DnsName("example.com")`,
/// `IpAddress(127.0.0.1)`); names of other kinds (directory names, URIs) say nothing about hosts.
fn presented_name(n: &str) -> Option<&str> {
    if let Some(dns) = n.strip_prefix("DnsName(\"") {
        return dns.strip_suffix("\")");
    }
    if let Some(ip) = n.strip_prefix("IpAddress(") {
        return ip.strip_suffix(')');
    }
    (!n.contains('(') && !super::errors::looks_like_debug(n)).then_some(n)
}

/// rustls passes the verifier's rarer reasons on as `Other`.
fn other(o: &rustls::OtherError) -> Problem {
    if let Some(w) = o.0.downcast_ref::<webpki::Error>() {
        return webpki_reason(w);
    }
    if o.0.is::<super::trust::NoRoots>() {
        return p(
            "the certificate cannot be verified: this machine has no trusted CA certificates",
            Remedy::NoRoots,
        );
    }
    p("the certificate was refused", Remedy::Reissue)
}

fn webpki_reason(w: &webpki::Error) -> Problem {
    use webpki::Error as W;
    match w {
        W::CaUsedAsEndEntity => p(
            "the server presents a CA certificate (CA:TRUE, as `openssl req -x509` makes) as its own, and that certificate is not trusted as it is",
            Remedy::Pin,
        ),
        W::EndEntityUsedAsCa => p(
            "the chain is wrong: a certificate that is not a CA signed another",
            Remedy::Reissue,
        ),
        W::CertDistrusted => p("the certificate's key is distrusted", Remedy::Reissue),
        W::NameConstraintViolation => p(
            "the certificate names a host its CA may not sign for (name constraints)",
            Remedy::Reissue,
        ),
        W::PathLenConstraintViolated => p(
            "the chain is longer than one of its CAs allows",
            Remedy::Reissue,
        ),
        W::MaximumPathBuildCallsExceeded
        | W::MaximumPathDepthExceeded
        | W::MaximumSignatureChecksExceeded
        | W::MaximumNameConstraintComparisonsExceeded => p(
            "the certificate chain is too long or too tangled to verify",
            Remedy::Server,
        ),
        W::UnsupportedCertVersion => p(
            "the certificate is not an X.509 version 3 certificate",
            Remedy::Reissue,
        ),
        W::UnsupportedCriticalExtension => p(
            "the certificate has a critical extension this client does not understand",
            Remedy::Reissue,
        ),
        W::MalformedDnsIdentifier => p(
            "the certificate holds a malformed host name",
            Remedy::Reissue,
        ),
        W::UnsupportedNameType => p(
            "this kind of server name cannot be used for TLS",
            Remedy::Name,
        ),
        _ => p(
            "the certificate is malformed or unusual, and was refused",
            Remedy::Reissue,
        ),
    }
}

fn incompatible(why: &PeerIncompatible) -> Problem {
    use PeerIncompatible as I;
    let text = match why {
        I::ServerDoesNotSupportTls12Or13 | I::ServerTlsVersionIsDisabledByOurConfig => {
            "the server offers only TLS versions older than 1.2"
        }
        I::NoCipherSuitesInCommon => "the server and this client have no cipher in common",
        I::NoKxGroupsInCommon => "the server and this client have no key exchange in common",
        I::NoSignatureSchemesInCommon => {
            "the server and this client have no signature algorithm in common"
        }
        _ => "the server's TLS settings are incompatible with this client's",
    };
    p(text, Remedy::Protocol)
}

fn alert(a: AlertDescription) -> Problem {
    use AlertDescription as A;
    match a {
        A::HandshakeFailure | A::InsufficientSecurity => p(
            "the server refused the handshake (no TLS version or cipher in common?)",
            Remedy::Protocol,
        ),
        A::ProtocolVersion => p(
            "the server does not accept TLS 1.2 or 1.3",
            Remedy::Protocol,
        ),
        A::UnrecognisedName => p(
            "the server has no certificate for this host name (SNI)",
            Remedy::Name,
        ),
        A::CertificateRequired
        | A::NoCertificate
        | A::BadCertificate
        | A::UnsupportedCertificate
        | A::CertificateUnknown
        | A::UnknownCA
        | A::AccessDenied => p(
            "the server refused the connection: it wants a client certificate",
            Remedy::ClientCert,
        ),
        A::InternalError => p(
            "the server had an internal error during the TLS handshake",
            Remedy::Server,
        ),
        other => p(
            format!(
                "the server ended the TLS handshake (alert number {})",
                other.to_array()[0]
            ),
            Remedy::Server,
        ),
    }
}

#[cfg(test)]
#[path = "tls_reason_tests.rs"]
mod tests;
