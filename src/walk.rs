//! A parallel directory walk over directory handles. Every entry is examined with
//! `fstatat(AT_SYMLINK_NOFOLLOW)` relative to its directory's descriptor and every
//! directory is opened with `O_NOFOLLOW`, so symlinks are never followed (no loops), depth is
//! not limited by PATH_MAX, and nothing recurses on the stack.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

mod root;
pub use root::{Distrust, Root};

/// What a walk learns about one entry, without following it if it is a symlink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meta {
    /// Full `st_mode`: type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub dev: u64,
    pub ino: u64,
    /// Hard links: a mode belongs to the inode, so it is shared by every one of them.
    pub nlink: u64,
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// The nanoseconds of `mtime`.
    pub mtime_nsec: u32,
    /// The inode's change time, seconds and nanoseconds: unlike `mtime`, no tool can set it
    /// back, so a content change whose mtime was restored still shows here.
    pub ctime: i64,
    pub ctime_nsec: u32,
}

impl Meta {
    pub fn from_stat(st: &rustix::fs::Stat) -> Meta {
        Meta {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            dev: st.st_dev,
            ino: st.st_ino,
            #[allow(clippy::unnecessary_cast)] // u32 on some targets
            nlink: st.st_nlink as u64,
            size: st.st_size as u64,
            mtime: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec as u32,
            ctime: st.st_ctime,
            ctime_nsec: st.st_ctime_nsec as u32,
        }
    }

    pub fn file_type(&self) -> FileType {
        FileType::from_raw_mode(self.mode)
    }

    pub fn is_dir(&self) -> bool {
        self.file_type() == FileType::Directory
    }

    pub fn is_file(&self) -> bool {
        self.file_type() == FileType::RegularFile
    }

    /// Permission bits, setuid/setgid/sticky included.
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// One entry, as the visitor sees it.
pub struct Entry<'a> {
    pub path: &'a Path,
    pub name: &'a OsStr,
    /// The directory holding the entry, opened without following symlinks from the root,
    /// and the entry's name in it (`.` for the root): how a fix reaches exactly this entry.
    pub at: &'a OwnedFd,
    pub at_name: &'a OsStr,
    /// 0 for the root itself.
    pub depth: usize,
    pub meta: Meta,
}

/// Why part of the tree could not be examined.
#[derive(Debug, Clone)]
pub struct WalkError {
    pub path: PathBuf,
    pub errno: Errno,
}

impl WalkError {
    pub fn describe(&self) -> String {
        let path = crate::sanitize::path(&self.path);
        match self.errno {
            Errno::ACCESS | Errno::PERM => {
                format!("cannot read {path}: permission denied (run as root to check below it)")
            }
            Errno::MFILE | Errno::NFILE => {
                format!(
                    "cannot open {path}: too many open files (the tree is too deep for `ulimit -n`)"
                )
            }
            e => format!(
                "cannot read {path}: {}",
                crate::sys::io_reason(&std::io::Error::from(e))
            ),
        }
    }
}

/// Decides what to report and where to go. `S` is state handed from a directory to its
/// entries (for example: "the web server cannot get in here").
pub trait Visitor<S: Copy + Send>: Sync {
    /// Look at an entry. For a directory, return `Some(state)` to descend into it.
    fn visit(&self, entry: &Entry<'_>, state: S) -> Option<S>;
    /// Part of the tree could not be read; the walk goes on elsewhere.
    fn error(&self, error: WalkError);
}

pub struct Options {
    /// Do not descend into other filesystems.
    pub one_file_system: bool,
    /// Stop starting new directories after this moment.
    pub deadline: Option<Instant>,
    /// Worker threads.
    pub threads: usize,
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub entries: u64,
    pub complete: bool,
}

struct Job<S> {
    parent: Arc<OwnedFd>,
    name: OsString,
    path: PathBuf,
    depth: usize,
    state: S,
}

struct Queue<S> {
    jobs: Vec<Job<S>>,
    active: usize,
}

struct Shared<'v, S, V: ?Sized> {
    queue: Mutex<Queue<S>>,
    ready: Condvar,
    visitor: &'v V,
    opts: &'v Options,
    root_dev: u64,
    entries: AtomicU64,
    stopped: AtomicBool,
}

