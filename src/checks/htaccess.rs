//! `htaccess`: a lint for `.htaccess` files — the mistakes that make Apache answer 500
//! ("Invalid command", unbalanced sections) or silently ignore rewrite rules.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::findings::{Finding, Findings};
use super::tree::Excludes;
use super::tree::{max_details, walk_options};
use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Subject};
use crate::sanitize;
use crate::span::SpanError;
use crate::sys::readcap::{DEFAULT_CAP, ReadError, read_capped, read_capped_at};
use crate::walk::{self, Entry, WalkError};

pub static KIND: Kind = Kind {
    name: "htaccess",
    summary: "a lint of every .htaccess below a web root",
    why: "Apache reads .htaccess on every request: one unknown directive, an unclosed \
          <IfModule>, or php_value where PHP runs under PHP-FPM, and every page below it \
          answers 500 \"Internal Server Error\". Rewrite rules without `RewriteEngine On` are \
          silently ignored.",
    looks_at: "Every `.htaccess` under `path` (symlinks not followed), line by line: rewrite \
               directives before `RewriteEngine On`; unclosed or mismatched <IfModule>, <Files>, \
               <FilesMatch>, <If>, <Limit>… sections and <Directory> (not allowed there); \
               php_value/php_flag when PHP runs under FPM (no mod_php); directives that are \
               neither core Apache nor from a common module (outside <IfModule>).",
    fixes: "Each finding names file:line and the edit; PHP settings move to `.user.ini` or the \
            FPM pool under PHP-FPM.",
    field_docs: &[
        FieldDoc {
            name: "path",
            ty: "path",
            default: "—",
            doc: "The web root to search (required unless `from_config`).",
        },
        FieldDoc {
            name: "from_config",
            ty: "list",
            default: "[]",
            doc: "Also search the web roots (`DocumentRoot`) Apache's configuration serves: [\"apache\"]. `skip` where Apache is not installed.",
        },
        FieldDoc {
            name: "php_handler",
            ty: "string",
            default: "\"auto\"",
            doc: "How PHP runs: \"fpm\", \"module\" (mod_php) or \"auto\" (detected).",
        },
        FieldDoc {
            name: "exclude",
            ty: "list of globs",
            default: "[]",
            doc: "Paths to leave out, as for `permissions`.",
        },
        FieldDoc {
            name: "missing_ok",
            ty: "bool",
            default: "false",
            doc: "`skip` when `path` does not exist.",
        },
        FieldDoc {
            name: "max_details",
            ty: "integer",
            default: "50",
            doc: "Findings shown; totals are always complete.",
        },
    ],
    example: r#"[[check]]
id = "htaccess"
kind = "htaccess"
path = "/var/www/html"
"#,
    fields: super::fields_of::<HtaccessSpec>,
    build: super::build::<HtaccessSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HtaccessSpec {
    path: Option<PathBuf>,
    #[serde(default)]
    from_config: Vec<Spanned<String>>,
    php_handler: Option<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    missing_ok: bool,
    max_details: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Php {
    Fpm,
    Module,
    Unknown,
}

impl Spec for HtaccessSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let php = match self.php_handler.as_ref().map(|p| p.get_ref().as_str()) {
            None | Some("auto") => None,
            Some("fpm") => Some(Php::Fpm),
            Some("module") => Some(Php::Module),
            Some(_) => {
                let span = self.php_handler.map_or(0..0, |p| p.span());
                return Err(SpanError::new(
                    span,
                    "php_handler: expected \"auto\", \"fpm\" or \"module\"",
                ));
            }
        };
        for s in &self.from_config {
            if s.get_ref() != "apache" {
                return Err(SpanError::new(
                    s.span(),
                    "from_config: only \"apache\" reads .htaccess files",
                ));
            }
        }
        if self.path.is_none() && self.from_config.is_empty() {
            return Err(SpanError {
                span: None,
                message: "an htaccess check needs `path` or `from_config = [\"apache\"]`".into(),
            });
        }
        Ok(Arc::new(Htaccess {
            path: self.path,
            from_apache: !self.from_config.is_empty(),
            php,
            exclude: Excludes::parse(&self.exclude)?,
            missing_ok: self.missing_ok,
            max_details: max_details(&self.max_details)?,
        }))
    }
}

