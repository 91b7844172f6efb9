//! `sitedoctor fix [--apply]`: every check's automatic fixes, merged into one mode change per
//! file (one that satisfies every check's policy), shown or applied; then the checks that
//! called for any are run again. Each check's scan runs under its deadline on a thread of its
//! own, so a hung or panicking check is an error for that check and the others go on.
//!
//! Two passes: the first plans (who wants what for which inode, and whether any root is not
//! ours to change), the second prints or applies the merged change the first time it meets
//! each inode. Only a few numbers per inode are kept, never a directory handle.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::check::Status;
use crate::cli::Cli;
use crate::config::CheckSpec;
use crate::exit::Exit;
use crate::fixes::ModeFix;
use crate::render::{self, RenderOptions};
use crate::runner::{self, RunOptions};
use crate::sanitize;

/// An inode, and its mode when examined: a change of mode between the passes makes it another
/// key, planned afresh.
type Key = (u64, u64, u32);

/// What every check wants for one inode.
#[derive(Debug)]
struct Merge {
    /// The bits every check keeps (AND of their new modes).
    keep: u32,
    /// The bits some check adds.
    add: u32,
    /// What every check's policy allows (AND of their ceilings).
    ceiling: u32,
    /// Which checks asked, and why.
    why: Vec<(usize, &'static str)>,
    /// Already shown or applied in the second pass.
    done: bool,
}

impl Merge {
    fn of(check: usize, f: &ModeFix<'_>) -> Merge {
        let mut m = Merge {
            keep: 0o7777,
            add: 0,
            ceiling: 0o7777,
            why: Vec::new(),
            done: false,
        };
        m.add(check, f);
        m
    }

    fn add(&mut self, check: usize, f: &ModeFix<'_>) {
        self.keep &= f.to;
        self.add |= f.to & !f.meta.perm();
        self.ceiling &= f.ceiling;
        if !self.why.contains(&(check, f.reason)) {
            self.why.push((check, f.reason));
        }
    }

