use super::*;

#[test]
fn credentials_and_secret_parameters() {
    assert_eq!(
        url("https://user:hunter2@api.example/path?token=abc&page=2&api_key=zz"),
        "https://***:***@api.example/path?token=***&page=2&api_key=***"
    );
    assert_eq!(
        url("http://127.0.0.1:8080/health"),
        "http://127.0.0.1:8080/health"
    );
    assert_eq!(
        url("http://a/?Signature=x&X-Amz-Credential=y"),
        "http://a/?Signature=***&X-Amz-Credential=***"
    );
    assert_eq!(
        url("http://[::1]:9/a%20b?q=a+b"),
        "http://[::1]:9/a%20b?q=a+b"
    );
}

#[test]
fn a_user_name_alone_is_a_secret() {
    assert_eq!(
        url("https://ghp_TOKEN1234@git.example/repo"),
        "https://***@git.example/repo"
    );
    assert_eq!(mask_userinfo("x://TOKEN@h/p@q"), "x://***@h/p@q");
    assert!(has_userinfo("url = \"https://TOKEN@host/\""));
    assert!(!has_userinfo("https://host/a@b"));
}

#[test]
fn tokens_in_the_path_and_fragment() {
    assert_eq!(
        url("https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe"),
        "https://api.telegram.org/bot123456:***/getMe"
    );
    assert_eq!(
        url("https://hooks.example/services/T0000/B0000/XcV8qWm2Lp9RtY4zKd7Hs3Nf"),
        "https://hooks.example/services/T0000/B0000/***"
    );
    assert_eq!(
        url("https://x/cb#access_token=abc123&token_type=bearer&expires_in=3600"),
        "https://x/cb#access_token=***&token_type=bearer&expires_in=3600"
    );
    assert_eq!(
        url("https://x/?jwt=a.b.c&code=4%2F0Ad&session=s1&page=2"),
        "https://x/?jwt=***&code=***&session=***&page=2"
    );
    assert_eq!(
        url("https://x/?q=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
        "https://x/?q=***"
    );
    // Words, slugs, dates and camelCase are not tokens.
    for ok in [
        "https://x/blog/how-to-fix-500-errors-in-2024/",
        "https://x/ItemListForCategory12345/Windows10ProfessionalEdition",
        "https://x/releases/2024-05-01T12:00:00Z",
    ] {
        assert_eq!(url(ok), ok);
    }
    assert!(looks_like_token("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    assert!(looks_like_token("sk_live_4eC39HqLyjWDarjtT1zdp7dc"));
}

#[test]
fn secret_names_are_whole_tokens() {
    for name in [
        "sig",
        "x_sig",
        "sigv4",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "AWSAccessKeyId",
        "accessToken",
        "api-key",
        "apikey",
        "jwt",
        "code",
        "session",
        "PHPSESSID",
        "DB_PASSWORD",
        "client_secret",
        "key2",
        "PGPASSWORD",
        "csrftoken",
    ] {
        assert!(is_secret_name(name), "{name}");
    }
    for name in [
        "design",
        "zipcode",
        "keyboard",
        "monkey",
        "page",
        "signal",
        "passenger",
        "codec",
        "token_type",
        "session_timeout",
        "tokenizer",
    ] {
        assert!(!is_secret_name(name), "{name}");
    }
}

#[test]
fn scrub_covers_normalised_forms() {
    let raw = "HTTP://u:p4ss@Host/x?secret=s3";
    let text = "error sending request for url (http://u:p4ss@host/x?secret=s3)".to_string();
    let s = scrub(&text, raw);
    assert!(!s.contains("p4ss") && !s.contains("s3"), "{s}");
}

#[test]
fn not_a_url_still_masks_passwords() {
    assert_eq!(
        url("redis://:pw@127.0.0.1:6379/0"),
        "redis://:***@127.0.0.1:6379/0"
    );
    assert_eq!(mask_userinfo("x://u:p@h"), "x://***:***@h");
    assert_eq!(url("db.internal:5432"), "db.internal:5432");
}

fn request_secrets() -> Secrets {
    let u = reqwest::Url::parse(
        "http://tokuser:p%40ss-w0rd@h/bot42:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/x?token=t%2Fk-value&page=2",
    )
    .unwrap();
    Secrets::for_request(
        &u,
        [
            ("Authorization", "Basic YWRtaW46aHVudGVyMi1wdw=="),
            ("X-Api-Key", "k3y-v4lue-0123"),
            ("Cookie", "lang=en; session=c00kie-value"),
            ("Accept", "application/json"),
        ],
        Some(r#"{"user": "bob", "password": "b0dy-pw-value", "n": 1}"#),
    )
}

#[test]
fn every_form_of_every_secret_is_masked() {
    let s = request_secrets();
    let echoed = [
        "GET /bot42:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/x?token=t%2Fk-value&page=2 HTTP/1.1",
        "authorization: Basic dG9rdXNlcjpwQHNzLXcwcmQ=",
        "PHP_AUTH_USER=tokuser PHP_AUTH_PW=p@ss-w0rd raw p%40ss-w0rd",
        "token decoded: t/k-value, json: t\\/k-value, form: t%2fk-value",
        "Authorization: Basic YWRtaW46aHVudGVyMi1wdw== user admin pw hunter2-pw",
        "x-api-key: K3Y-V4LUE-0123 cookie: session=c00kie-value",
        "body: {\"password\":\"b0dy-pw-value\"}",
    ];
    for line in echoed {
        let m = s.mask(line);
        for leak in [
            "tokuser",
            "p@ss",
            "p%40ss",
            "dG9rdXNlcjpwQHNzLXcwcmQ",
            "AAHdqTcv",
            "t%2Fk",
            "t%2fk",
            "t/k-value",
            "t\\/k",
            "YWRtaW46",
            "hunter2",
            "admin",
            "k3y-v4lue",
            "c00kie",
            "b0dy-pw",
        ] {
            assert!(
                !m.to_ascii_lowercase().contains(&leak.to_ascii_lowercase()),
                "{leak} in {m}"
            );
        }
    }
    let kept = s.mask("HTTP 500 for page=2 with application/json, an administrator");
    assert_eq!(
        kept,
        "HTTP 500 for page=2 with application/json, an administrator"
    );
}

#[test]
fn short_values_are_masked_as_whole_words_only() {
    let mut s = Secrets::new();
    s.add("4711");
    s.add("ab");
    assert_eq!(s.mask("pin 4711, not 47110; ab"), "pin ***, not 47110; ab");
}

#[test]
fn a_secret_cut_off_at_the_end_is_masked() {
    let mut s = Secrets::new();
    s.add("hunter2-s3cr3t-value");
    assert_eq!(s.mask_cut("password is hunter2-s3"), "password is ***");
    assert_eq!(s.mask_cut("all is well"), "all is well");
    assert_eq!(s.mask("ünïcode hunter2-s3cr3t-value ✓"), "ünïcode *** ✓");
}

#[test]
fn free_text_assignments_and_urls() {
    assert_eq!(
        text("mysqldump --password=hunter2 -h db PGPASSWORD='pw9' keyboard=us token=$T"),
        "mysqldump --password=*** -h db PGPASSWORD='***' keyboard=us token=$T"
    );
    assert_eq!(
        text("curl -s https://u:p@h/x?token=t&page=1 && echo ok"),
        "curl -s https://***:***@h/x?token=***&page=1 && echo ok"
    );
    let mut s = Secrets::new();
    s.add_text("run --api-key=k3y-v4lue postgres://app:dbpw-value@db/app");
    assert_eq!(s.mask("k3y-v4lue dbpw-value app ok"), "*** *** *** ok");
}

#[test]
fn mysql_attached_passwords() {
    for (line, shown) in [
        ("mysql -u root -pS3cret db", "mysql -u root -p*** db"),
        (
            "/usr/bin/mysqldump -h db -p'pw x' a; mariadb-admin -pZz9 ping",
            "/usr/bin/mysqldump -h db -p'***' a; mariadb-admin -p*** ping",
        ),
        (
            "sudo MySQL \"-pQ\" -e 'select 1'",
            "sudo MySQL \"-p***\" -e 'select 1'",
        ),
        // A bare `-p` asks for the password; elsewhere `-p` is a port or a path.
        ("mysql -p -h db x", "mysql -p -h db x"),
        (
            "/usr/lib/nagios/plugins/check_mysql -H db -p S3c -u m",
            "/usr/lib/nagios/plugins/check_mysql -H db -p *** -u m",
        ),
        ("ssh -p2222 db mysql -P 3306", "ssh -p2222 db mysql -P 3306"),
        ("mkdir -p/tmp/x && mysql db", "mkdir -p/tmp/x && mysql db"),
        ("mysql db; nc -p9000 h", "mysql db; nc -p9000 h"),
    ] {
        assert_eq!(text(line), shown, "{line}");
    }
    let mut s = Secrets::new();
    s.add_text("mysql -uroot -pS3cret-pw db; mysql -p'an0ther pw'");
    assert_eq!(s.mask("with S3cret-pw, an0ther pw"), "with ***, ***");
    assert!(takes_mysql_password("/opt/x/bin/mariadb-dump"));
    assert!(takes_mysql_password("MYSQL"));
    assert!(takes_mysql_password("check_mysql_query"));
    assert!(!takes_mysql_password("/usr/bin/nc"));
    assert!(!takes_mysql_password("/mysql/bin/psql"));
    assert_eq!(attached_password("-pS3cret"), Some("S3cret"));
    assert_eq!(attached_password("-p"), None);
    assert_eq!(attached_password("--password"), None);
}

proptest::proptest! {
    /// Any text and any secrets: no panic, and no secret of three or more characters is
    /// left whole where it was not part of a longer word.
    #[test]
    fn masking_never_panics(text in "\\PC{0,120}", secrets in proptest::collection::vec("\\PC{0,12}", 0..4), name in "\\PC{0,20}") {
        let mut s = Secrets::new();
        for v in &secrets {
            s.add(v);
        }
        let _ = s.mask_cut(&text);
        let masked = s.mask(&text);
        for v in secrets.iter().filter(|v| v.trim().chars().count() >= 8 && !v.contains('*')) {
            proptest::prop_assert!(!masked.to_ascii_lowercase().contains(&v.trim().to_ascii_lowercase()), "{v:?} in {masked:?}");
        }
        let _ = (is_secret_name(&name), looks_like_token(&name), url(&name), text::text(&name));
    }
}
