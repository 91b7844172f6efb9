//! Servers the network tests start on 127.0.0.1: plain HTTP answering as told, one that
//! accepts and never answers, HTTPS with a test CA or a self-signed certificate. Each serves a bounded number of
//! connections and needs nothing outside loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// What to answer to a request path.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

/// Read a request's head; returns its path.
fn read_request<S: Read>(s: &mut S) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&buf);
    head.split_whitespace().nth(1).map(str::to_string)
}

fn write_reply<S: Write>(s: &mut S, r: &Reply) {
    std::thread::sleep(r.delay);
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        r.body.len()
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(r.body.as_bytes());
    let _ = s.flush();
}

/// An HTTP server for at most `max` connections; `answer` gets the request path and the
/// connection's number (0-based).
pub fn http(max: usize, answer: impl Fn(&str, usize) -> Reply + Send + 'static) -> u16 {
    http_on(TcpListener::bind("127.0.0.1:0").unwrap(), max, answer)
}

/// [`http`] on a listener the test bound itself (on another loopback address).
pub fn http_on(
    l: TcpListener,
    max: usize,
    answer: impl Fn(&str, usize) -> Reply + Send + 'static,
) -> u16 {
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (n, conn) in l.incoming().take(max).enumerate() {
            let Ok(mut s) = conn else { continue };
            if let Some(path) = read_request(&mut s) {
                write_reply(&mut s, &answer(&path, n));
            }
        }
    });
    port
}

/// Accepts up to `max` connections and never answers; each is held until the client gives
/// up and closes it.
pub fn silent(max: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().take(max) {
            let Ok(mut s) = conn else { continue };
            std::thread::spawn(move || {
                let mut sink = [0u8; 1024];
                while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

/// A port with nothing listening: bound, then released.
pub fn refused() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A test CA and a server certificate for localhost and 127.0.0.1.
pub struct Pki {
    pub ca_pem: String,
    pub chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub key: rustls::pki_types::PrivateKeyDer<'static>,
}

/// A certificate for localhost and 127.0.0.1, signed by a test CA, valid from `from_days` to
/// `to_days` relative to now.
pub fn pki(from_days: i64, to_days: i64) -> Pki {
    signed_by_test_ca(&["localhost", "127.0.0.1"], from_days, to_days, false)
}

fn validity(p: &mut rcgen::CertificateParams, from_days: i64, to_days: i64) {
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now + time::Duration::days(from_days);
    p.not_after = now + time::Duration::days(to_days);
}

/// A server certificate for `names` signed by a test CA; `leaf_is_ca` marks the server's own
/// certificate CA:TRUE.
pub fn signed_by_test_ca(names: &[&str], from_days: i64, to_days: i64, leaf_is_ca: bool) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "sitedoctor test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, names[0]);
    if leaf_is_ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    validity(&mut p, from_days, to_days);
    let cert = p.signed_by(&key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        chain: vec![cert.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    }
}

/// A self-signed certificate with CA:TRUE for `names`, as `openssl req -x509` makes; its
/// `ca_pem` is the certificate itself.
pub fn self_signed(names: &[&str], from_days: i64, to_days: i64) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, names[0]);
    validity(&mut p, from_days, to_days);
    let cert = p.self_signed(&key).unwrap();
    Pki {
        ca_pem: cert.pem(),
        chain: vec![cert.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    }
}

/// A certificate and key from PEM files (as `openssl` writes them); `ca_pem` is the certificate.
pub fn from_pem(cert_pem: &str, key_pem: &str) -> Pki {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    Pki {
        ca_pem: cert_pem.to_string(),
        chain,
        key: PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap(),
    }
}

/// An HTTPS server answering every request with `reply`, for at most `max` connections.
pub fn https(pki: &Pki, max: usize, status: u16, body: &'static str) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.key.clone_key())
        .unwrap();
    let config = Arc::new(config);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().take(max) {
            let Ok(s) = conn else { continue };
            let config = config.clone();
            std::thread::spawn(move || serve_tls(config, s, status, body));
        }
    });
    port
}

fn serve_tls(config: Arc<rustls::ServerConfig>, s: TcpStream, status: u16, body: &str) {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, s);
    // A client that rejects the certificate closes here; that is fine.
    if let Some(_path) = read_request(&mut tls) {
        write_reply(&mut tls, &Reply::new(status, body));
        tls.conn.send_close_notify();
        let _ = tls.flush();
    }
}

/// A plain-text server that greets each of at most `max` connections with `banner` (as SMTP
/// or a plain HTTP port answering garbage would) and closes it.
pub fn banner(max: usize, banner: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().take(max) {
            let Ok(mut s) = conn else { continue };
            let _ = s.write_all(banner.as_bytes());
            let _ = s.flush();
        }
    });
    port
}