#[derive(Debug)]
struct Htaccess {
    path: Option<PathBuf>,
    /// Also the document roots Apache's configuration serves.
    from_apache: bool,
    php: Option<Php>,
    exclude: Excludes,
    missing_ok: bool,
    max_details: usize,
}

/// mod_php is loaded when Apache's module configuration enables it.
fn detect_php() -> Php {
    let enabled = |dir: &str, needle: &str| {
        std::fs::read_dir(dir).is_ok_and(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().contains(needle))
        })
    };
    if enabled("/etc/apache2/mods-enabled", "php")
        || enabled("/etc/httpd/conf.modules.d", "php")
            && !enabled("/etc/httpd/conf.modules.d", "php-fpm")
    {
        Php::Module
    } else if crate::webstack::installed_named("php-fpm").next().is_some() {
        Php::Fpm
    } else {
        Php::Unknown
    }
}

/// Directives of core Apache and the common modules, lower case.
pub(crate) const KNOWN: &[&str] = &[
    // core
    "acceptpathinfo",
    "adddefaultcharset",
    "allowencodedslashes",
    "cgipassauth",
    "cgivar",
    "contentdigest",
    "defaulttype",
    "define",
    "errordocument",
    "fileetag",
    "forcetype",
    "limitrequestbody",
    "limitxmlrequestbody",
    "options",
    "sethandler",
    "setinputfilter",
    "setoutputfilter",
    "serversignature",
    "usecanonicalname",
    "usecanonicalphysicalport",
    "rlimitcpu",
    "rlimitmem",
    "rlimitnproc",
    // mod_rewrite, mod_alias
    "rewriteengine",
    "rewriterule",
    "rewritecond",
    "rewritebase",
    "rewriteoptions",
    "redirect",
    "redirectmatch",
    "redirectpermanent",
    "redirecttemp",
    // mod_mime, mod_mime_magic, mod_negotiation, mod_charset_lite
    "addtype",
    "addhandler",
    "addcharset",
    "addencoding",
    "addlanguage",
    "addinputfilter",
    "addoutputfilter",
    "removehandler",
    "removetype",
    "removeencoding",
    "removecharset",
    "removelanguage",
    "removeinputfilter",
    "removeoutputfilter",
    "defaultlanguage",
    "multiviewsmatch",
    "modmimeusepathinfo",
    "languagepriority",
    "forcelanguagepriority",
    "charsetsourceenc",
    "charsetdefault",
    // mod_dir, mod_autoindex
    "directoryindex",
    "directoryslash",
    "fallbackresource",
    "directorycheckhandler",
    "directoryindexredirect",
    "indexoptions",
    "indexignore",
    "indexignorereset",
    "indexorderdefault",
    "indexstylesheet",
    "indexheadinsert",
    "headername",
    "readmename",
    "adddescription",
    "addicon",
    "addiconbytype",
    "addiconbyencoding",
    "addalt",
    "addaltbytype",
    "addaltbyencoding",
    "defaulticon",
    // auth and access
    "require",
    "satisfy",
    "order",
    "allow",
    "deny",
    "authtype",
    "authname",
    "authuserfile",
    "authgroupfile",
    "authbasicprovider",
    "authbasicauthoritative",
    "authbasicfake",
    "authbasicusedigestalgorithm",
    "authdigestprovider",
    "authdigestdomain",
    "authmerging",
    "authzdbmtype",
    "authdbmuserfile",
    "authdbmgroupfile",
    "authformprovider",
    "authzsendforbiddenonfailure",
    // headers, expires, deflate, filter, env, setenvif
    "header",
    "requestheader",
    "expiresactive",
    "expiresbytype",
    "expiresdefault",
    "addoutputfilterbytype",
    "deflatecompressionlevel",
    "filterdeclare",
    "filterprovider",
    "filterchain",
    "filtertrace",
    "filterprotocol",
    "setenv",
    "unsetenv",
    "passenv",
    "setenvif",
    "setenvifnocase",
    "setenvifexpr",
    "browsermatch",
    "browsermatchnocase",
    // ssl, include, cgi, substitute, security-ish, speling, cache, brotli
    "ssloptions",
    "sslrequiressl",
    "sslrequire",
    "xbithack",
    "ssierrormsg",
    "ssitimeformat",
    "ssilegacyexprparser",
    "substitute",
    "substituteinheritbefore",
    "substitutemaxlinelength",
    "checkspelling",
    "checkcaseonly",
    "checkbasenamematch",
    "cachedisable",
    "cacheenable",
    "brotlicompressionquality",
    "scriptinterpretersource",
    "contentdigest",
    "limitexcept",
    "session",
    "sessioncookiename",
    "sessioncryptopassphrase",
    "keptbodysize",
    "proxypass",
    "loglevel",
    // mod_php (judged separately)
    "php_value",
    "php_flag",
    "php_admin_value",
    "php_admin_flag",
];

