//! `fstatfs(2)` and the mount table, for filesystem detection.

use super::{AsFd, once};
use std::io;

#[cfg(all(target_os = "linux", not(safeatomic_portable)))]
pub(crate) use super::linux::mountinfo;

/// `fstatfs(2)`: the filesystem type number (`f_type`) of the file's
/// filesystem: a magic number on Linux, an index the kernel assigns on
/// macOS and FreeBSD (a cache key there, not an identity).
pub(crate) fn fs_magic(fd: impl AsFd) -> io::Result<u64> {
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets
    once("fstatfs", || rustix::fs::fstatfs(fd.as_fd())).map(|s| s.f_type as u64)
}

/// `fstatfs(2)` on macOS and FreeBSD (their `statfs(2)` man pages): the
/// name of the file's filesystem type, `f_fstypename` (`"apfs"`, `"ufs"`,
/// `"nfs"` …). Linux's `statfs` has no such field.
#[cfg(not(target_os = "linux"))]
pub(crate) fn type_name(fd: impl AsFd) -> io::Result<String> {
    let st = once("fstatfs", || rustix::fs::fstatfs(fd.as_fd()))?;
    #[allow(clippy::unnecessary_cast)] // c_char is i8 or u8 depending on the target
    let bytes: Vec<u8> = st
        .f_fstypename
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Major and minor numbers of a device id.
#[allow(clippy::unnecessary_cast)] // dev_t's width differs between targets
pub(crate) fn major_minor(dev: u64) -> (u32, u32) {
    let dev = dev as rustix::fs::Dev;
    (rustix::fs::major(dev), rustix::fs::minor(dev))
}
