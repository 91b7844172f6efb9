//! `--output` never destroys what is not a report: inherited descriptors, FIFOs and character
//! devices are written as they are; directories, block devices, sockets and another user's
//! symlinks anywhere on the way are refused with exit 74; every write error reads "cannot write
//! PATH". A replaced report keeps its mode (and, as root, its owner).

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::testenv::{Output, TestEnv, as_nobody, run_command, selftest};

/// What a one-check passing run prints with `--format tap`.
const TAP: &str = "TAP version 13\n1..1\nok 1 - a: selftest\n";

fn env() -> TestEnv {
    TestEnv::new().config(&selftest("a", "result = \"pass\""))
}

/// The refusal of nobody's symlink at `link`.
fn foreign(link: &Path) -> String {
    format!(
        "{} is a symlink owned by nobody (uid 65534), who could point it anywhere; sitedoctor does not follow another user's symlink. Give the path it leads to, or write the report somewhere only root or you can change",
        link.display()
    )
}

fn mknod(path: &Path, kind: &str, major: u32, minor: u32) {
    let ok = Command::new("mknod")
        .arg(path)
        .args([kind, &major.to_string(), &minor.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "mknod {}", path.display());
}

/// Run `cmd` with its stdout a connected unix socket (as under systemd) and return what
/// arrived on the other end, with the run's exit code.
fn with_socket_stdout(mut cmd: Command) -> (String, Output) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    cmd.stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    drop(cmd);
    let mut got = String::new();
    let mut ours = ours;
    ours.read_to_string(&mut got).unwrap();
    let out = child.wait_with_output().unwrap();
    let out = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: Duration::ZERO,
    };
    (got, out)
}

#[test]
fn an_inherited_socket_descriptor_is_written_to() {
    let env = env();
    let (got, out) = with_socket_stdout(env.command(&["--format", "tap", "-o", "/dev/fd/1"]));
    out.expect_code(0);
    assert_eq!(got, TAP);
    // Any descriptor number, as `5>&1` passes it.
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!(
            "exec '{}' --format tap -o /dev/fd/5 5>&1",
            crate::testenv::bin().display()
        ))
        .current_dir(env.path())
        .env("SITEDOCTOR_SELFTEST", "1");
    let (got, out) = with_socket_stdout(sh);
    out.expect_code(0);
    assert_eq!(got, TAP);
}

#[test]
fn a_descriptor_that_is_not_open_is_a_clear_error() {
    let out = env().run(&["-o", "/dev/fd/9"]);
    out.expect_code(74);
    assert_eq!(
        out.stderr,
        "sitedoctor: cannot write /dev/fd/9: descriptor 9 is not open\n"
    );
}