/// Sections that may be opened in .htaccess.
const SECTIONS: &[&str] = &[
    "ifmodule",
    "ifdefine",
    "ifversion",
    "ifdirective",
    "ifsection",
    "iffile",
    "files",
    "filesmatch",
    "limit",
    "limitexcept",
    "if",
    "elseif",
    "else",
    "requireall",
    "requireany",
    "requirenone",
    "authnprovideralias",
    "authzprovideralias",
];

/// Lint one file's text; `sink` receives (line, status, key, label, what, fix).
fn lint(
    text: &str,
    php: Php,
    mut sink: impl FnMut(usize, Status, &'static str, &'static str, String, String),
) {
    let mut stack: Vec<(String, usize)> = Vec::new();
    // Open <IfModule> sections, counted so each directive costs the same however deep.
    let mut in_ifmodules = 0usize;
    // Spelling suggestions, once per distinct word and for a bounded number of words: a
    // hostile file of a million made-up directives costs no more than a few hundred.
    let mut near: std::collections::HashMap<String, Option<String>> = Default::default();
    let mut engine_on = false;
    let mut rewrite_warned = false;
    let mut logical = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim_end();
        if logical.is_empty() {
            start = n;
        }
        if let Some(cont) = trimmed.strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            continue;
        }
        logical.push_str(trimmed);
        let line = std::mem::take(&mut logical);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(close) = line.strip_prefix("</") {
            let name = close.trim_end_matches('>').trim().to_ascii_lowercase();
            match stack.pop() {
                Some((open, _)) if open == name => {
                    if open == "ifmodule" {
                        in_ifmodules -= 1;
                    }
                }
                Some((open, at)) => {
                    sink(
                        start,
                        Status::Fail,
                        "sections",
                        "unbalanced sections",
                        format!("`</{name}>` closes `<{open}>` opened at line {at}"),
                        format!("close `<{open}>` with `</{open}>` before line {start}"),
                    );
                    stack.push((open, at));
                }
                None => sink(
                    start,
                    Status::Fail,
                    "sections",
                    "unbalanced sections",
                    format!("`</{name}>` closes nothing"),
                    format!("remove line {start} or add the opening `<{name} …>`"),
                ),
            }
            continue;
        }
        if let Some(open) = line.strip_prefix('<') {
            let name = open
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if [
                "directory",
                "directorymatch",
                "virtualhost",
                "location",
                "locationmatch",
            ]
            .contains(&name.as_str())
            {
                sink(
                    start,
                    Status::Fail,
                    "not-here",
                    "not allowed in .htaccess",
                    format!("`<{name}>` is not allowed in .htaccess (Apache answers 500)"),
                    "move it to the server configuration, or use <Files>/<If> here".into(),
                );
            } else if !SECTIONS.contains(&name.as_str()) {
                sink(
                    start,
                    Status::Warn,
                    "unknown",
                    "unknown directives",
                    format!("`<{name}>` is not a section Apache knows in .htaccess"),
                    "check its spelling".into(),
                );
            }
            if name == "ifmodule" {
                in_ifmodules += 1;
            }
            stack.push((name, start));
            continue;
        }
        let word = line.split_whitespace().next().unwrap_or("");
        let key = word.to_ascii_lowercase();
        let in_ifmodule = in_ifmodules > 0;
        match key.as_str() {
            "rewriteengine" => {
                engine_on = line
                    .split_whitespace()
                    .nth(1)
                    .is_some_and(|v| v.eq_ignore_ascii_case("on"))
            }
            "rewriterule" | "rewritecond" | "rewritebase" if !engine_on && !rewrite_warned => {
                rewrite_warned = true;
                sink(
                    start,
                    Status::Warn,
                    "rewrite-off",
                    "rewrite rules with the engine off",
                    format!(
                        "`{word}` with no `RewriteEngine On` before it: the rewrite rules are ignored"
                    ),
                    format!("add `RewriteEngine On` before line {start}"),
                );
            }
            "php_value" | "php_flag" | "php_admin_value" | "php_admin_flag"
                if php != Php::Module && !in_ifmodule =>
            {
                let setting = line.split_whitespace().nth(1).unwrap_or("the setting");
                let value = line.split_whitespace().nth(2).unwrap_or("…");
                let (status, what) = match php {
                    Php::Fpm => (
                        Status::Fail,
                        format!(
                            "`{word}` but PHP runs under PHP-FPM, without mod_php: Apache answers 500 (Invalid command '{word}')"
                        ),
                    ),
                    _ => (
                        Status::Warn,
                        format!(
                            "`{word}` works only with mod_php; where PHP runs under PHP-FPM, Apache answers 500"
                        ),
                    ),
                };
                sink(
                    start,
                    status,
                    "php-value",
                    "php_value without mod_php",
                    what,
                    format!(
                        "move it to .user.ini beside it: `{setting} = {value}` (or to the FPM pool: `php_admin_value[{setting}] = {value}`)"
                    ),
                );
            }
            k if !KNOWN.contains(&k) => {
                // Inside <IfModule> a directive of a module not loaded is never read, but a
                // misspelled one is still a typo: Apache answers 500 once the module loads.
                let suggestion = match near.get(&key) {
                    Some(s) => s.clone(),
                    None if near.len() < 256 => {
                        let s = super::log_finding::nearest_directive(word);
                        near.insert(key.clone(), s.clone());
                        s
                    }
                    None => None,
                };
                match (suggestion, in_ifmodule) {
                    (Some(right), _) => sink(
                        start,
                        Status::Fail,
                        "unknown",
                        "unknown directives",
                        format!(
                            "`{word}` is a misspelling of `{right}`: Apache answers 500 (Invalid command '{word}')"
                        ),
                        format!("line {start}: `{word}` → `{right}`"),
                    ),
                    (None, true) => {}
                    (None, false) => sink(
                        start,
                        Status::Warn,
                        "unknown",
                        "unknown directives",
                        format!(
                            "`{word}` is neither core Apache nor from a common module: if no loaded module provides it, Apache answers 500 (Invalid command)"
                        ),
                        "check its spelling, or wrap it in `<IfModule …>` for the module that provides it".to_string(),
                    ),
                }
            }
            _ => {}
        }
    }
    for (open, at) in stack {
        sink(
            at,
            Status::Fail,
            "sections",
            "unbalanced sections",
            format!("`<{open}>` is never closed (Apache answers 500)"),
            format!("add `</{open}>` after its last directive"),
        );
    }
}

