//! What counts as an error in a log, how to say it once for many repeats, and where in the
//! source it points.

use std::sync::OnceLock;

// Byte regexes without Unicode tables: they compile in a fraction of the time (this runs
// at every start) and match log text, which is mostly ASCII and not always valid UTF-8.
use regex::bytes::{Regex, RegexBuilder, RegexSet};

/// The built-in sets are many alternatives matched once per line: without Unicode tables
/// and without a literal prefilter (whose construction costs more at start-up than it saves
/// on the few MiB a window holds).
fn set(patterns: &[&str]) -> Result<Matcher, regex::Error> {
    use regex_automata::{meta, util::syntax};
    meta::Regex::builder()
        .configure(
            meta::Config::new()
                .auto_prefilter(false)
                .onepass(false)
                .dfa(false),
        )
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build_many(patterns)
        .map(Matcher::Builtin)
        .map_err(|e| regex::Error::Syntax(e.to_string()))
}

/// A set of patterns: the built-in ones, or the user's.
enum Matcher {
    Builtin(regex_automata::meta::Regex),
    User(RegexSet),
}

impl Matcher {
    fn is_match(&self, text: &[u8]) -> bool {
        match self {
            Matcher::Builtin(r) => r.is_match(text),
            Matcher::User(s) => s.is_match(text),
        }
    }
}

fn one(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .expect("a built-in pattern")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Errors that fail requests: `fail`.
    Fatal,
    /// Lesser errors: `warn`.
    Error,
}

/// The built-in sets. Fatal: what turns a request into a 500. Error: what may.
const FATAL: &[&str] = &[
    // PHP
    r"PHP (Fatal|Parse) error",
    r"(?i)\bUncaught (Error|Exception|TypeError|ArgumentCountError)",
    r"Allowed memory size of \d+ bytes exhausted",
    r"Maximum execution time of \d+ seconds? exceeded",
    // Python
    r"^Traceback \(most recent call last\)",
    // Node: a thrown error, a dependency not installed, and the trailer Node prints when an
    // uncaught exception ends the process.
    r"(?i)unhandled ?(promise )?rejection",
    r"(^|: )\s*(Uncaught )?(TypeError|ReferenceError|RangeError|SyntaxError): ",
    r"Cannot find (module|package) '|MODULE_NOT_FOUND",
    r"^Node\.js v\d",
    // Ruby / Rails: `NoMethodError (…):`, `ActionView::Template::Error (…):`, and Ruby's own
    // `… (NoMethodError)` at the end of an uncaught exception's line.
    r"\b[A-Z][\w:]*(Error|Exception) \(.+\):",
    r"\([A-Z][\w:]*(Error|Exception|GemNotFound)\)$",
    // Java
    r"^Exception in thread ",
    r"\bSEVERE\b",
    r"^\S+(Exception|Error)(: |$)",
    // .NET: the runtime's last words, and the exception line its console logger indents.
    r"^Unhandled exception\. ",
    r"^\s+[A-Z][\w.]*(Exception|Error): ",
    // Go: a panic (its goroutine dump follows), one net/http recovered, a fatal runtime error.
    r"^panic: |http: panic serving |^fatal error: ",
    // Rust
    r"thread '.*' panicked at ",
    // nginx
    r"\[(crit|alert|emerg)\]",
    r"\[error\].*(upstream timed out|connect\(\) (to .* )?failed|no live upstreams|Too many open files|worker_connections are not enough|upstream prematurely closed|recv\(\) failed)",
    // Apache
    r"\[(\w+:)?(crit|alert|emerg)\]",
    r"AH00124|AH01071.*Fatal|AH01067|AH02429|AH00052|AH10157",
    // Generic application logs
    r"\b(FATAL|CRITICAL|EMERGENCY|ALERT)\b",
    r"(?i)out of memory|oom-kill|segfault|Segmentation fault",
];

const ERROR: &[&str] = &[
    r"\[(\w+:)?error\]",
    r"\bAH\d{5}\b",
    r"(?i)\bERROR\b",
    r"PHP Warning",
    r"\bWARNING: \[pool ",
];

