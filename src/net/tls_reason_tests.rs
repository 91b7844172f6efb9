//! Every rustls and webpki refusal we can build reads as words, with a fitting remedy.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{ServerName, UnixTime};
use rustls::{
    AlertDescription, CertRevocationListError, CertificateError, ContentType,
    EncryptedClientHelloError, Error, ExtendedKeyPurpose, HandshakeType, InconsistentKeys,
    InvalidMessage, OtherError, PeerIncompatible, PeerMisbehaved,
};

use super::*;
use crate::net::errors::looks_like_debug;

fn other(e: impl std::error::Error + Send + Sync + 'static) -> OtherError {
    OtherError(Arc::new(e))
}

#[allow(deprecated)]
fn webpki_errors() -> Vec<webpki::Error> {
    use webpki::Error as W;
    vec![
        W::BadDer,
        W::BadDerTime,
        W::CaUsedAsEndEntity,
        W::CertDistrusted,
        W::CertRevoked,
        W::EmptyEkuExtension,
        W::EndEntityUsedAsCa,
        W::ExtensionValueInvalid,
        W::InvalidCertValidity,
        W::InvalidCrlNumber,
        W::InvalidNetworkMaskConstraint,
        W::InvalidSerialNumber,
        W::InvalidCrlSignatureForPublicKey,
        W::InvalidSignatureForPublicKey,
        W::IssuerNotCrlSigner,
        W::MalformedDnsIdentifier,
        W::MalformedExtensions,
        W::MalformedNameConstraint,
        W::MaximumNameConstraintComparisonsExceeded,
        W::MaximumPathBuildCallsExceeded,
        W::MaximumPathDepthExceeded,
        W::MaximumSignatureChecksExceeded,
        W::NameConstraintViolation,
        W::PathLenConstraintViolated,
        W::RequiredEkuNotFound,
        W::SignatureAlgorithmMismatch,
        W::UnknownIssuer,
        W::UnknownRevocationStatus,
        W::UnsupportedCertVersion,
        W::UnsupportedCriticalExtension,
        W::UnsupportedCrlIssuingDistributionPoint,
        W::UnsupportedCrlVersion,
        W::UnsupportedDeltaCrl,
        W::UnsupportedIndirectCrl,
        W::UnsupportedNameType,
        W::UnsupportedRevocationReason,
        W::UnsupportedRevocationReasonsPartitioning,
        W::UnsupportedCrlSignatureAlgorithm,
        W::UnsupportedSignatureAlgorithm,
    ]
}

fn certificate_errors() -> Vec<CertificateError> {
    use CertificateError as C;
    let t = UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_000));
    let mut v = vec![
        C::BadEncoding,
        C::Expired,
        C::ExpiredContext {
            time: t,
            not_after: t,
        },
        C::NotValidYet,
        C::NotValidYetContext {
            time: t,
            not_before: t,
        },
        C::Revoked,
        C::UnhandledCriticalExtension,
        C::UnknownIssuer,
        C::UnknownRevocationStatus,
        C::ExpiredRevocationList,
        C::ExpiredRevocationListContext {
            time: t,
            next_update: t,
        },
        C::BadSignature,
        C::UnsupportedSignatureAlgorithmContext {
            signature_algorithm_id: vec![1, 2],
            supported_algorithms: vec![],
        },
        C::UnsupportedSignatureAlgorithmForPublicKeyContext {
            signature_algorithm_id: vec![1],
            public_key_algorithm_id: vec![2],
        },
        C::NotValidForName,
        C::NotValidForNameContext {
            expected: ServerName::try_from("localhost").unwrap(),
            presented: vec![
                "DnsName(\"example.test\")".into(),
                "IpAddress(127.0.0.2)".into(),
                "DirectoryName".into(),
                "UniformResourceIdentifier(\"https://x/\")".into(),
            ],
        },
        C::NotValidForNameContext {
            expected: ServerName::try_from("127.0.0.1").unwrap(),
            presented: vec![],
        },
        C::InvalidPurpose,
        C::InvalidPurposeContext {
            required: ExtendedKeyPurpose::ServerAuth,
            presented: vec![ExtendedKeyPurpose::ClientAuth],
        },
        C::InvalidOcspResponse,
        C::ApplicationVerificationFailure,
        C::Other(other(std::io::Error::other("Weird(Inner)"))),
    ];
    #[allow(deprecated)]
    v.push(C::UnsupportedSignatureAlgorithm);
    v.extend(webpki_errors().into_iter().map(|w| C::Other(other(w))));
    v
}