/// A `.htaccess` the walk found, read whole and capped, through the handle of the directory
/// that holds it and without following a symlink: a file swapped for a link to a root-only
/// file after the walk saw it is refused, not read. The root itself was named by the user.
fn read(e: &Entry<'_>) -> Result<Vec<u8>, ReadError> {
    if e.depth == 0 {
        return read_capped(e.path, DEFAULT_CAP);
    }
    read_capped_at(e.at, e.at_name, DEFAULT_CAP)
}

/// What a lint finding is about: the directive it names (its text opens with it in
/// backticks) on that line of that file, or else the line itself.
fn subject_of(key: &str, what: &str, file: &str, line: usize) -> Subject {
    let named = what
        .strip_prefix('`')
        .and_then(|rest| rest.split_once('`'))
        .map(|(d, _)| d.trim_start_matches(['<', '/']).trim_end_matches('>'));
    match (key, named) {
        ("unknown" | "php-value", Some(d)) if !d.is_empty() => Subject::Directive {
            directive: d.to_string(),
            path: Some(file.to_string()),
            line: u32::try_from(line).ok(),
        },
        _ => Subject::Path {
            path: file.to_string(),
            line: u32::try_from(line).ok(),
        },
    }
}

struct HtVisitor<'a> {
    check: &'a Htaccess,
    /// The web root being searched.
    root: &'a std::path::Path,
    php: Php,
    findings: &'a Findings,
    files: std::sync::atomic::AtomicU64,
}