/// Lines the built-in sets never count, whatever else they say: a server telling of its
/// own start, reload or stop at notice level or below (Apache's `AH00489 … resuming normal
/// operations`, `AH00094 Command line`), and an access rule doing its job (a 403, never a
/// 500). A false alarm costs more trust than a miss.
const BENIGN: &[&str] = &[
    r"\[(\w+:)?(notice|info|debug|trace\d?)\]",
    r"^\S+ \S+ \[(notice|info|debug)\] ",
    r"access forbidden by rule",
    r"AH01630: client denied by server configuration",
    r"AH01797: client denied by server configuration",
];

/// Exceptions Rails logs at FATAL level that answer 4xx, never 500: a bot asking for
/// `/wp-login.php` (`ActionController::RoutingError`) is not a fatal error.
const RAILS_4XX: &[&str] = &[
    "ActionController::RoutingError (",
    "ActionController::InvalidAuthenticityToken (",
    "ActionController::ParameterMissing (",
    "ActionController::UnknownFormat (",
    "ActionController::BadRequest (",
    "ActionController::UnknownHttpMethod (",
    "ActionController::MethodNotAllowed (",
    "ActionController::NotImplemented (",
    "ActionDispatch::Http::Parameters::ParseError (",
    "ActionDispatch::Http::MimeNegotiation::InvalidType (",
    "ActiveRecord::RecordNotFound (",
];

/// Whether a line is one of [`RAILS_4XX`]: one SIMD scan for their common prefix first, as
/// this runs for every fatal entry.
fn rails_4xx(line: &str) -> bool {
    static ACT: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    let act = ACT.get_or_init(|| memchr::memmem::Finder::new("Act"));
    act.find(line.as_bytes()).is_some() && RAILS_4XX.iter().any(|x| line.contains(x))
}

/// The benign set, compiled the first time a line may need it.
fn benign_set() -> &'static Matcher {
    static SET: OnceLock<Matcher> = OnceLock::new();
    SET.get_or_init(|| set(BENIGN).expect("the built-in benign patterns"))
}

/// Every benign line holds one of these words: most error lines hold none, and a literal
/// search costs a fraction of the set's.
fn may_be_benign(line: &[u8]) -> bool {
    use memchr::memmem::Finder;
    static WORDS: OnceLock<[Finder<'static>; 5]> = OnceLock::new();
    WORDS
        .get_or_init(|| {
            [
                Finder::new("notice]"),
                Finder::new("info]"),
                Finder::new("debug]"),
                Finder::new("trace"),
                Finder::new("denied by "),
            ]
        })
        .iter()
        .any(|w| w.find(line).is_some())
        || memchr::memmem::find(line, b"forbidden by rule").is_some()
}

pub struct Patterns {
    fatal: Matcher,
    error: Matcher,
    /// Only with the built-in sets: the user's own patterns mean what they say.
    benign: bool,
    exclude: Option<RegexSet>,
}

impl Patterns {
    /// The built-in sets, or `custom` regexes as the fatal set.
    pub fn new(custom: Option<&[String]>, exclude: &[String]) -> Result<Patterns, regex::Error> {
        let fatal = match custom {
            Some(c) => Matcher::User(RegexSet::new(c)?),
            None => set(FATAL)?,
        };
        let error = if custom.is_some() {
            Matcher::User(RegexSet::empty())
        } else {
            set(ERROR)?
        };
        let benign = custom.is_none();
        let exclude = if exclude.is_empty() {
            None
        } else {
            Some(RegexSet::new(exclude)?)
        };
        Ok(Patterns {
            fatal,
            error,
            benign,
            exclude,
        })
    }

    /// Judge an entry: its first (timestamped) line and the lines that follow it.
    pub fn classify(&self, head: &str, rest: &[String]) -> Option<Severity> {
        if self
            .exclude
            .as_ref()
            .is_some_and(|x| x.is_match(head.as_bytes()))
        {
            return None;
        }
        if self.benign && may_be_benign(head.as_bytes()) && benign_set().is_match(head.as_bytes()) {
            return None;
        }
        if self.fatal.is_match(head.as_bytes())
            || rest.iter().any(|l| self.fatal.is_match(l.as_bytes()))
        {
            if self.benign
                && std::iter::once(head)
                    .chain(rest.iter().take(4).map(String::as_str))
                    .any(rails_4xx)
            {
                return None;
            }
            return Some(Severity::Fatal);
        }
        self.error
            .is_match(head.as_bytes())
            .then_some(Severity::Error)
    }
}

/// The message with what varies between repeats — numbers, ids, addresses, and nginx's
/// request context (`, client: …`) — replaced, so repeats group together. One pass, no
/// regex: it runs once per error line.
pub fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(160));
    normalise_into(message, &mut out);
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// [`normalise`] into a buffer the caller reuses: no allocation per line.
pub fn normalise_to(message: &str, out: &mut String) {
    out.clear();
    normalise_into(message, out);
    if out.ends_with(' ') {
        out.pop();
    }
}

