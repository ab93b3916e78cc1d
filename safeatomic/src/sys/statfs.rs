//! `fstatfs(2)` and the mount table, for filesystem detection.

use super::{AsFd, once, process};
use std::io;
use std::path::Path;

/// `fstatfs(2)`: the filesystem magic number (`f_type`) of the file's filesystem.
pub(crate) fn fs_magic(fd: impl AsFd) -> io::Result<u64> {
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets
    once("fstatfs", || rustix::fs::fstatfs(fd.as_fd())).map(|s| s.f_type as u64)
}

/// The text of `/proc/self/mountinfo` (see `proc_pid_mountinfo(5)`).
pub(crate) fn mountinfo() -> io::Result<String> {
    let bytes = process::read_small_file(Path::new("/proc/self/mountinfo"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Major and minor numbers of a device id.
pub(crate) fn major_minor(dev: u64) -> (u32, u32) {
    (rustix::fs::major(dev), rustix::fs::minor(dev))
}
