//! Tests of the FastCGI client: record encoding, reading answers, listen addresses.

use super::*;
use proptest::prelude::*;

fn header(kind: u8, id: u16, len: u16, pad: u8) -> Vec<u8> {
    let mut h = vec![1, kind];
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[pad, 0]);
    h
}

#[test]
fn records_are_padded_to_eight_bytes() {
    let r = record(STDOUT, b"hello");
    assert_eq!(&r[..8], &header(STDOUT, 1, 5, 3)[..]);
    assert_eq!(&r[8..], b"hello\0\0\0");
    assert_eq!(record(PARAMS, &[]), header(PARAMS, 1, 0, 0));
}

#[test]
fn a_request_is_begin_params_and_empty_stdin() {
    let long = "x".repeat(200);
    let req = encode_request(&[("SCRIPT_NAME", "/status"), ("LONG", &long)]);
    // BEGIN_REQUEST: responder, keep-conn off.
    assert_eq!(&req[..8], &header(BEGIN_REQUEST, 1, 8, 0)[..]);
    assert_eq!(&req[8..16], &[0, 1, 0, 0, 0, 0, 0, 0]);
    let mut params = Vec::new();
    params.extend_from_slice(&[11, 7]);
    params.extend_from_slice(b"SCRIPT_NAME/status");
    params.extend_from_slice(&[4, 0x80, 0, 0, 200]);
    params.extend_from_slice(b"LONG");
    params.extend_from_slice(long.as_bytes());
    let mut expected = record(PARAMS, &params);
    expected.extend(record(PARAMS, &[]));
    expected.extend(record(STDIN, &[]));
    assert_eq!(&req[16..], &expected[..]);
}

#[test]
fn params_longer_than_one_record_are_split() {
    let big = "v".repeat(70_000);
    let req = encode_request(&[("K", &big)]);
    let mut out = Vec::new();
    let mut err = Vec::new();
    // Read it back as if it were an answer: only the kinds differ.
    let as_stdout: Vec<u8> = {
        let mut r = &req[16..];
        let mut v = Vec::new();
        while r.len() >= 8 {
            let len = usize::from(u16::from_be_bytes([r[4], r[5]])) + usize::from(r[6]);
            let kind = if r[1] == PARAMS { STDOUT } else { END_REQUEST };
            v.extend_from_slice(&[1, kind]);
            v.extend_from_slice(&r[2..8 + len]);
            r = &r[8 + len..];
        }
        v
    };
    read_records(&mut &as_stdout[..], &mut out, &mut err, 1 << 20).unwrap();
    assert_eq!(out.len(), 1 + 4 + 1 + 70_000);
    assert_eq!(&out[..6], &[1, 0x80, 0x01, 0x11, 0x70, b'K']);
}

fn answer(parts: &[(u8, u16, &[u8], u8)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (kind, id, data, pad) in parts {
        v.extend(header(*kind, *id, data.len() as u16, *pad));
        v.extend_from_slice(data);
        v.extend(std::iter::repeat_n(0xAA, usize::from(*pad)));
    }
    v
}

#[test]
fn an_answer_with_stderr_padding_and_other_requests() {
    let raw = answer(&[
        (STDERR, 1, b"PHP Warning: x", 2),
        (
            STDOUT,
            1,
            b"Content-type: application/json\r\n\r\n{\"a\"",
            7,
        ),
        (STDOUT, 2, b"not ours", 0),
        (STDOUT, 1, b":1}", 0),
        (END_REQUEST, 1, &[0; 8], 0),
        (STDOUT, 1, b"after the end", 0),
    ]);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    read_records(&mut &raw[..], &mut out, &mut err, 1024).unwrap();
    assert_eq!(err, b"PHP Warning: x");
    let r = split_headers(&out).unwrap();
    assert_eq!(
        r.headers,
        vec![("Content-type".into(), "application/json".into())]
    );
    assert_eq!(r.body, b"{\"a\":1}");
}

#[test]
fn answers_that_are_cut_too_big_or_not_fastcgi() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let cut = answer(&[(STDOUT, 1, b"Status: 200\r\n\r\n", 0)]);
    assert!(matches!(
        read_records(&mut &cut[..], &mut out, &mut err, 1024),
        Err(ReadError::Protocol(_))
    ));
    let big = answer(&[(STDOUT, 1, &[b'x'; 600], 0), (STDOUT, 1, &[b'x'; 600], 0)]);
    assert!(matches!(
        read_records(&mut &big[..], &mut Vec::new(), &mut err, 1000),
        Err(ReadError::TooLarge)
    ));
    let http = b"HTTP/1.1 400 Bad Request\r\n\r\n";
    assert!(matches!(
        read_records(&mut &http[..], &mut Vec::new(), &mut err, 1000),
        Err(ReadError::Protocol(_))
    ));
}

#[test]
fn a_status_other_than_2xx_is_an_error_with_what_the_server_said() {
    let mut r =
        split_headers(b"Status: 404 Not Found\nContent-type: text/html\n\nFile not found.\n")
            .unwrap();
    r.stderr = b"\nPrimary script unknown\n".to_vec();
    let e = check_status(&r, "127.0.0.1:9000").unwrap_err();
    assert_eq!(
        e.to_string(),
        "127.0.0.1:9000 answered 404 Not Found (Primary script unknown)"
    );
    assert!(check_status(&split_headers(b"Status: 200 OK\r\n\r\n").unwrap(), "x").is_ok());
    assert!(split_headers(b"no end of headers").is_none());
}

#[test]
fn listen_addresses_on_this_host_only() {
    let t = |l: &str| Target::from_listen(l).map(|t| t.to_string());
    assert_eq!(
        t("/run/php/php8.2-fpm.sock").unwrap(),
        "unix:/run/php/php8.2-fpm.sock"
    );
    assert_eq!(t("9000").unwrap(), "127.0.0.1:9000");
    assert_eq!(t("127.0.0.1:9000").unwrap(), "127.0.0.1:9000");
    assert_eq!(t("0.0.0.0:9000").unwrap(), "127.0.0.1:9000");
    assert_eq!(t("[::]:9000").unwrap(), "[::1]:9000");
    assert_eq!(t("[::1]:9000").unwrap(), "[::1]:9000");
    assert_eq!(t("localhost:9000").unwrap(), "127.0.0.1:9000");
    assert!(matches!(
        Target::from_listen("10.0.0.5:9000"),
        Err(Error::NotLocal(_))
    ));
    assert!(matches!(
        Target::from_listen("169.254.169.254:80"),
        Err(Error::NotLocal(_))
    ));
    assert!(matches!(
        Target::from_listen("db.example:9000"),
        Err(Error::NotLocal(_))
    ));
    assert!(matches!(
        Target::from_listen("php.sock"),
        Err(Error::BadAddress(_))
    ));
    assert!(matches!(
        Target::from_listen("127.0.0.1:99999"),
        Err(Error::BadAddress(_))
    ));
}

#[test]
fn a_request_to_a_server_that_never_answers_gives_up_in_time() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = Target::Tcp(l.local_addr().unwrap());
    let t = Instant::now();
    let e = request(&target, &[], Duration::from_millis(300), 1024).unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3));
    drop(l);
}

proptest! {
    #[test]
    fn random_answers_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = read_records(&mut &raw[..], &mut out, &mut err, 1024);
        prop_assert!(out.len() <= 1024 && err.len() <= STDERR_CAP);
        let _ = split_headers(&raw);
    }

    #[test]
    fn random_listen_values_never_panic(s in "\\PC{0,40}") {
        let _ = Target::from_listen(&s);
    }
}