/// Whether two messages are the same but for their numbers (digit runs of any length),
/// within the first 160 bytes that [`normalise`] looks at. A cheap test — word-sized
/// comparisons between the digit runs — that spares normalising one bug's repeats one by
/// one; `false` only means "normalise and look it up".
pub fn same_but_numbers(a: &str, b: &str) -> bool {
    let a = &a.as_bytes()[..a.len().min(160)];
    let b = &b.as_bytes()[..b.len().min(160)];
    let (mut i, mut j) = (0, 0);
    loop {
        let n = common_prefix(&a[i..], &b[j..]);
        i += n;
        j += n;
        if i == a.len() && j == b.len() {
            return true;
        }
        let ad = a.get(i).is_some_and(u8::is_ascii_digit);
        let bd = b.get(j).is_some_and(u8::is_ascii_digit);
        let in_run = i > 0 && a[i - 1].is_ascii_digit();
        // A difference is allowed only inside digit runs: both sides at a digit, or one at
        // a digit continuing a run both share.
        if !(ad && bd || (ad || bd) && in_run) {
            return false;
        }
        while a.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
    }
}

/// How many leading bytes two slices share, compared eight at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut k = 0;
    while k + 8 <= n {
        let x = u64::from_le_bytes(a[k..k + 8].try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(b[k..k + 8].try_into().expect("8 bytes"));
        if x != y {
            return k + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        k += 8;
    }
    while k < n && a[k] == b[k] {
        k += 1;
    }
    k
}

/// Where normalised text goes.
trait Sink {
    fn push_str(&mut self, s: &str);
    fn push(&mut self, c: char);
}

impl Sink for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }
    fn push(&mut self, c: char) {
        String::push(self, c);
    }
}

