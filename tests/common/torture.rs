//! The power-loss torture harness's shared half: the writers `sa-child
//! torture-writer` runs (safeatomic and three naive ones), the files they
//! write, and the acknowledgement lines they print.
//!
//! A torture writer alternates between two targets in one directory,
//! forever:
//!
//! * [`STORE`], a counter `{"n":N}`: with [`Writer::Safeatomic`] a
//!   `Store::<CheckedCounter>::update(n += 1)` (SHA-256 sidecar), with a
//!   naive writer the same JSON written the naive way (no sidecar);
//! * [`RAW`], a self-validating payload ([`crate::child::make_payload`])
//!   with sequence number `seq`, tag [`RAW_TAG`] and [`raw_size`]`(seq)`
//!   bytes: `write_atomic` or the naive write.
//!
//! After each write that returned success it prints `store N T` or `raw SEQ
//! T` (an acknowledgement: the writer's promise that this version is
//! durable), where `T` is [`now_nanos`] taken right after the call
//! returned. On the first failure it prints `error T TARGET MESSAGE` and
//! exits with [`crate::child::exit::ERROR`]; after a filesystem shutdown
//! almost every operation fails, so that is the normal end of a writer that
//! outlives the crash by a moment.
//!
//! Why the time stamp: only an acknowledgement given *before* the shutdown
//! is a promise the crash can test. On xfs, `fsync` of a directory returns
//! success after a shutdown (`xfs_dir_fsync` does not check for it, and the
//! shutdown has already discarded the changes it would force), so a writer
//! still running after the shutdown can acknowledge a write that never
//! reaches the disk. The harness compares each time stamp with the moment
//! it started the shutdown.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The counter file.
pub const STORE: &str = "store.json";

/// The payload file.
pub const RAW: &str = "raw.bin";

/// The tag of every [`RAW`] payload.
pub const RAW_TAG: &str = "torture";

/// Size of the [`RAW`] payload with sequence number `seq`: 2 KiB to about
/// 190 KiB, never a multiple of the page size, different for neighbouring
/// versions (so a file holding one version's length and another's bytes,
/// or a truncated one, is detected).
pub fn raw_size(seq: u64) -> usize {
    2 * 1024 + 123 + (seq % 16) as usize * 12 * 1024
}

/// How a torture writer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// `Store::update` with a checksum and `write_atomic`: the library.
    Safeatomic,
    /// (a) `std::fs::write`: truncate, write, close; no fsync.
    StdWrite,
    /// (b) write a temp file, rename it over the target; no fsync at all.
    RenameNoFsync,
    /// (c) write a temp file, fsync it, rename it over the target; no
    /// fsync of the directory.
    RenameNoDirFsync,
}

impl Writer {
    /// Every writer, the library first.
    pub const ALL: [Writer; 4] = [
        Writer::Safeatomic,
        Writer::StdWrite,
        Writer::RenameNoFsync,
        Writer::RenameNoDirFsync,
    ];

    /// The name on `sa-child`'s command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Writer::Safeatomic => "safeatomic",
            Writer::StdWrite => "std-fs-write",
            Writer::RenameNoFsync => "rename-no-fsync",
            Writer::RenameNoDirFsync => "rename-no-dir-fsync",
        }
    }

    /// The writer called `name`.
    pub fn parse(name: &str) -> Option<Writer> {
        Writer::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// The temp file name the naive rename writers use for `target`.
pub fn naive_temp(target: &Path) -> PathBuf {
    let mut p = target.as_os_str().to_owned();
    p.push(".naive-tmp");
    PathBuf::from(p)
}

/// Writes `data` to `target` the naive way `writer` does.
///
/// # Errors
///
/// Any I/O error.
///
/// # Panics
///
/// For [`Writer::Safeatomic`], which is not a naive writer.
pub fn naive_write(writer: Writer, target: &Path, data: &[u8]) -> std::io::Result<()> {
    match writer {
        Writer::Safeatomic => panic!("naive_write called for the library writer"),
        Writer::StdWrite => std::fs::write(target, data),
        Writer::RenameNoFsync | Writer::RenameNoDirFsync => {
            let temp = naive_temp(target);
            let mut f = File::create(&temp)?;
            f.write_all(data)?;
            if writer == Writer::RenameNoDirFsync {
                f.sync_all()?;
            }
            drop(f);
            std::fs::rename(&temp, target)
        }
    }
}

/// The bytes of counter value `n` as the naive writers write them: the same
/// JSON `Store::<CheckedCounter>` writes.
pub fn counter_json(n: u64) -> Vec<u8> {
    serde_json::to_vec(&crate::types::CheckedCounter { n }).expect("a counter serializes")
}

/// Nanoseconds since the Unix epoch: a clock the writer and the test
/// process share.
pub fn now_nanos() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    u64::try_from(t.as_nanos()).expect("before the year 2554")
}