/// Walk `root` (which may itself be reached through a symlink: the user named it).
/// Errors opening the root are returned; errors below it go to the visitor.
pub fn walk<S, V>(root: &Path, state: S, visitor: &V, opts: &Options) -> Result<Stats, WalkError>
where
    S: Copy + Send,
    V: Visitor<S> + ?Sized,
{
    let fail = |errno| WalkError {
        path: root.to_path_buf(),
        errno,
    };
    let root_fd = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::empty(),
    )
    .map_err(fail)?;
    walk_fd(root_fd, root, state, visitor, opts)
}

/// Walk a root already resolved and opened by [`Root::open`], shown as its resolved path.
pub fn walk_root<S, V>(
    root: &Root,
    state: S,
    visitor: &V,
    opts: &Options,
) -> Result<Stats, WalkError>
where
    S: Copy + Send,
    V: Visitor<S> + ?Sized,
{
    let fd = root.fd.try_clone().map_err(|e| WalkError {
        path: root.path.clone(),
        errno: Errno::from_io_error(&e).unwrap_or(Errno::IO),
    })?;
    walk_fd(fd, &root.path, state, visitor, opts)
}

fn walk_fd<S, V>(
    root_fd: OwnedFd,
    root: &Path,
    state: S,
    visitor: &V,
    opts: &Options,
) -> Result<Stats, WalkError>
where
    S: Copy + Send,
    V: Visitor<S> + ?Sized,
{
    let fail = |errno| WalkError {
        path: root.to_path_buf(),
        errno,
    };
    let meta = Meta::from_stat(&rustix::fs::fstat(&root_fd).map_err(fail)?);
    let name = root.file_name().unwrap_or(root.as_os_str());
    let entry = Entry {
        path: root,
        name,
        at: &root_fd,
        at_name: OsStr::new("."),
        depth: 0,
        meta,
    };
    let Some(child_state) = visitor.visit(&entry, state) else {
        return Ok(Stats {
            entries: 1,
            complete: true,
        });
    };
    if !meta.is_dir() {
        return Ok(Stats {
            entries: 1,
            complete: true,
        });
    }
    let shared = Shared {
        queue: Mutex::new(Queue {
            jobs: Vec::new(),
            active: 0,
        }),
        ready: Condvar::new(),
        visitor,
        opts,
        root_dev: meta.dev,
        entries: AtomicU64::new(1),
        stopped: AtomicBool::new(false),
    };
    // The root is read here, its subdirectories by the workers.
    let first = read_dir(&shared, Arc::new(root_fd), root, 0, child_state);
    shared.queue.lock().expect("queue lock").jobs.extend(first);
    let threads = opts.threads.max(1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| worker(&shared));
        }
    });
    Ok(Stats {
        entries: shared.entries.load(Ordering::Relaxed),
        complete: !shared.stopped.load(Ordering::Relaxed),
    })
}