impl walk::Visitor<()> for HtVisitor<'_> {
    fn visit(&self, e: &Entry<'_>, _: ()) -> Option<()> {
        if e.depth > 0
            && !self.check.exclude.is_empty()
            && self.check.exclude.matches(self.root, e.path, e.name)
        {
            return None;
        }
        if e.meta.is_file() && e.name == ".htaccess" {
            self.files
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let shown = sanitize::path(e.path);
            match read(e) {
                Ok(bytes) => lint(
                    &String::from_utf8_lossy(&bytes),
                    self.php,
                    |line, status, key, label, what, fix| {
                        let subject = subject_of(key, &what, &shown, line);
                        self.findings.add_about(
                            Finding {
                                key,
                                label,
                                status,
                                path: format!("{shown}:{line}"),
                                what,
                                fix: Some(fix),
                                automatic: false,
                            },
                            subject,
                        );
                    },
                ),
                Err(err) => self.findings.add(Finding {
                    key: "unchecked",
                    label: "not checked (unreadable)",
                    status: Status::Warn,
                    what: format!("not read: {err}"),
                    path: shown,
                    fix: None,
                    automatic: false,
                }),
            }
        }
        e.meta.is_dir().then_some(())
    }

    fn error(&self, error: WalkError) {
        self.findings.unchecked(&error);
    }
}

impl Htaccess {
    /// The web roots to search: `path`, and Apache's document roots when asked.
    fn roots(&self) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = self.path.iter().cloned().collect();
        if self.from_apache {
            roots.extend(
                crate::webstack::installed_named("apache")
                    .flat_map(|a| a.roots.iter().cloned())
                    .filter(|r| r.is_dir()),
            );
        }
        roots.sort();
        roots.dedup();
        roots
    }
}

impl Check for Htaccess {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        if self.path.is_none() && crate::webstack::installed_named("apache").next().is_none() {
            return Ok(Outcome::skip("Apache is not installed"));
        }
        let mut roots = self.roots();
        if self.missing_ok {
            roots.retain(|r| r.exists());
        }
        if roots.is_empty() {
            return Ok(Outcome::skip(match &self.path {
                Some(p) => format!("{} does not exist", sanitize::path(p)),
                None => "Apache's configuration names no web root that exists".into(),
            }));
        }
        let findings = Findings::recording(self.max_details, Cause::Config);
        let php = self.php.unwrap_or_else(detect_php);
        let opts = walk_options(ctx, true);
        let mut files = 0;
        let mut complete = true;
        for root in &roots {
            let v = HtVisitor {
                check: self,
                root,
                php,
                findings: &findings,
                files: 0.into(),
            };
            let stats =
                walk::walk(root, (), &v, &opts).map_err(|e| anyhow::anyhow!(e.describe()))?;
            files += v.files.into_inner();
            complete &= stats.complete;
        }
        let shown = roots
            .iter()
            .map(|r| sanitize::path(r))
            .collect::<Vec<_>>()
            .join(", ");
        let clean = match files {
            0 => format!("no .htaccess files under {shown}"),
            n => format!("{n} .htaccess file(s) under {shown}, no problems"),
        };
        let mut out = findings.into_outcome(
            &ctx.id,
            clean,
            &format!("in {files} .htaccess file(s) under {shown}"),
        );
        out.metrics
            .insert(0, Metric::new("files", files as f64, ""));
        if !complete {
            out.status = out.status.worse(Status::Warn);
            out.details
                .push("the search stopped at the time limit: raise `timeout`".into());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, php: Php) -> Vec<(usize, Status, &'static str)> {
        let mut v = Vec::new();
        lint(text, php, |l, s, k, _, _, _| v.push((l, s, k)));
        v
    }