fn normalise_into(message: &str, out: &mut impl Sink) {
    // The first 160 bytes (to a character's end) tell one error from another; a PHP stack
    // trace on one line can run to kilobytes.
    let mut cap = message.len().min(160);
    while !message.is_char_boundary(cap) {
        cap -= 1;
    }
    let message = message.get(..cap).unwrap_or_default();
    static CLIENT: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    let client = CLIENT.get_or_init(|| memchr::memmem::Finder::new(", client: "));
    let m = match client.find(message.as_bytes()) {
        Some(i) => message.get(..i).unwrap_or(message),
        None => message,
    };
    // Byte classes: 1 digit, 2 letter, 3 space, 0 anything else.
    const CLASS: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut i = 0;
        while i < 256 {
            let c = i as u8;
            t[i] = if c.is_ascii_digit() {
                1
            } else if c.is_ascii_alphabetic() {
                2
            } else if c.is_ascii_whitespace() {
                3
            } else {
                0
            };
            i += 1;
        }
        t
    };
    let b = m.as_bytes();
    let mut i = 0;
    let mut last_space = true;
    while i < b.len() {
        let start = i;
        match CLASS[b[i] as usize] {
            1 | 2 => {
                let mut digits = 0;
                let mut hex = true;
                while i < b.len() && matches!(CLASS[b[i] as usize], 1 | 2) {
                    digits += (CLASS[b[i] as usize] == 1) as usize;
                    hex &= b[i].is_ascii_hexdigit();
                    i += 1;
                }
                // A request id (a UUID) is one token, however its groups are spelt.
                if i - start == 8 && hex && is_uuid(b.get(start..).unwrap_or_default()) {
                    out.push_str("<uuid>");
                    i = start + 36;
                    last_space = false;
                    continue;
                }
                // Run boundaries are ASCII bytes, so every piece is whole characters.
                let word = m.get(start..i).unwrap_or_default();
                if digits == word.len() {
                    out.push('N');
                } else if digits > 0 && word.len() >= 8 && hex {
                    out.push_str("<hex>");
                } else if digits > 0 {
                    let mut in_num = false;
                    for c in word.chars() {
                        if c.is_ascii_digit() {
                            if !in_num {
                                out.push('N');
                            }
                            in_num = true;
                        } else {
                            out.push(c);
                            in_num = false;
                        }
                    }
                } else {
                    out.push_str(word);
                }
                last_space = false;
            }
            3 => {
                while i < b.len() && CLASS[b[i] as usize] == 3 {
                    i += 1;
                }
                if !last_space {
                    out.push(' ');
                }
                last_space = true;
            }
            _ => {
                while i < b.len() && CLASS[b[i] as usize] == 0 {
                    i += 1;
                }
                out.push_str(m.get(start..i).unwrap_or_default());
                last_space = false;
            }
        }
    }
}

/// Whether `b` starts with a UUID (`8-4-4-4-12` hex digits) that ends there.
fn is_uuid(b: &[u8]) -> bool {
    b.len() >= 36
        && b.iter().take(36).enumerate().all(|(k, c)| match k {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
        && !b.get(36).is_some_and(u8::is_ascii_alphanumeric)
}

/// A line without its leading timestamp: `[...]`, `date time`, `<pri>1 stamp`, or a syslog
/// `Mon dd hh:mm:ss host`. No regex: it runs once per error line.
pub fn strip_timestamp(line: &str) -> &str {
    fn skip_words(s: &str, n: usize) -> &str {
        let mut rest = s.trim_start();
        for _ in 0..n {
            rest = rest
                .split_once(char::is_whitespace)
                .map_or("", |(_, after)| after.trim_start());
        }
        rest
    }
    let b = line.as_bytes();
    match b.first() {
        Some(b'[') => line
            .split_once(']')
            .map_or(line, |(_, after)| after.trim_start()),
        Some(b'<') => skip_words(line, 2),
        // Ruby's Logger: `F, [stamp #pid] FATAL -- progname: message`.
        Some(_) if b.get(1..4) == Some(b", [") => line
            .split_once(']')
            .and_then(|(_, after)| after.split_once(" -- "))
            .and_then(|(_, after)| after.split_once(':'))
            .map_or(line, |(_, m)| m.trim_start()),
        Some(c) if c.is_ascii_digit() => skip_words(line, 2),
        Some(c) if c.is_ascii_uppercase() && b.get(3) == Some(&b' ') && b.get(9) == Some(&b':') => {
            skip_words(line, 4)
        }
        _ => line,
    }
}

/// What an entry says, to group its repeats and to show: its first line, followed by the
/// line of its stack that names the exception when the first line does not — Rails's empty
/// `FATAL --` line, gunicorn's `Error handling request`, Node's crash header, a Go log line
/// before its panic. Python's exception is the traceback's last line; the others' the first
/// that names one.
pub fn message<'a>(head: &'a str, rest: &[String]) -> std::borrow::Cow<'a, str> {
    let Some(exc) = exception_line(rest) else {
        return head.into();
    };
    let exc = exc.trim();
    if exc.is_empty() || head.contains(exc) {
        return head.into();
    }
    format!("{} … {exc}", head.trim_end()).into()
}