fn worker<S, V>(shared: &Shared<'_, S, V>)
where
    S: Copy + Send,
    V: Visitor<S> + ?Sized,
{
    loop {
        let job = {
            let mut q = shared.queue.lock().expect("queue lock");
            loop {
                if let Some(job) = q.jobs.pop() {
                    q.active += 1;
                    break job;
                }
                if q.active == 0 {
                    shared.ready.notify_all();
                    return;
                }
                q = shared.ready.wait(q).expect("queue lock");
            }
        };
        let more = if shared.opts.deadline.is_some_and(|d| Instant::now() >= d) {
            shared.stopped.store(true, Ordering::Relaxed);
            Vec::new()
        } else {
            open_and_read(shared, job)
        };
        let mut q = shared.queue.lock().expect("queue lock");
        q.active -= 1;
        let added = !more.is_empty();
        q.jobs.extend(more);
        if added || q.active == 0 {
            shared.ready.notify_all();
        }
    }
}

fn open_and_read<S, V>(shared: &Shared<'_, S, V>, job: Job<S>) -> Vec<Job<S>>
where
    S: Copy + Send,
    V: Visitor<S> + ?Sized,
{
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(&*job.parent, job.name.as_os_str(), flags, Mode::empty()) {
        Ok(fd) => {
            drop(job.parent);
            read_dir(shared, Arc::new(fd), &job.path, job.depth, job.state)
        }
        // Vanished, or replaced by a symlink or a file since it was listed: nothing to do.
        Err(Errno::NOENT | Errno::LOOP | Errno::NOTDIR) => Vec::new(),
        Err(errno) => {
            shared.visitor.error(WalkError {
                path: job.path,
                errno,
            });
            Vec::new()
        }
    }
}

/// Visit every entry of an open directory; return its subdirectories to walk.
fn read_dir<S, V>(
    shared: &Shared<'_, S, V>,
    fd: Arc<OwnedFd>,
    path: &Path,
    depth: usize,
    state: S,
) -> Vec<Job<S>>
where
    S: Copy + Send,
    V: Visitor<S> + ?Sized,
{
    let mut dir = match Dir::read_from(&*fd) {
        Ok(d) => d,
        Err(errno) => {
            shared.visitor.error(WalkError {
                path: path.to_path_buf(),
                errno,
            });
            return Vec::new();
        }
    };
    let mut subdirs = Vec::new();
    let mut count = 0u64;
    // Each entry's path is built in this one buffer (as `Path::join` would have it), not
    // allocated: an allocation and a reallocation per entry cost more than the visit, and
    // when a buffer passed between threads is resized, the threads wait on each other's
    // allocator lock. Only a subdirectory's path, kept for its job, is allocated.
    let mut child_path = path.as_os_str().as_bytes().to_vec();
    if !child_path.is_empty() && !child_path.ends_with(b"/") {
        child_path.push(b'/');
    }
    let base = child_path.len();
    while let Some(item) = dir.read() {
        let item = match item {
            Ok(i) => i,
            Err(errno) => {
                shared.visitor.error(WalkError {
                    path: path.to_path_buf(),
                    errno,
                });
                break;
            }
        };
        let name_bytes = item.file_name().to_bytes();
        if name_bytes == b"." || name_bytes == b".." {
            continue;
        }
        let name = OsStr::from_bytes(name_bytes);
        child_path.truncate(base);
        child_path.extend_from_slice(name_bytes);
        let child = Path::new(OsStr::from_bytes(&child_path));
        let meta = match rustix::fs::statat(&*fd, item.file_name(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Meta::from_stat(&st),
            Err(Errno::NOENT) => continue, // vanished during the scan
            Err(errno) => {
                shared.visitor.error(WalkError {
                    path: child.to_path_buf(),
                    errno,
                });
                continue;
            }
        };
        count += 1;
        let entry = Entry {
            path: child,
            name,
            at: &fd,
            at_name: name,
            depth: depth + 1,
            meta,
        };
        let descend = shared.visitor.visit(&entry, state);
        if let Some(child_state) = descend
            && meta.is_dir()
            && (!shared.opts.one_file_system || meta.dev == shared.root_dev)
        {
            subdirs.push(Job {
                parent: Arc::clone(&fd),
                name: name.to_os_string(),
                path: child.to_path_buf(),
                depth: depth + 1,
                state: child_state,
            });
        }
    }
    shared.entries.fetch_add(count, Ordering::Relaxed);
    subdirs
}

/// How many walker threads to use by default: the cores, at most 8.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Collect(Mutex<Vec<String>>, Mutex<Vec<String>>);

    impl Visitor<()> for Collect {
        fn visit(&self, e: &Entry<'_>, _: ()) -> Option<()> {
            self.0.lock().unwrap().push(crate::sanitize::path(e.path));
            Some(())
        }
        fn error(&self, e: WalkError) {
            self.1.lock().unwrap().push(e.describe());
        }
    }

    fn opts() -> Options {
        Options {
            one_file_system: true,
            deadline: None,
            threads: 2,
        }
    }

    #[test]
    fn walks_everything_once_without_following_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("a/b/c")).unwrap();
        std::fs::write(r.join("a/b/c/f"), "x").unwrap();
        std::fs::write(r.join("top"), "x").unwrap();
        std::os::unix::fs::symlink(r, r.join("a/loop")).unwrap();
        std::os::unix::fs::symlink("a/loop", r.join("a/b/loop2")).unwrap();
        let c = Collect(Mutex::new(vec![]), Mutex::new(vec![]));
        let stats = walk(r, (), &c, &opts()).unwrap();
        let mut seen = c.0.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen.len(), 8, "{seen:?}");
        assert_eq!(stats.entries, 8);
        assert!(stats.complete);
        assert!(c.1.into_inner().unwrap().is_empty());
    }

    /// Every entry's path is what `Path::join` makes of its directory's path and its name,
    /// at any depth, whether the root is given with a trailing slash or not.
    #[test]
    fn an_entrys_path_is_its_directorys_joined_with_its_name() {
        // As bytes: paths compared as paths would take "a//b" for "a/b".
        struct Paths(Mutex<Vec<Vec<u8>>>);
        impl Visitor<()> for Paths {
            fn visit(&self, e: &Entry<'_>, _: ()) -> Option<()> {
                assert_eq!(e.path.file_name(), Some(e.name), "{}", e.path.display());
                self.0
                    .lock()
                    .unwrap()
                    .push(e.path.as_os_str().as_bytes().to_vec());
                Some(())
            }
            fn error(&self, e: WalkError) {
                panic!("{}", e.describe());
            }
        }
        let t = tempfile::tempdir().unwrap();
        let r = t.path().join("root");
        let odd = OsStr::from_bytes(b"odd\xff name");
        std::fs::create_dir_all(r.join("a").join(odd).join("deeper")).unwrap();
        std::fs::write(
            r.join("a")
                .join(odd)
                .join("deeper/a-much-longer-file-name.php"),
            "x",
        )
        .unwrap();
        std::fs::write(r.join("a/f"), "x").unwrap();
        std::fs::write(r.join("g"), "x").unwrap();
        let rel = ["", "a", "a/f", "g"].map(PathBuf::from);
        let deep = [
            Path::new("a").join(odd),
            Path::new("a").join(odd).join("deeper"),
            Path::new("a")
                .join(odd)
                .join("deeper/a-much-longer-file-name.php"),
        ];
        for root in [r.clone(), PathBuf::from(format!("{}/", r.display()))] {
            let p = Paths(Mutex::new(vec![]));
            walk(&root, (), &p, &opts()).unwrap();
            let mut seen = p.0.into_inner().unwrap();
            seen.sort();
            let bytes = |p: PathBuf| p.as_os_str().as_bytes().to_vec();
            let mut want: Vec<Vec<u8>> = rel
                .iter()
                .chain(&deep)
                .map(|x| bytes(root.join(x)))
                .collect();
            // The root itself is shown as given.
            want[0] = bytes(root.clone());
            want.sort();
            assert_eq!(seen, want, "{}", root.display());
            assert!(!seen.iter().any(|p| p.windows(2).any(|w| w == b"//")));
        }
    }

    #[test]
    fn missing_root_is_an_error() {
        let c = Collect(Mutex::new(vec![]), Mutex::new(vec![]));
        let e = walk(Path::new("/no/such/dir"), (), &c, &opts()).unwrap_err();
        assert!(
            e.describe().contains("No such file or directory"),
            "{}",
            e.describe()
        );
    }
}