    fn check_of(path: &std::path::Path) -> Htaccess {
        Htaccess {
            path: Some(path.to_path_buf()),
            from_apache: false,
            php: Some(Php::Fpm),
            exclude: Excludes::default(),
            missing_ok: false,
            max_details: 50,
        }
    }

    fn run_check(c: &Htaccess) -> Outcome {
        let ctx = Ctx::new("h", Duration::from_secs(10), Duration::from_secs(10));
        c.run(&ctx).unwrap()
    }

    use std::time::Duration;

    #[test]
    fn a_htaccess_swapped_for_a_symlink_is_never_read_through_it() {
        let t = tempfile::tempdir().unwrap();
        let secret = t.path().join("shadow");
        std::fs::write(&secret, "SecretWord hunter2\n").unwrap();
        let root = t.path().join("www");
        std::fs::create_dir(&root).unwrap();
        let target = root.join(".htaccess");
        std::fs::write(&target, "Options -Indexes\n").unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            // Swap the file for a link to the secret and back, as fast as it goes.
            s.spawn(|| {
                let (link, file) = (root.join("l.tmp"), root.join("f.tmp"));
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::os::unix::fs::symlink(&secret, &link);
                    let _ = std::fs::rename(&link, &target);
                    let _ = std::fs::write(&file, "Options -Indexes\n");
                    let _ = std::fs::rename(&file, &target);
                }
            });
            let c = check_of(&root);
            let began = std::time::Instant::now();
            let mut runs = 0;
            while runs < 1000 && began.elapsed() < Duration::from_secs(2) {
                runs += 1;
                let out = run_check(&c);
                let all = format!("{} {:?}", out.summary, out.details);
                if all.contains("SecretWord") {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    panic!("run {runs} read the symlink's target: {all}");
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }

    #[test]
    fn a_huge_htaccess_is_refused_not_read() {
        let t = tempfile::tempdir().unwrap();
        let big = "# comment\n".repeat(DEFAULT_CAP as usize / 10 + 1);
        std::fs::write(t.path().join(".htaccess"), big + "Optons x\n").unwrap();
        let out = run_check(&check_of(t.path()));
        assert_eq!(out.status, Status::Warn, "{out:?}");
        assert!(
            out.details
                .iter()
                .any(|d| d.contains("not read: larger than 4.0 MiB (refusing to read more)")),
            "{out:?}"
        );
        assert!(!out.details.iter().any(|d| d.contains("Optons")), "{out:?}");
    }

    #[test]
    fn deep_sections_cost_linear_time() {
        let mut text = "<Files a>\n".repeat(100_000);
        text += &"Optons x\n".repeat(100_000);
        let began = std::time::Instant::now();
        let mut n = 0;
        lint(&text, Php::Fpm, |_, _, _, _, _, _| n += 1);
        assert_eq!(n, 200_000, "each directive and each unclosed section");
        // Linear takes well under a second here; the quadratic cost it replaced took 94 s.
        // The bound leaves room for a machine busy with the rest of the suite.
        assert!(
            began.elapsed() < Duration::from_secs(15),
            "{:?}",
            began.elapsed()
        );
    }

    /// Random bytes, and files made of pieces of real ones in random order, cut anywhere:
    /// the lint returns, quickly, whatever it is given.
    #[test]
    fn any_bytes_lint_without_panic_in_bounded_time() {
        use proptest::prelude::*;
        const PIECES: &[&str] = &[
            "<IfModule mod_rewrite.c>",
            "</IfModule>",
            "<Files \"x\">",
            "</Files>",
            "</",
            "<",
            ">",
            "RewriteEngine On",
            "RewriteRule ^index\\.php$ - [L]",
            "php_value upload_max_filesize 64M",
            "php_flag",
            "Header set X-A \\",
            "\\",
            "# comment",
            "<Directory /var/www>",
            "Optons -Indexes",
            "\u{e9}\u{202e}\u{1b}[31m",
            " ",
            "\t",
            "\r",
        ];
        let line = prop_oneof![
            prop::sample::select(PIECES).prop_map(str::to_string),
            prop::collection::vec(any::<u8>(), 0..40)
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ];
        let text =
            prop::collection::vec(prop::collection::vec(line, 1..4), 0..40).prop_map(|lines| {
                lines
                    .iter()
                    .map(|parts| parts.concat())
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        let config = proptest::test_runner::Config {
            cases: 256,
            failure_persistence: None,
            ..Default::default()
        };
        proptest!(config, |(text in text, fpm in any::<bool>())| {
            let began = std::time::Instant::now();
            let php = if fpm { Php::Fpm } else { Php::Unknown };
            let mut n = 0usize;
            lint(&text, php, |_, _, _, _, what, fix| n += what.len() + fix.len());
            prop_assert!(began.elapsed() < Duration::from_secs(1));
        });
    }

    #[test]
    fn the_classic_mistakes() {
        let wp = "# BEGIN WordPress\n<IfModule mod_rewrite.c>\nRewriteEngine On\nRewriteBase /\nRewriteRule ^index\\.php$ - [L]\nRewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule . /index.php [L]\n</IfModule>\n# END WordPress\n";
        assert!(run(wp, Php::Fpm).is_empty());
        assert_eq!(
            run("RewriteRule ^a$ /b [L]\nRewriteEngine On\n", Php::Fpm),
            vec![(1, Status::Warn, "rewrite-off")]
        );
        assert_eq!(
            run("<IfModule mod_rewrite.c>\nRewriteEngine On\n", Php::Fpm),
            vec![(1, Status::Fail, "sections")]
        );
        assert_eq!(
            run("<Files x>\n</IfModule>\n", Php::Fpm)[0],
            (2, Status::Fail, "sections")
        );
        assert_eq!(
            run("php_value upload_max_filesize 64M\n", Php::Fpm),
            vec![(1, Status::Fail, "php-value")]
        );
        assert!(run("php_value upload_max_filesize 64M\n", Php::Module).is_empty());
        assert_eq!(
            run("php_flag display_errors off\n", Php::Unknown),
            vec![(1, Status::Warn, "php-value")]
        );
        assert_eq!(
            run("Optons -Indexes\n", Php::Fpm),
            vec![(1, Status::Fail, "unknown")],
            "a misspelling of a known directive"
        );
        assert_eq!(
            run("Fancydirective on\n", Php::Fpm),
            vec![(1, Status::Warn, "unknown")]
        );
        assert_eq!(
            run(
                "<IfModule mod_rewrite.c>\nRewriteEngin On\nModPagespeed on\n</IfModule>\n",
                Php::Fpm
            ),
            vec![(2, Status::Fail, "unknown")],
            "a typo inside <IfModule> is seen; a module's own directive is not"
        );
        assert!(
            run(
                "<IfModule pagespeed_module>\nModPagespeed on\n</IfModule>\n",
                Php::Fpm
            )
            .is_empty()
        );
        assert_eq!(
            run("<Directory /var/www>\n</Directory>\n", Php::Fpm),
            vec![(1, Status::Fail, "not-here")]
        );
        assert!(
            run("Header set X-A \\\n  \"b\"\n", Php::Fpm).is_empty(),
            "continued lines"
        );
    }
}
