//! Extended attributes (`xattr(7)`) of open files: POSIX ACLs live in
//! `system.posix_acl_access`, labels in `security.*`, the rest in `user.*`
//! and `trusted.*`.
//!
//! On macOS the same calls exist (`listxattr(2)`, `getxattr(2)`,
//! `setxattr(2)`, with Apple's `com.apple.*` names); its ACLs are not
//! extended attributes. FreeBSD has `extattr_*(2)` instead, which rustix
//! does not wrap: there a file shows no extended attributes, and none are
//! carried over (`docs/supported-environments.md`).

use super::AsFd;
#[cfg(not(target_os = "freebsd"))]
use super::once;
#[cfg(target_os = "linux")]
use super::{Mode, OFlags, OwnedFd};
use std::ffi::OsString;
use std::io;
#[cfg(not(target_os = "freebsd"))]
use std::os::unix::ffi::OsStringExt;

/// The errno of `fgetxattr` for an attribute that is not there:
/// `ENODATA` on Linux (`ENOATTR` is its synonym there), `ENOATTR` on
/// macOS and FreeBSD.
#[cfg(target_os = "linux")]
pub(crate) const NO_ATTRIBUTE: rustix::io::Errno = rustix::io::Errno::NODATA;
/// The errno of `fgetxattr` for an attribute that is not there.
#[cfg(not(target_os = "linux"))]
pub(crate) const NO_ATTRIBUTE: rustix::io::Errno = rustix::io::Errno::NOATTR;

#[cfg(not(target_os = "freebsd"))]
/// A name or value list that outgrew our first buffer: ask for its size,
/// then read it into a buffer that large (`ERANGE` if it grew meanwhile:
/// once more).
fn sized(mut call: impl FnMut(&mut [u8]) -> io::Result<usize>) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    for _ in 0..4 {
        match call(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(e) if super::errno(&e) == Some(rustix::io::Errno::RANGE) => {
                let needed = call(&mut [])?;
                buf = vec![0u8; needed.max(buf.len() * 2)];
            }
            Err(e) => return Err(e),
        }
    }
    Err(rustix::io::Errno::RANGE.into())
}

#[cfg(not(target_os = "freebsd"))]
/// `flistxattr(2)`: the names of the file's extended attributes (those
/// this process may see). A filesystem without extended attributes
/// (`EOPNOTSUPP`) has none.
pub(crate) fn list(fd: impl AsFd) -> io::Result<Vec<OsString>> {
    names(|buf| {
        once("flistxattr", || {
            if buf.is_empty() {
                rustix::fs::flistxattr_query(fd.as_fd())
            } else {
                rustix::fs::flistxattr(fd.as_fd(), &mut *buf)
            }
        })
    })
}

#[cfg(not(target_os = "freebsd"))]
/// The names a `listxattr`-like `call` returns (NUL-terminated, one after
/// another); none where the filesystem has no extended attributes.
fn names(call: impl FnMut(&mut [u8]) -> io::Result<usize>) -> io::Result<Vec<OsString>> {
    match sized(call) {
        Err(e) if super::errno(&e) == Some(rustix::io::Errno::OPNOTSUPP) => Ok(Vec::new()),
        Err(e) => Err(e),
        Ok(list) => Ok(list
            .split(|b| *b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| OsString::from_vec(n.to_vec()))
            .collect()),
    }
}

/// `llistxattr(2)` of `name` in the open directory `dir`, by its path
/// through `dir`'s `/proc/self/fd` entry: one call, where opening the file
/// to list it takes three (open, list, close). A symlink at `name` is not
/// followed. Fails where `/proc` is not mounted (`ENOENT`, as for a name
/// that is gone): callers then open the file.
#[cfg(target_os = "linux")]
pub(crate) fn list_at(dir: impl AsFd, name: &std::path::Path) -> io::Result<Vec<OsString>> {
    let path = std::path::Path::new(&proc_path(dir)).join(name);
    names(|buf| {
        once("llistxattr", || {
            if buf.is_empty() {
                rustix::fs::llistxattr_query(&path)
            } else {
                rustix::fs::llistxattr(&path, &mut *buf)
            }
        })
    })
}

/// Without `/proc` there is no path to `name` through `dir`: `ENOSYS`,
/// without a system call (callers open the file).
#[cfg(not(target_os = "linux"))]
pub(crate) fn list_at(_dir: impl AsFd, _name: &std::path::Path) -> io::Result<Vec<OsString>> {
    Err(rustix::io::Errno::NOSYS.into())
}

#[cfg(not(target_os = "freebsd"))]
/// `fgetxattr(2)`: the value of one extended attribute.
pub(crate) fn get(fd: impl AsFd, name: &OsString) -> io::Result<Vec<u8>> {
    sized(|buf| {
        once("fgetxattr", || {
            if buf.is_empty() {
                rustix::fs::fgetxattr_query(fd.as_fd(), name.as_os_str())
            } else {
                rustix::fs::fgetxattr(fd.as_fd(), name.as_os_str(), &mut *buf)
            }
        })
    })
}