fn all_errors() -> Vec<Error> {
    use PeerIncompatible as I;
    let mut v: Vec<Error> = certificate_errors()
        .into_iter()
        .map(Error::InvalidCertificate)
        .collect();
    v.extend((0..=255u8).map(|n| Error::AlertReceived(AlertDescription::from(n))));
    v.extend(
        [
            I::EcPointsExtensionRequired,
            I::ExtendedMasterSecretExtensionRequired,
            I::IncorrectCertificateTypeExtension,
            I::KeyShareExtensionRequired,
            I::NamedGroupsExtensionRequired,
            I::NoCertificateRequestSignatureSchemesInCommon,
            I::NoCipherSuitesInCommon,
            I::NoEcPointFormatsInCommon,
            I::NoKxGroupsInCommon,
            I::NoSignatureSchemesInCommon,
            I::NullCompressionRequired,
            I::ServerDoesNotSupportTls12Or13,
            I::ServerSentHelloRetryRequestWithUnknownExtension,
            I::ServerTlsVersionIsDisabledByOurConfig,
            I::SignatureAlgorithmsExtensionRequired,
            I::SupportedVersionsExtensionRequired,
            I::Tls12NotOffered,
            I::Tls12NotOfferedOrEnabled,
            I::Tls13RequiredForQuic,
            I::UncompressedEcPointsRequired,
            I::UnsolicitedCertificateTypeExtension,
            I::ServerRejectedEncryptedClientHello(None),
        ]
        .into_iter()
        .map(Error::PeerIncompatible),
    );
    v.extend([
        Error::InappropriateMessage {
            expect_types: vec![ContentType::Handshake],
            got_type: ContentType::Alert,
        },
        Error::InappropriateHandshakeMessage {
            expect_types: vec![HandshakeType::ServerHello],
            got_type: HandshakeType::ClientHello,
        },
        Error::InvalidEncryptedClientHello(EncryptedClientHelloError::NoCompatibleConfig),
        Error::InvalidMessage(InvalidMessage::InvalidContentType),
        Error::InvalidMessage(InvalidMessage::MissingData("Thing")),
        Error::NoCertificatesPresented,
        Error::UnsupportedNameType,
        Error::DecryptError,
        Error::EncryptError,
        Error::PeerMisbehaved(PeerMisbehaved::SelectedUnofferedCipherSuite),
        Error::PeerMisbehaved(PeerMisbehaved::TooManyKeyUpdateRequests),
        Error::InvalidCertRevocationList(CertRevocationListError::BadSignature),
        Error::General("Weird(Thing)".into()),
        Error::General("the key file is empty".into()),
        Error::FailedToGetCurrentTime,
        Error::FailedToGetRandomBytes,
        Error::HandshakeNotComplete,
        Error::PeerSentOversizedRecord,
        Error::NoApplicationProtocol,
        Error::BadMaxFragmentSize,
        Error::InconsistentKeys(InconsistentKeys::KeyMismatch),
        Error::Other(other(webpki::Error::CaUsedAsEndEntity)),
        Error::Other(other(std::io::Error::other("Opaque(1)"))),
    ]);
    v
}

fn assert_words(text: &str, what: &dyn std::fmt::Debug) {
    assert!(!text.is_empty(), "{what:?} has no words");
    assert!(!looks_like_debug(text), "{what:?} reads {text:?}");
    for marker in [
        "Other(",
        "OtherError",
        "CaUsedAsEndEntity",
        "DnsName",
        "Some(",
    ] {
        assert!(!text.contains(marker), "{what:?} reads {text:?}");
    }
}

#[test]
fn every_error_is_a_sentence() {
    let errors = all_errors();
    assert!(errors.len() > 300, "the list covers the variants");
    for e in &errors {
        assert_words(&describe(e).text, e);
    }
}

#[test]
fn every_remedy_is_advice() {
    use Remedy as R;
    for r in [
        R::Renew,
        R::Clock,
        R::Name,
        R::Trust,
        R::NoRoots,
        R::Pin,
        R::Revoked,
        R::Reissue,
        R::Protocol,
        R::PlainText,
        R::ClientCert,
        R::Server,
        R::Local,
    ] {
        for ca_file in [false, true] {
            assert_words(r.advice(ca_file), &r);
        }
    }
}

#[test]
fn the_common_refusals_say_what_they_are() {
    let ca_as_leaf = Error::InvalidCertificate(CertificateError::Other(other(
        webpki::Error::CaUsedAsEndEntity,
    )));
    let p = describe(&ca_as_leaf);
    assert_eq!(p.remedy, Remedy::Pin);
    assert!(p.text.contains("CA certificate"), "{p:?}");
    let name = Error::InvalidCertificate(CertificateError::NotValidForNameContext {
        expected: ServerName::try_from("localhost").unwrap(),
        presented: vec![
            "DnsName(\"example.test\")".into(),
            "IpAddress(127.0.0.2)".into(),
        ],
    });
    assert_eq!(
        describe(&name).text,
        "the certificate is for example.test, 127.0.0.2, not for localhost"
    );
    let unknown = Error::InvalidCertificate(CertificateError::UnknownIssuer);
    assert_eq!(describe(&unknown).remedy, Remedy::Trust);
    assert!(
        Remedy::Trust
            .advice(false)
            .contains("give that certificate")
    );
    assert!(
        Remedy::Trust
            .advice(true)
            .contains("`ca_file` holds neither"),
        "with ca_file set, the advice is not to set it"
    );
    let expired = Error::InvalidCertificate(CertificateError::Expired);
    assert_eq!(describe(&expired).text, "the certificate has expired");
    assert_eq!(describe(&expired).remedy, Remedy::Renew);
    let no_roots =
        Error::InvalidCertificate(CertificateError::Other(other(crate::net::trust::NoRoots)));
    assert_eq!(describe(&no_roots).remedy, Remedy::NoRoots);
}

#[test]
fn debug_text_is_recognised() {
    for s in [
        "Other(OtherError(CaUsedAsEndEntity))",
        "received fatal alert: HandshakeFailure",
        "client error (Connect)",
        "Kind { code: 1 }",
        "hyper::Error",
    ] {
        assert!(looks_like_debug(s), "{s}");
    }
    for s in [
        "connection closed before message completed",
        "invalid HTTP version parsed",
        "No such file or directory",
        "the certificate is for example.test, not for localhost",
    ] {
        assert!(!looks_like_debug(s), "{s}");
    }
}