fn exception_line(rest: &[String]) -> Option<&str> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        one(
            r"^\s*(?:\[[\w-]+\] )*(?:Unhandled exception\. |Exception in thread .*|Uncaught )?(?:[A-Z][\w$.:]*(?:Error|Exception|GemNotFound|Interrupt)(?: \(.*\):|: |:?$)|panic: |fatal error: |Error: )",
        )
    });
    let first = rest.first()?;
    if first.starts_with("Traceback") {
        // The exception is the last line not indented (a frame or its source line is).
        return rest
            .iter()
            .rev()
            .find(|l| !l.starts_with(' ') && !l.starts_with('\t') && !l.trim().is_empty())
            .map(String::as_str);
    }
    rest.iter()
        .take(40)
        .find(|l| re.is_match(l.as_bytes()))
        .map(String::as_str)
}

/// How a stack lists its frames.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Python: the frame that raised is the last.
    InnermostLast,
    /// Everything else: the frame that threw comes first.
    InnermostFirst,
}

/// One position a line names, and whether it is in the app's own code.
struct Frame {
    file: String,
    line: u32,
    app: bool,
    order: Order,
}

/// Where an error points: the innermost frame of the app's own code — not the framework's,
/// the runtime's or an installed package's — else the innermost frame of any code. PHP,
/// Python, Node, Ruby and Rails, Java (the last `Caused by:` with an app frame), Go, .NET and
/// Rust forms.
pub fn location(lines: &[&str]) -> Option<(String, u32)> {
    // Python's innermost app frame: the last one.
    let mut python: Option<Frame> = None;
    // Others: the first app frame of the current `Caused by:` section, and of the latest
    // section that had one.
    let mut section: Option<Frame> = None;
    let mut chosen: Option<Frame> = None;
    // No app frame at all: the innermost of any.
    let mut any_first: Option<Frame> = None;
    let mut any_last_python: Option<Frame> = None;
    for l in lines.iter().take(400) {
        if l.trim_start().starts_with("Caused by:") {
            chosen = section.take().or(chosen);
            continue;
        }
        let Some(f) = frame(l) else { continue };
        match (f.order, f.app) {
            (Order::InnermostLast, true) => python = Some(f),
            (Order::InnermostLast, false) => any_last_python = Some(f),
            (Order::InnermostFirst, true) if section.is_none() => section = Some(f),
            (Order::InnermostFirst, _) if any_first.is_none() => any_first = Some(f),
            _ => {}
        }
    }
    python
        .or(section)
        .or(chosen)
        .or(any_last_python)
        .or(any_first)
        .map(|f| (f.file, f.line))
}

