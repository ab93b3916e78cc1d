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

pub(crate) mod dir;
#[cfg_attr(not(feature = "fault-injection"), allow(unreachable_pub))]
pub mod fault;
pub(crate) mod file;
pub(crate) mod flock;
pub(crate) mod process;
pub(crate) mod statfs;
pub(crate) mod xattr;

pub(crate) use rustix::fs::{Mode, OFlags, Stat};
pub(crate) use std::os::fd::{AsFd, OwnedFd};

use fault::Call;
use std::io;

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
