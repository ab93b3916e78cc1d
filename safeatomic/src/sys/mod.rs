//! Every OS call safeatomic makes, and nothing else.
//!
//! Each function is a thin, safe wrapper over one syscall (through `rustix`),
//! named after it, with the man page it follows. Each one first passes a
//! [`fault::point`], so tests built with the `fault-injection` feature can make
//! any single call fail with a chosen errno. Calls the kernel may interrupt
//! are retried on `EINTR` here, once, for everyone.
//!
//! The rest of the crate must not call `std::fs` or `rustix` directly;
//! `clippy.toml` lists the std functions that would bypass this module.
//!
//! # The platform seam
//!
//! This module is the only place that knows the platform. Its concept
//! modules (`dir`, `file`, …) are the same everywhere; where Linux and
//! the other Unixes differ, the call comes from one of two backends
//! (decision 0013):
//!
//! * `linux`: `O_NOATIME`, `renameat2(RENAME_NOREPLACE)`, `getdents64`
//!   (rewound with `lseek`), `O_TMPFILE`, the umask from `/proc`;
//! * `portable`: what macOS and FreeBSD have (and Linux too, so that it is
//!   tested on Linux): no `O_NOATIME`, no-replace through `renamex_np(2)`
//!   on macOS and through the `link(2)` fallback elsewhere, the portable
//!   directory stream, no `O_TMPFILE`, no umask.
//!
//! Temp names come from the standard library's keyed hash on both
//! (`process::random_u64`: no system call).
//!
//! The Linux build uses the portable backend when compiled with
//! `--cfg safeatomic_portable` (tests and CI only). The few calls that
//! exist on one OS alone (`F_FULLFSYNC`, `f_fstypename`, extended
//! attributes) are chosen by the target OS, in the concept modules.
//! The types of `stat(2)` differ between targets (`mode_t` is 16 bits on
//! macOS and FreeBSD, `dev_t` signed on macOS): [`Stat`] and [`Mode`] are
//! the same everywhere above this module.

pub(crate) mod dir;
#[cfg_attr(not(feature = "fault-injection"), allow(unreachable_pub))]
pub mod fault;
pub(crate) mod file;
pub(crate) mod flock;
pub(crate) mod process;
pub(crate) mod statfs;
pub(crate) mod xattr;

#[cfg(all(target_os = "linux", not(safeatomic_portable)))]
mod linux;
#[cfg(all(target_os = "linux", not(safeatomic_portable)))]
use linux as backend;
#[cfg(any(not(target_os = "linux"), safeatomic_portable))]
mod portable;
#[cfg(any(not(target_os = "linux"), safeatomic_portable))]
use portable as backend;

pub(crate) use rustix::fs::{FileType, OFlags};
pub(crate) use std::os::fd::{AsFd, OwnedFd};

use fault::Call;
use std::io;

/// File permission bits (`mode_t`), as 32 bits on every target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mode(u32);

impl Mode {
    /// The bits `mode` (only the low 12 bits reach the kernel).
    pub(crate) const fn from_raw_mode(mode: u32) -> Self {
        Self(mode & 0o7777)
    }

    /// No bits: for `openat` without `O_CREAT`.
    pub(crate) const fn empty() -> Self {
        Self(0)
    }

    /// As rustix's `Mode` for this target (`mode_t` is `u16` on macOS
    /// and FreeBSD; the 12 permission bits fit every width).
    #[allow(clippy::unnecessary_cast)] // the width of mode_t differs between targets
    fn os(self) -> rustix::fs::Mode {
        rustix::fs::Mode::from_raw_mode(self.0 as rustix::fs::RawMode)
    }
}

/// What `stat(2)` says of a file, in the same widths on every target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// `st_dev`, sign-extended where `dev_t` is signed (as std's
    /// `MetadataExt::dev` does).
    pub(crate) st_dev: u64,
    pub(crate) st_ino: u64,
    pub(crate) st_mode: u32,
    pub(crate) st_nlink: u64,
    pub(crate) st_uid: u32,
    pub(crate) st_gid: u32,
    pub(crate) st_size: i64,
    pub(crate) st_mtime: i64,
    pub(crate) st_mtime_nsec: u64,
    pub(crate) st_ctime: i64,
    pub(crate) st_ctime_nsec: u64,
}

impl Stat {
    /// The file type from `st_mode`.
    pub(crate) fn file_type(&self) -> FileType {
        FileType::from_raw_mode(self.os_mode())
    }

    #[allow(clippy::unnecessary_cast)] // the width of mode_t differs between targets
    fn os_mode(&self) -> rustix::fs::RawMode {
        self.st_mode as rustix::fs::RawMode
    }
}

impl From<rustix::fs::Stat> for Stat {
    #[allow(clippy::unnecessary_cast)] // field widths differ between targets
    fn from(st: rustix::fs::Stat) -> Self {
        Self {
            st_dev: st.st_dev as u64,
            st_ino: st.st_ino as u64,
            st_mode: st.st_mode as u32,
            st_nlink: st.st_nlink as u64,
            st_uid: st.st_uid,
            st_gid: st.st_gid,
            st_size: st.st_size as i64,
            st_mtime: st.st_mtime as i64,
            st_mtime_nsec: st.st_mtime_nsec as u64,
            st_ctime: st.st_ctime as i64,
            st_ctime_nsec: st.st_ctime_nsec as u64,
        }
    }
}

/// Runs `f`, retrying while it fails with `EINTR`. The fault point is inside
/// the loop so an injected `EINTR` is retried exactly like a real one.
fn retry_intr<T>(
    name: &'static str,
    mut f: impl FnMut() -> rustix::io::Result<T>,
) -> io::Result<T> {
    loop {
        let result = fault::point(Call {
            name,
            interruptible: true,
        })
        .and_then(|()| f().map_err(io::Error::from));
        match result {
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INTR.raw_os_error()) => continue,
            other => return other,
        }
    }
}

/// Runs `f` once, after its fault point. For calls that cannot return `EINTR`.
fn once<T>(name: &'static str, f: impl FnOnce() -> rustix::io::Result<T>) -> io::Result<T> {
    fault::point(Call {
        name,
        interruptible: false,
    })?;
    f().map_err(io::Error::from)
}

/// The `errno` of an I/O error, if it came from the OS.
pub(crate) fn errno(e: &io::Error) -> Option<rustix::io::Errno> {
    e.raw_os_error().map(rustix::io::Errno::from_raw_os_error)
}