#[cfg(target_os = "linux")]
/// The `/proc/self/fd` entry of `fd`: a path to the very file, for calls
/// that have no descriptor-based form usable on an `O_PATH` descriptor.
fn proc_path(fd: impl AsFd) -> String {
    use std::os::fd::AsRawFd;
    format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())
}

#[cfg(target_os = "linux")]
/// `listxattr(2)` of a file opened `O_PATH` (one we may not read, which
/// `flistxattr` refuses), through its `/proc/self/fd` entry.
pub(crate) fn list_via_proc(fd: &PathFd) -> io::Result<Vec<OsString>> {
    let path = proc_path(&fd.0);
    names(|buf| {
        once("listxattr", || {
            if buf.is_empty() {
                rustix::fs::listxattr_query(path.as_str())
            } else {
                rustix::fs::listxattr(path.as_str(), &mut *buf)
            }
        })
    })
}

#[cfg(target_os = "linux")]
/// `getxattr(2)` of a file opened `O_PATH`, through its `/proc/self/fd`
/// entry (see [`list_via_proc`]).
pub(crate) fn get_via_proc(fd: &PathFd, name: &OsString) -> io::Result<Vec<u8>> {
    let path = proc_path(&fd.0);
    sized(|buf| {
        once("getxattr", || {
            if buf.is_empty() {
                rustix::fs::getxattr_query(path.as_str(), name.as_os_str())
            } else {
                rustix::fs::getxattr(path.as_str(), name.as_os_str(), &mut *buf)
            }
        })
    })
}

#[cfg(not(target_os = "freebsd"))]
/// `fsetxattr(2)`: sets one extended attribute (creating or replacing it).
pub(crate) fn set(fd: impl AsFd, name: &OsString, value: &[u8]) -> io::Result<()> {
    once("fsetxattr", || {
        rustix::fs::fsetxattr(
            fd.as_fd(),
            name.as_os_str(),
            value,
            rustix::fs::XattrFlags::empty(),
        )
    })
}

/// A file we may not read, opened `O_PATH` (which needs no permission on
/// the file) for its extended attributes, read through `/proc/self/fd`
/// ([`list_via_proc`], [`get_via_proc`]).
#[cfg(target_os = "linux")]
pub(crate) struct PathFd(OwnedFd);

/// A file opened `O_PATH`: there is none on macOS (no `O_PATH`) and
/// FreeBSD (no `/proc/self/fd`), so this type has no values there.
#[cfg(not(target_os = "linux"))]
pub(crate) enum PathFd {}

/// Opens the file `name` in `dir`, which we may not read, for its extended
/// attributes. `None` where that is impossible (see [`PathFd`]): there,
/// nothing of an unreadable file can be read, and access control is not
/// an extended attribute.
#[cfg(target_os = "linux")]
pub(crate) fn open_path(dir: impl AsFd, name: &std::path::Path) -> io::Result<Option<PathFd>> {
    let flags = OFlags::PATH | OFlags::NOFOLLOW;
    super::file::openat(dir, name, flags, Mode::empty()).map(|fd| Some(PathFd(fd)))
}

/// Opens a file we may not read for its extended attributes: impossible
/// here (see [`PathFd`]), so `None`, without a call.
#[cfg(not(target_os = "linux"))]
pub(crate) fn open_path(_dir: impl AsFd, _name: &std::path::Path) -> io::Result<Option<PathFd>> {
    Ok(None)
}

/// Never called: [`PathFd`] has no values here.
#[cfg(not(target_os = "linux"))]
pub(crate) fn list_via_proc(fd: &PathFd) -> io::Result<Vec<OsString>> {
    match *fd {}
}

/// Never called: [`PathFd`] has no values here.
#[cfg(not(target_os = "linux"))]
pub(crate) fn get_via_proc(fd: &PathFd, _name: &OsString) -> io::Result<Vec<u8>> {
    match *fd {}
}

/// FreeBSD: extended attributes are `extattr_*(2)`, not wrapped by rustix;
/// a file shows none (as on a filesystem without them).
#[cfg(target_os = "freebsd")]
pub(crate) fn list(_fd: impl AsFd) -> io::Result<Vec<OsString>> {
    Ok(Vec::new())
}

/// FreeBSD: no attribute is ever listed ([`list`]), so none is read.
#[cfg(target_os = "freebsd")]
pub(crate) fn get(_fd: impl AsFd, _name: &OsString) -> io::Result<Vec<u8>> {
    Err(NO_ATTRIBUTE.into())
}

/// FreeBSD: no attribute is ever listed ([`list`]), so none is set.
#[cfg(target_os = "freebsd")]
pub(crate) fn set(_fd: impl AsFd, _name: &OsString, _value: &[u8]) -> io::Result<()> {
    Err(rustix::io::Errno::OPNOTSUPP.into())
}