/// One line a torture writer printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `store N T`: counter value `N` acknowledged at [`now_nanos`] `T`.
    Store(u64, u64),
    /// `raw SEQ T`: payload `SEQ` acknowledged at `T`.
    Raw(u64, u64),
    /// `error T TARGET MESSAGE`: the writer's first failure, at `T`; it
    /// exits next.
    Error(u64, String),
}

impl Line {
    /// Parses one line of `sa-child torture-writer` output.
    ///
    /// # Panics
    ///
    /// On a line the writer never prints.
    #[track_caller]
    pub fn parse(line: &str) -> Line {
        let bad = || -> ! { panic!("torture-writer printed {line:?}") };
        let ack = |rest: &str| -> (u64, u64) {
            let (n, t) = rest.split_once(' ').unwrap_or_else(|| bad());
            (
                n.parse().unwrap_or_else(|_| bad()),
                t.parse().unwrap_or_else(|_| bad()),
            )
        };
        match line.split_once(' ') {
            Some(("store", rest)) => {
                let (n, t) = ack(rest);
                Line::Store(n, t)
            }
            Some(("raw", rest)) => {
                let (n, t) = ack(rest);
                Line::Raw(n, t)
            }
            Some(("error", rest)) => {
                let (t, message) = rest.split_once(' ').unwrap_or_else(|| bad());
                Line::Error(t.parse().unwrap_or_else(|_| bad()), message.to_owned())
            }
            _ => bad(),
        }
    }
}

/// `xfs_io -x MOUNTPOINT` started ahead of the crash and waiting for its
/// commands on stdin; [`fire`](ArmedShutdown::fire) sends `shutdown` (no
/// `-f`: the log is not flushed, whatever is not on the device yet is
/// dropped). Arming first takes the tool's start-up (several milliseconds)
/// out of the gap between "crash now" and the crash: in that gap a writer
/// keeps running, and a writer without a directory fsync would make its
/// last rename durable through its next file fsync — hiding the very loss
/// the harness must see.
#[derive(Debug)]
pub struct ArmedShutdown {
    child: crate::child::ChildGuard,
}

impl ArmedShutdown {
    /// Starts `xfs_io -x mount_point` (found in `PATH` or the sbin
    /// directories). It holds the mount point open until fired.
    pub fn arm(mount_point: &Path) -> ArmedShutdown {
        let tool = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
            .map(|d| d.join("xfs_io"))
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("xfs_io"));
        let child = crate::child::ChildGuard::spawn(
            std::process::Command::new(tool).arg("-x").arg(mount_point),
        );
        ArmedShutdown { child }
    }

    /// Shuts the filesystem down now and waits for `xfs_io` to exit.
    ///
    /// # Panics
    ///
    /// If `xfs_io` cannot be told or does not exit successfully.
    pub fn fire(mut self) {
        let mut stdin = self.child.take_stdin();
        stdin
            .write_all(b"shutdown\n")
            .and_then(|()| stdin.flush())
            .expect("send `shutdown` to xfs_io");
        drop(stdin); // EOF: xfs_io quits after the command
        let status = self.child.wait_timeout(std::time::Duration::from_secs(30));
        assert!(status.success(), "xfs_io -x: shutdown failed: {status}");
    }
}