fn frame(l: &str) -> Option<Frame> {
    // Each frame pattern is compiled the first time a line looks like its stack's frames.
    macro_rules! lazy {
        ($name:ident, $re:expr) => {
            let $name = || {
                static RE: OnceLock<Regex> = OnceLock::new();
                RE.get_or_init(|| one($re))
            };
        };
    }
    lazy!(php, r" in (/[^\s:]+\.\w+)(?::| on line )(\d+)");
    lazy!(php_frame, r"#\d+ (/[^\s(]+\.\w+)\((\d+)\): ");
    lazy!(python, r#"File "([^"]+)", line (\d+)"#);
    lazy!(rust, r"panicked at ([^\s:]+):(\d+):\d+");
    lazy!(
        node,
        r"(?:^|[\s(@])(?:file://)?(/[^\s():]+\.(?:[cm]?js|tsx?|jsx)):(\d+)"
    );
    lazy!(
        ruby,
        r"((?:/|\b)[\w./-]+\.(?:rb|erb|haml|slim|rake|ru)):(\d+):in "
    );
    lazy!(
        java,
        r"\bat\s+(?:[\w.$-]+/+)*([\w$.]+)\.[\w$<>-]+\(([\w$-]+\.(?:java|kt|scala|groovy)):(\d+)\)"
    );
    lazy!(go, r"^\s+(\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?\s*$");
    lazy!(dotnet, r"\bat ([\w.`<>$+\[\]]+)\(.*\) in (.+):line (\d+)");
    let b = l.as_bytes();
    let num = |m: &[u8]| std::str::from_utf8(m).ok().and_then(|t| t.parse().ok());
    let text = |m: &[u8]| String::from_utf8_lossy(m).into_owned();
    let first = |file: String, line: u32, app: bool| {
        Some(Frame {
            file,
            line,
            app,
            order: Order::InnermostFirst,
        })
    };
    if memchr::memmem::find(b, b"File \"").is_some()
        && let Some(c) = python().captures(b)
    {
        let file = text(&c[1]);
        return Some(Frame {
            app: !(file.starts_with('<')
                || ["/site-packages/", "/dist-packages/", "/lib/python"]
                    .iter()
                    .any(|p| file.contains(p))),
            line: num(&c[2])?,
            file,
            order: Order::InnermostLast,
        });
    }
    if let Some(c) = java().captures(b) {
        let class = text(&c[1]);
        let app = !JAVA_FRAMEWORKS.iter().any(|p| class.starts_with(p));
        // The package names the directories: `com.shop.Checkout` → `com/shop/Checkout.java`.
        let file = match class.rsplit_once('.') {
            Some((package, _)) => format!("{}/{}", package.replace('.', "/"), text(&c[2])),
            None => text(&c[2]),
        };
        return first(file, num(&c[3])?, app);
    }
    if let Some(c) = dotnet().captures(b) {
        let method = text(&c[1]);
        let app = !["System.", "Microsoft.", "lambda_method"]
            .iter()
            .any(|p| method.starts_with(p));
        return first(text(&c[2]).trim().to_string(), num(&c[3])?, app);
    }
    if let Some(c) = go().captures(b) {
        let file = text(&c[1]);
        return first(file.clone(), num(&c[2])?, go_app(&file));
    }
    if let Some(c) = rust().captures(b) {
        let file = text(&c[1]);
        let app = !file.contains("/.cargo/registry/") && !file.starts_with("/rustc/");
        return first(file, num(&c[2])?, app);
    }
    for re in [php, php_frame] {
        if let Some(c) = re().captures(b) {
            let file = text(&c[1]);
            let app = !file.contains("/vendor/");
            return first(file, num(&c[2])?, app);
        }
    }
    if let Some(c) = ruby().captures(b) {
        let file = text(&c[1]);
        let app = !["/gems/", "vendor/", "/lib/ruby/", "/rubygems"]
            .iter()
            .any(|p| file.contains(p));
        return first(file, num(&c[2])?, app);
    }
    if let Some(c) = node().captures(b) {
        let file = text(&c[1]);
        return first(file.clone(), num(&c[2])?, !file.contains("/node_modules/"));
    }
    None
}

/// Java packages that are the platform or a framework, never the app.
const JAVA_FRAMEWORKS: &[&str] = &[
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "jakarta.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "groovy.",
    "org.springframework.",
    "org.apache.",
    "org.hibernate.",
    "org.eclipse.",
    "org.glassfish.",
    "org.jboss.",
    "org.postgresql.",
    "org.slf4j.",
    "io.netty.",
    "io.undertow.",
    "io.micrometer.",
    "reactor.",
    "com.fasterxml.",
    "com.zaxxer.",
    "com.mysql.",
    "ch.qos.",
    "net.bytebuddy.",
];

/// Go's own packages, as `-trimpath` names them (`net/http/server.go`).
const GO_STD: &[&str] = &[
    "runtime", "net", "internal", "sync", "reflect", "syscall", "os", "io", "fmt", "encoding",
    "database", "crypto", "text", "html", "bufio", "strings", "bytes", "strconv", "context", "log",
    "sort", "time", "errors", "math", "testing", "regexp", "unicode", "compress", "mime",
];

/// Whether a Go frame's file is the app's: not the toolchain's (`/usr/local/go/src/…`), not
/// the module cache's or a vendored one, not the standard library under `-trimpath`.
fn go_app(file: &str) -> bool {
    if file.starts_with('/') {
        return ![
            "/usr/local/go/",
            "/usr/lib/go",
            "/usr/share/go",
            "/pkg/mod/",
            "/vendor/",
            "/src/runtime/",
        ]
        .iter()
        .any(|p| file.contains(p));
    }
    let top = file.split('/').next().unwrap_or(file);
    let std_lib = GO_STD.contains(&top) && file.contains('/');
    !(file.starts_with('<') || std_lib)
}

#[cfg(test)]
mod stack_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(head: &str) -> Option<Severity> {
        Patterns::new(None, &[]).unwrap().classify(head, &[])
    }

    #[test]
    fn notices_and_access_rules_are_not_errors() {
        for line in [
            "[Mon Nov 30 01:02:03.123456 2026] [mpm_event:notice] [pid 77:tid 77] AH00489: Apache/2.4.62 (Debian) configured -- resuming normal operations",
            "[Mon Nov 30 01:02:03.123456 2026] [core:notice] [pid 77:tid 77] AH00094: Command line: '/usr/sbin/apache2'",
            "[Mon Nov 30 01:02:03.123456 2026] [mpm_event:notice] [pid 77:tid 77] AH00492: caught SIGWINCH, shutting down gracefully",
            "[Mon Nov 30 01:02:03 2026] [notice] Apache/2.2.22 (Debian) configured -- resuming normal operations",
            "2026/11/30 01:02:03 [notice] 12#12: signal process started",
            "2026/11/30 01:02:03 [error] 13#13: *7 access forbidden by rule, client: 127.0.0.1, server: _, request: \"GET /.git/config HTTP/1.1\", host: \"x\"",
            "[Mon Nov 30 01:02:03.1 2026] [authz_core:error] [pid 5:tid 6] [client 127.0.0.1:4] AH01630: client denied by server configuration: /var/www/html/.env",
        ] {
            assert_eq!(judge(line), None, "{line}");
        }
        // The same servers' real errors still count.
        assert_eq!(
            judge(
                "[Mon Nov 30 01:02:03.1 2026] [core:alert] [pid 5] [client 1.2.3.4:5] /var/www/html/.htaccess: Invalid command 'RewriteEngin', perhaps misspelled"
            ),
            Some(Severity::Fatal)
        );
        // A user's own patterns are taken as they are.
        let own = Patterns::new(Some(&["notice".to_string()]), &[]).unwrap();
        assert_eq!(
            own.classify("2026/11/30 01:02:03 [notice] 12#12: x", &[]),
            Some(Severity::Fatal)
        );
    }

    #[test]
    fn one_error_with_other_connection_and_request_ids_is_one() {
        let a = normalise(
            "2026/11/30 01:02:03 [error] 13#13: *7 FastCGI sent in stderr: \"PHP message: boom\" while reading response header from upstream, client: 127.0.0.1, request: \"GET /a?id=1\"",
        );
        let b = normalise(
            "2026/11/30 01:02:09 [error] 13#13: *912 FastCGI sent in stderr: \"PHP message: boom\" while reading response header from upstream, client: 10.0.0.9, request: \"GET /a?id=77\"",
        );
        assert_eq!(a, b);
        let c = normalise(
            "[Mon Nov 30 01:02:03.1 2026] [php:error] [pid 5:tid 6] [client 127.0.0.1:4455] [request_id 9f86d081884c7d65] PHP Fatal error: boom",
        );
        let d = normalise(
            "[Mon Nov 30 01:02:04.9 2026] [php:error] [pid 8:tid 9] [client 127.0.0.1:5566] [request_id 1b4f0e9851971998] PHP Fatal error: boom",
        );
        assert_eq!(c, d);
    }

    #[test]
    fn built_in_sets() {
        assert_eq!(
            judge("[02-Jan-2024 03:04:05 UTC] PHP Fatal error:  Uncaught Error: x in /a.php:3"),
            Some(Severity::Fatal)
        );
        assert_eq!(
            judge(
                "2024/01/02 03:04:05 [error] 1#1: *5 upstream timed out (110: Connection timed out) while reading"
            ),
            Some(Severity::Fatal)
        );
        assert_eq!(
            judge(
                "2024/01/02 03:04:05 [error] 1#1: *5 open() \"/var/www/favicon.ico\" failed (2: No such file)"
            ),
            Some(Severity::Error)
        );
        assert_eq!(
            judge("2024/01/02 03:04:05 [emerg] 1#1: bind() to 0.0.0.0:80 failed"),
            Some(Severity::Fatal)
        );
        assert_eq!(
            judge(
                "[Tue Jan 02 03:04:05.1 2024] [core:error] [pid 1] AH00124: Request exceeded the limit of 10 internal redirects"
            ),
            Some(Severity::Fatal)
        );
        assert_eq!(
            judge("thread 'main' panicked at src/main.rs:10:5:"),
            Some(Severity::Fatal)
        );
        assert_eq!(judge("2024-01-02 03:04:05 INFO all good"), None);
        let p = Patterns::new(None, &["favicon".to_string()]).unwrap();
        assert_eq!(p.classify("[error] favicon.ico failed", &[]), None);
        let tb = vec!["Traceback (most recent call last):".to_string()];
        assert_eq!(
            p.classify("2024-01-02 03:04:05,1 ERROR app: Exception on /", &tb),
            Some(Severity::Fatal)
        );
    }

    #[test]
    fn repeats_group_together() {
        let a = normalise(
            "[02-Jan-2024 03:04:05 UTC] PHP Warning: Undefined index 42 in /a.php on line 7",
        );
        let b = normalise(
            "[02-Jan-2024 04:05:06 UTC] PHP Warning: Undefined index 43 in /a.php on line 7",
        );
        assert_eq!(a, b);
        let a = normalise(
            "2024/01/02 03:04:05 [error] 812#812: *1234 upstream timed out, client: 1.2.3.4, server: x.com, request: \"GET /a HTTP/1.1\"",
        );
        let b = normalise(
            "2024/01/02 03:09:05 [error] 813#813: *99 upstream timed out, client: 5.6.7.8, server: x.com, request: \"GET /b HTTP/1.1\"",
        );
        assert_eq!(a, b);
    }

    #[test]
    fn repeats_are_spotted_cheaply() {
        assert!(same_but_numbers(
            "[error] 7#7: *12 upstream timed out, client: 1.2.3.4",
            "[error] 8#8: *999 upstream timed out, client: 9.9.9.10"
        ));
        assert!(same_but_numbers("x 99 y", "x 100 y"));
        assert!(same_but_numbers("id 1 z", "id 12 z"));
        assert!(!same_but_numbers("a1b", "a1c"));
        assert!(!same_but_numbers(
            "PHP Fatal error: a() in /a.php:3",
            "PHP Fatal error: b() in /a.php:3"
        ));
        assert!(!same_but_numbers("abc", "abcd"));
        assert!(same_but_numbers("x 1", "x 22"));
    }

    #[test]
    fn source_locations() {
        assert_eq!(
            location(&["PHP Fatal error:  Uncaught Error: x in /var/www/index.php:12"]),
            Some(("/var/www/index.php".into(), 12))
        );
        assert_eq!(
            location(&["PHP Parse error: syntax error in /var/www/a.php on line 3"]),
            Some(("/var/www/a.php".into(), 3))
        );
        let py = [
            "Traceback (most recent call last):",
            "  File \"/app/a.py\", line 10, in f",
            "  File \"/app/b.py\", line 20, in g",
            "KeyError: 'x'",
        ];
        assert_eq!(location(&py), Some(("/app/b.py".into(), 20)));
        assert_eq!(
            location(&["    at handler (/srv/app/server.js:42:13)"]),
            Some(("/srv/app/server.js".into(), 42))
        );
        assert_eq!(
            location(&["thread 'main' panicked at src/main.rs:10:5:"]),
            Some(("src/main.rs".into(), 10))
        );
        assert_eq!(
            location(&["\tat com.acme.Foo.bar(Foo.java:77)"]),
            Some(("com/acme/Foo.java".into(), 77))
        );
        assert_eq!(
            location(&["app/models/user.rb:15:in `name'"]),
            Some(("app/models/user.rb".into(), 15))
        );
    }
}