#[test]
fn a_fifo_is_written_to_and_stays_a_fifo() {
    let env = env();
    let fifo = env.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read_to_string(reader));
    });
    // The reader is blocked opening the FIFO until a writer opens it: wait for that.
    let out = (0..500)
        .map(|_| env.run(&["--format", "tap", "-o", "fifo"]))
        .find(|o| o.code != 74 || !o.stderr.contains("no process is reading"))
        .expect("the reader opened the FIFO");
    out.expect_code(0);
    let got = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the reader got the report");
    assert_eq!(got.unwrap(), TAP);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn a_fifo_without_a_reader_is_refused_promptly() {
    let env = env();
    nix::unistd::mkfifo(
        &env.path().join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let out = env.run(&["-o", "fifo"]);
    out.expect_code(74);
    assert_eq!(
        out.stderr,
        "sitedoctor: cannot write fifo: it is a FIFO and no process is reading from it (start the reader first)\n"
    );
    let ft = std::fs::symlink_metadata(env.path().join("fifo"))
        .unwrap()
        .file_type();
    assert!(ft.is_fifo());
}

#[test]
fn a_character_device_is_written_as_it_is() {
    let env = env();
    // Our own nodes, never the machine's /dev: a null device and a full one.
    mknod(&env.path().join("null"), "c", 1, 3);
    mknod(&env.path().join("full"), "c", 1, 7);
    env.run(&["-o", "null"]).expect_code(0);
    let ft = std::fs::symlink_metadata(env.path().join("null"))
        .unwrap()
        .file_type();
    assert!(ft.is_char_device(), "the device was replaced");
    let out = env.run(&["-o", "full"]);
    out.expect_code(74);
    assert_eq!(
        out.stderr,
        "sitedoctor: cannot write full: No space left on device\n"
    );
}

#[test]
fn a_link_another_user_owns_is_not_written_through_to_a_device() {
    let env = env();
    // The directory of a report may belong to a deploy user, who could aim a link at
    // /dev/port; here a null device of our own stands in for it.
    mknod(&env.path().join("null"), "c", 1, 3);
    let link = env.path().join("report.txt");
    std::os::unix::fs::symlink(env.path().join("null"), &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
    let out = env.run(&["-o", "report.txt"]);
    out.expect_code(74);
    assert_eq!(
        out.stderr,
        format!("sitedoctor: cannot write report.txt: {}\n", foreign(&link))
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Root's own link is written through, and stays a link.
    std::os::unix::fs::lchown(&link, Some(0), Some(0)).unwrap();
    env.run(&["-o", "report.txt"]).expect_code(0);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_directory_a_block_device_and_a_socket_are_refused() {
    let env = env();
    std::fs::create_dir(env.path().join("dir")).unwrap();
    mknod(&env.path().join("disk"), "b", 7, 200);
    let _listener = std::os::unix::net::UnixListener::bind(env.path().join("sock")).unwrap();
    for (name, why) in [
        (
            "dir",
            "it is a directory: give a file name inside it, like DIR/report.txt",
        ),
        (
            "disk",
            "it is a block device (a disk): refusing to write a report over it",
        ),
        (
            "sock",
            "it is a socket: the report goes to a file, a FIFO or a character device",
        ),
    ] {
        let out = env.run(&["-o", name]);
        out.expect_code(74);
        assert_eq!(
            out.stderr,
            format!("sitedoctor: cannot write {name}: {why}\n")
        );
    }
    let kind = |n: &str| {
        std::fs::symlink_metadata(env.path().join(n))
            .unwrap()
            .file_type()
    };
    assert!(kind("dir").is_dir() && kind("disk").is_block_device() && kind("sock").is_socket());
}

#[test]
fn a_symlink_another_user_planted_in_a_sticky_directory_is_not_followed() {
    let env = env();
    let shared = env.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let precious = env.path().join("precious");
    std::fs::write(&precious, "root's own file\n").unwrap();
    std::fs::create_dir(env.path().join("rootdir")).unwrap();
    for (name, target) in [
        ("report.txt", precious.clone()),
        ("reports", env.path().join("rootdir")),
    ] {
        let link = shared.join(name);
        std::os::unix::fs::symlink(target, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
    }
    for (path, link) in [
        ("shared/report.txt", "shared/report.txt"),
        ("shared/reports/report.txt", "shared/reports"),
    ] {
        let out = env.run(&["-o", path]);
        out.expect_code(74);
        let link = foreign(&env.path().join(link));
        assert_eq!(
            out.stderr,
            format!("sitedoctor: cannot write {path}: {link}\n")
        );
    }
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "root's own file\n"
    );
    assert!(
        std::fs::symlink_metadata(shared.join("report.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_dir(env.path().join("rootdir"))
            .unwrap()
            .count(),
        0
    );
    // A link of our own in the same directory is fine: it is replaced by the report.
    std::os::unix::fs::symlink(&precious, shared.join("mine")).unwrap();
    env.run(&["--format", "tap", "-o", "shared/mine"])
        .expect_code(0);
    assert_eq!(std::fs::read_to_string(shared.join("mine")).unwrap(), TAP);
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "root's own file\n"
    );
}

#[test]
fn an_unwritable_directory_exits_74_without_naming_the_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("checks.toml");
    std::fs::write(&config, selftest("a", "result = \"pass\"")).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let target = dir.path().join("report.txt");
    let mut c = as_nobody();
    c.arg("--config")
        .arg(&config)
        .arg("--output")
        .arg(&target)
        .env("SITEDOCTOR_SELFTEST", "1");
    let out = run_command(c);
    out.expect_code(74);
    assert_eq!(
        out.stderr,
        format!(
            "sitedoctor: cannot write {}: Permission denied (cannot create a file in {})\n",
            target.display(),
            dir.path().display()
        )
    );
    assert!(!target.exists());
}

/// Run with umask 077 and `--format tap -o report.txt`.
fn run_under_umask_077(env: &TestEnv) {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "umask 077; exec '{}' --format tap -o report.txt",
            crate::testenv::bin().display()
        ))
        .current_dir(env.path())
        .env("SITEDOCTOR_SELFTEST", "1");
    run_command(c).expect_code(0);
}

fn mode_of(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_new_report_is_mode_644_whatever_the_umask() {
    let env = env();
    // node_exporter, running as its own user, must be able to read it.
    run_under_umask_077(&env);
    let report = env.path().join("report.txt");
    assert_eq!(std::fs::read_to_string(&report).unwrap(), TAP);
    assert_eq!(mode_of(&report), 0o644);
}

#[test]
fn a_replaced_report_keeps_the_mode_the_admin_gave_it() {
    let env = env();
    let report = env.file("report.txt", "the old report\n");
    for mode in [0o600, 0o640, 0o4755] {
        std::fs::set_permissions(&report, std::fs::Permissions::from_mode(mode)).unwrap();
        run_under_umask_077(&env);
        assert_eq!(std::fs::read_to_string(&report).unwrap(), TAP);
        // Never setuid: a report is no program.
        assert_eq!(mode_of(&report), mode & 0o777, "{mode:o}");
    }
}

#[test]
fn as_root_a_replaced_report_keeps_its_owner_and_group() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (to give a file to nobody)");
        return;
    }
    let env = env();
    // A textfile collector's file, owned by its user and readable only by it.
    let report = env.file("report.txt", "the old report\n");
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::lchown(&report, Some(65534), Some(65534)).unwrap();
    run_under_umask_077(&env);
    let meta = std::fs::metadata(&report).unwrap();
    assert_eq!(std::fs::read_to_string(&report).unwrap(), TAP);
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    assert_eq!(mode_of(&report), 0o640);
}

#[test]
fn another_users_symlink_in_their_own_directory_is_not_followed() {
    // nd2 belongs to a deploy user (not sticky, not shared); their link in it leads to a
    // directory only root may enter.
    let env = env();
    let rootonly = env.path().join("rootonlydir");
    std::fs::create_dir(&rootonly).unwrap();
    std::fs::set_permissions(&rootonly, std::fs::Permissions::from_mode(0o700)).unwrap();
    let nd2 = env.path().join("nd2");
    std::fs::create_dir(&nd2).unwrap();
    let link = nd2.join("textfile");
    std::os::unix::fs::symlink(&rootonly, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
    std::os::unix::fs::lchown(&nd2, Some(65534), Some(65534)).unwrap();
    let path = "nd2/textfile/sitedoctor.prom";
    let out = env.run(&["-f", "prometheus", "-o", path]);
    out.expect_code(74);
    assert_eq!(
        out.stderr,
        format!("sitedoctor: cannot write {path}: {}\n", foreign(&link))
    );
    assert_eq!(std::fs::read_dir(&rootonly).unwrap().count(), 0);
    // Through a link root owns that leads there, reached by another, the same is refused.
    let mine = env.path().join("mine");
    std::os::unix::fs::symlink("nd2/textfile", &mine).unwrap();
    let out = env.run(&["-f", "prometheus", "-o", "mine/sitedoctor.prom"]);
    out.expect_code(74);
    assert!(out.stderr.contains(&foreign(&link)), "{}", out.stderr);
    assert_eq!(std::fs::read_dir(&rootonly).unwrap().count(), 0);
    // Root's own link is followed.
    std::os::unix::fs::lchown(&link, Some(0), Some(0)).unwrap();
    env.run(&["-f", "prometheus", "-o", path]).expect_code(0);
    assert!(rootonly.join("sitedoctor.prom").is_file());
}

#[test]
fn init_write_errors_exit_74() {
    let env = TestEnv::new();
    std::fs::create_dir(env.path().join("dir")).unwrap();
    let out = env.run(&["init", "--force", "dir"]);
    out.expect_code(74);
    assert_eq!(
        out.stderr,
        "sitedoctor: cannot write dir: it is a directory: give a file name inside it, like DIR/report.txt\n"
    );
}
