//! Extended attributes (`xattr(7)`) of open files: POSIX ACLs live in
//! `system.posix_acl_access`, labels in `security.*`, the rest in `user.*`
//! and `trusted.*`.

use super::{AsFd, once};
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;

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

/// The `/proc/self/fd` entry of `fd`: a path to the very file, for calls
/// that have no descriptor-based form usable on an `O_PATH` descriptor.
fn proc_path(fd: impl AsFd) -> String {
    use std::os::fd::AsRawFd;
    format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())
}

/// `listxattr(2)` of a file opened `O_PATH` (one we may not read, which
/// `flistxattr` refuses), through its `/proc/self/fd` entry.
pub(crate) fn list_via_proc(fd: impl AsFd) -> io::Result<Vec<OsString>> {
    let path = proc_path(fd);
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

/// `getxattr(2)` of a file opened `O_PATH`, through its `/proc/self/fd`
/// entry (see [`list_via_proc`]).
pub(crate) fn get_via_proc(fd: impl AsFd, name: &OsString) -> io::Result<Vec<u8>> {
    let path = proc_path(fd);
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