    /// The one mode that removes what any check removes and adds only what every policy
    /// allows.
    fn to(&self, from: u32) -> u32 {
        (from & self.keep) | (self.add & self.ceiling & !from)
    }
}

#[derive(Default)]
struct Plan {
    merges: HashMap<Key, Merge>,
    /// Per check: the roots `--apply` must not touch, and why.
    refusals: BTreeMap<(usize, String), String>,
    offered: Vec<bool>,
}

#[derive(Default)]
struct Tally {
    commands: u64,
    by_hand: u64,
    changed: u64,
    not_changed: u64,
}

/// What the sinks of both passes share with the main thread.
struct Shared {
    plan: Mutex<Plan>,
    tally: Mutex<Tally>,
    ids: Vec<String>,
    apply: bool,
    /// `--format json`: the planned changes are collected here, not printed as lines.
    planned: Option<Mutex<Vec<serde_json::Value>>>,
}

/// Open while a check's scan may act; closed (under the same lock every action holds) when
/// its deadline passes, so a scan left behind changes and prints nothing more.
struct Gate(Mutex<bool>);

fn key(f: &ModeFix<'_>) -> Key {
    (f.meta.dev, f.meta.ino, f.meta.perm())
}

fn say(line: &str) {
    // A closed pipe only stops the printing; the fixes chosen still apply.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// How `fix` was asked to run.
pub struct FixOptions {
    pub apply: bool,
    /// Print the planned changes as one JSON object (never with `apply`).
    pub json: bool,
    /// Colour in the report shown after `--apply`.
    pub color: bool,
}

pub fn run(cli: &Cli, specs: &[CheckSpec], opts: FixOptions) -> Exit {
    let shared = Arc::new(Shared {
        plan: Mutex::new(Plan {
            offered: vec![false; specs.len()],
            ..Plan::default()
        }),
        tally: Mutex::new(Tally::default()),
        ids: specs.iter().map(|s| s.id.clone()).collect(),
        apply: opts.apply,
        planned: (opts.json && !opts.apply).then(|| Mutex::new(Vec::new())),
    });
    let mut errors = 0;
    let mut usable = vec![true; specs.len()];
    for (i, spec) in specs.iter().enumerate() {
        if let Err(e) = pass(spec, cli, &shared, i, plan_fix) {
            eprintln!("sitedoctor: {}: {e}; its fixes were not made", spec.id);
            errors += 1;
            usable[i] = false;
        }
    }
    let (refusals, offered) = {
        let plan = shared.plan.lock().expect("plan lock");
        let refusals: Vec<(String, String)> = plan
            .refusals
            .iter()
            .map(|((i, _), why)| (specs[*i].id.clone(), why.clone()))
            .collect();
        (refusals, plan.offered.clone())
    };
    if opts.apply && !refusals.is_empty() {
        for (id, why) in &refusals {
            eprintln!("sitedoctor: fix --apply refused, nothing was changed: check {id}: {why}");
        }
        eprintln!(
            "sitedoctor: see what it would do with `sitedoctor fix`, and leave such a check out with --skip ID"
        );
        return Exit::Config;
    }
    for (i, spec) in specs.iter().enumerate() {
        if usable[i]
            && let Err(e) = pass(spec, cli, &shared, i, emit_fix)
        {
            eprintln!("sitedoctor: {}: {e}", spec.id);
            errors += 1;
        }
    }
    let errors_status = if errors > 0 {
        Status::Error
    } else {
        Status::Pass
    };
    if let Some(planned) = &shared.planned {
        let changes = std::mem::take(&mut *planned.lock().expect("planned lock"));
        say_json(cli, changes, &refusals);
        return Exit::from_worst(errors_status, cli.fail_on);
    }
    if !summarize(cli, &shared, &refusals) {
        return Exit::from_worst(errors_status, cli.fail_on);
    }
    let affected: Vec<CheckSpec> = specs
        .iter()
        .zip(offered)
        .filter(|(_, o)| *o)
        .map(|(s, _)| s.clone())
        .collect();
    if !opts.apply || affected.is_empty() {
        return Exit::from_worst(errors_status, cli.fail_on);
    }
    say("\nThe affected checks now:");
    let report = runner::run(
        &affected,
        RunOptions {
            timeout: cli.timeout,
            jobs: cli.jobs as usize,
        },
    );
    let human = render::find("human").expect("the human format is registered");
    let ropts = RenderOptions {
        quiet: false,
        color: opts.color,
        verbose: cli.verbose,
        ..RenderOptions::default()
    };
    let _ = std::io::stdout()
        .lock()
        .write_all((human.render)(&report, &ropts).as_bytes());
    Exit::from_worst(report.worst.worse(errors_status), cli.fail_on)
}

type Step = fn(&Shared, usize, ModeFix<'_>);

/// One pass of one check's scan, isolated as the runner isolates checks.
fn pass(
    spec: &CheckSpec,
    cli: &Cli,
    shared: &Arc<Shared>,
    index: usize,
    step: Step,
) -> Result<(), String> {
    let gate = Arc::new(Gate(Mutex::new(true)));
    let (check, shared2, gate2) = (
        Arc::clone(&spec.check),
        Arc::clone(shared),
        Arc::clone(&gate),
    );
    let result = runner::isolated(spec, cli.timeout, move |ctx| {
        let sink = |f: ModeFix<'_>| {
            let open = gate2.0.lock().expect("gate lock");
            if *open {
                step(&shared2, index, f);
            }
        };
        check.mode_fixes(ctx, &sink).map(|_| ())
    });
    *gate.0.lock().expect("gate lock") = false;
    result
}

/// First pass: note what this check wants for this inode.
fn plan_fix(shared: &Shared, index: usize, f: ModeFix<'_>) {
    let mut plan = shared.plan.lock().expect("plan lock");
    plan.offered[index] = true;
    if let Some(why) = f.refusal() {
        plan.refusals
            .entry((index, sanitize::path(&f.root.path)))
            .or_insert(why);
    }
    match plan.merges.entry(key(&f)) {
        Entry::Occupied(mut e) => e.get_mut().add(index, &f),
        Entry::Vacant(e) => {
            e.insert(Merge::of(index, &f));
        }
    }
}

/// Second pass: the first time an inode is met, show or make its merged change.
fn emit_fix(shared: &Shared, index: usize, f: ModeFix<'_>) {
    let from = f.meta.perm();
    let (to, ceiling, why) = {
        let mut plan = shared.plan.lock().expect("plan lock");
        // Not planned: it changed or appeared since the first pass; this check alone decides.
        let m = plan
            .merges
            .entry(key(&f))
            .or_insert_with(|| Merge::of(index, &f));
        if m.done {
            return;
        }
        m.done = true;
        let why: Vec<String> = m
            .why
            .iter()
            .map(|(i, r)| format!("{}: {r}", shared.ids[*i]))
            .collect();
        if let Some(planned) = &shared.planned {
            let to = m.to(from);
            if to != from {
                let by: Vec<serde_json::Value> = m
                    .why
                    .iter()
                    .map(|(i, r)| serde_json::json!({ "check": shared.ids[*i], "reason": r }))
                    .collect();
                let fix = ModeFix { to, ..f };
                let hand = fix.by_hand();
                planned
                    .lock()
                    .expect("planned lock")
                    .push(serde_json::json!({
                        "path": sanitize::path(fix.path),
                        "from": format!("{from:o}"),
                        "to": format!("{to:o}"),
                        "command": fix.command(),
                        "automatic": hand.is_none(),
                        "by_hand": hand,
                        "why": by,
                    }));
            }
            return;
        }
        (m.to(from), m.ceiling, why.join("; "))
    };
    if to == from {
        return;
    }
    let fix = ModeFix { to, ceiling, ..f };
    let shown = sanitize::path(fix.path);
    let mut tally = shared.tally.lock().expect("tally lock");
    match (shared.apply, fix.by_hand()) {
        (false, Some(hand)) => {
            tally.by_hand += 1;
            say(&format!("# by hand: {}    # {why}; {hand}", fix.command()));
        }
        (false, None) => {
            tally.commands += 1;
            say(&format!("{}    # {why}; now {from:o}", fix.command()));
        }
        (true, _) => match fix.apply() {
            Ok(()) => {
                tally.changed += 1;
                say(&format!("changed {from:o} -> {to:o}  {shown}"));
            }
            Err(e) => {
                tally.not_changed += 1;
                say(&format!("not changed  {shown}: {e}"));
            }
        },
    }
}

/// `fix --format json`: the planned changes as one object (see the README).
fn say_json(cli: &Cli, changes: Vec<serde_json::Value>, refusals: &[(String, String)]) {
    let automatic = changes.iter().any(|c| c["automatic"] == true);
    let doc = serde_json::json!({
        "changes": changes,
        "refusals": refusals
            .iter()
            .map(|(id, why)| serde_json::json!({ "check": id, "reason": why }))
            .collect::<Vec<_>>(),
        "apply": automatic.then(|| format!("sitedoctor fix --apply{}", only_args(cli))),
    });
    let _ = std::io::stdout()
        .lock()
        .write_all(render::json_data(doc).as_bytes());
}

/// The closing lines. Returns whether anything was called for.
fn summarize(cli: &Cli, shared: &Shared, refusals: &[(String, String)]) -> bool {
    let t = shared.tally.lock().expect("tally lock");
    if t.commands + t.by_hand + t.changed + t.not_changed == 0 {
        say("nothing to fix: no automatic fixes are called for");
        return false;
    }
    if shared.apply {
        say(&format!(
            "{} change(s) made, {} not made",
            t.changed, t.not_changed
        ));
        return true;
    }
    if t.commands > 0 {
        say(&format!(
            "{} change(s) would be made; nothing was changed. Apply them with: sitedoctor fix --apply{}",
            t.commands,
            only_args(cli)
        ));
    }
    if t.by_hand > 0 {
        say(&format!(
            "{} change(s) left to you (the lines starting with #): --apply does not make them",
            t.by_hand
        ));
    }
    for (id, why) in refusals {
        say(&format!(
            "--apply would refuse (exit 78) and change nothing: check {id}: {why}"
        ));
    }
    true
}

/// The selection flags of this invocation, to repeat them in a suggested command.
fn only_args(cli: &Cli) -> String {
    let mut s = String::new();
    for c in &cli.config {
        s.push_str(&format!(" --config {}", crate::shell::shell_quote_path(c)));
    }
    s + &selection_args(cli)
}

/// ` --only A --skip B`, as typed again in a shell.
pub fn selection_args(cli: &Cli) -> String {
    let mut s = String::new();
    for o in &cli.only {
        s.push_str(&format!(" --only {}", crate::shell::shell_quote(o)));
    }
    for o in &cli.skip {
        s.push_str(&format!(" --skip {}", crate::shell::shell_quote(o)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Ctx, Outcome};
    use crate::checks::Check;
    use crate::walk::{Meta, Root};
    use clap::Parser;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    /// A check whose scan for fixes panics or never ends.
    #[derive(Debug)]
    struct Misbehaves(bool);

    /// A check that calls for `chmod 644 DIR/a`.
    #[derive(Debug)]
    struct OneFix(PathBuf);

    impl Check for Misbehaves {
        fn run(&self, _: &Ctx) -> anyhow::Result<Outcome> {
            Ok(Outcome::pass("fine"))
        }
        fn mode_fixes(&self, _: &Ctx, _: &(dyn Fn(ModeFix<'_>) + Sync)) -> anyhow::Result<bool> {
            if self.0 {
                panic!("boom");
            }
            std::thread::sleep(Duration::from_secs(30));
            Ok(true)
        }
    }

    impl Check for OneFix {
        fn run(&self, _: &Ctx) -> anyhow::Result<Outcome> {
            Ok(Outcome::pass("fine"))
        }
        fn mode_fixes(&self, _: &Ctx, sink: &(dyn Fn(ModeFix<'_>) + Sync)) -> anyhow::Result<bool> {
            let root = Root::open(&self.0).map_err(|e| anyhow::anyhow!(e.describe()))?;
            let st = rustix::fs::statat(&root.fd, "a", rustix::fs::AtFlags::SYMLINK_NOFOLLOW)?;
            let path = self.0.join("a");
            sink(ModeFix {
                at: &root.fd,
                name: std::ffi::OsStr::new("a"),
                path: &path,
                meta: Meta::from_stat(&st),
                to: 0o644,
                ceiling: 0o644,
                reason: "test",
                root: &root,
            });
            Ok(true)
        }
    }

    fn spec(id: &str, timeout: Duration, check: Arc<dyn Check>) -> CheckSpec {
        CheckSpec {
            id: id.into(),
            kind: crate::checks::find("permissions").expect("registered"),
            title: None,
            timeout: Some(timeout),
            severity: None,
            tags: vec![],
            enabled: true,
            origin: "test".into(),
            check,
        }
    }

    #[test]
    fn a_panicking_or_hung_check_is_an_error_and_the_others_are_fixed() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        std::fs::write(&a, "").unwrap();
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o666)).unwrap();
        let long = Duration::from_secs(10);
        let specs = [
            spec("panics", long, Arc::new(Misbehaves(true))),
            spec(
                "hangs",
                Duration::from_millis(300),
                Arc::new(Misbehaves(false)),
            ),
            spec("fixes", long, Arc::new(OneFix(t.path().to_path_buf()))),
        ];
        let cli = Cli::parse_from(["sitedoctor", "fix", "--apply"]);
        let started = Instant::now();
        let opts = FixOptions {
            apply: true,
            json: false,
            color: false,
        };
        assert_eq!(run(&cli, &specs, opts), Exit::Error);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the hung scan was not waited for"
        );
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644, "the check after them still applied its fix");
    }

    /// What two checks' fixes for one inode merge into.
    fn merged(from: u32, fixes: [(u32, u32); 2]) -> u32 {
        let t = tempfile::tempdir().unwrap();
        let root = Root::open(t.path()).unwrap();
        let meta = Meta {
            mode: 0o100000 | from,
            uid: 0,
            gid: 0,
            dev: 1,
            ino: 1,
            nlink: 1,
            ..Meta::default()
        };
        let fix = |(to, ceiling)| ModeFix {
            at: &root.fd,
            name: std::ffi::OsStr::new("a"),
            path: t.path(),
            meta,
            to,
            ceiling,
            reason: "test",
            root: &root,
        };
        let mut m = Merge::of(0, &fix(fixes[0]));
        m.add(1, &fix(fixes[1]));
        m.to(from)
    }

    #[test]
    fn merged_changes_satisfy_every_policy() {
        // A 0777 directory: a 755 policy and "no o+w" make 755, not 775.
        assert_eq!(merged(0o777, [(0o755, 0o755), (0o775, 0o7775)]), 0o755);
        // A 0602 file the web server cannot read: one adds o+r (within 644), one removes o+w.
        assert_eq!(merged(0o602, [(0o644, 0o644), (0o600, 0o7775)]), 0o644);
        // A bit one check adds is not added where another's policy forbids it.
        assert_eq!(merged(0o600, [(0o644, 0o644), (0o600, 0o600)]), 0o600);
    }
}
