//! What a replace carries over from the file it replaces: its POSIX ACL
//! and its other extended attributes (owner and mode are set by the write
//! protocol itself, step 5 of `docs/design.md`'s write protocol).
//!
//! A file's ACL lives in the `system.posix_acl_access` attribute. Its mode
//! bits show only part of it (with an ACL the group bits are the ACL's
//! mask), so a replacement that copied the mode alone would hand the
//! owning group the mask's rights: the ACL is copied onto the temp file
//! before any byte is written, or the write is refused under
//! [`Safety::Strict`](crate::Safety::Strict).
//!
//! Not carried over: `security.capability` (file capabilities belong to
//! the content they were granted to, as for a new binary; the kernel
//! itself drops them when a file's content is written). A security label
//! (`security.selinux`, `security.SMACK64`) is copied where the policy
//! allows it; otherwise the new file keeps the label the policy gives new
//! files in that directory.

use crate::sys::{self, Mode, OFlags, OwnedFd};
use rustix::io::Errno;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The attribute that holds a file's POSIX access ACL.
const ACL: &[u8] = b"system.posix_acl_access";

/// Attributes never carried over (see the module docs).
const NOT_CARRIED: &[&[u8]] = &[b"security.capability"];

/// The extended attributes of a file about to be replaced.
#[derive(Debug, Default)]
pub(crate) struct Carried {
    attrs: Vec<(OsString, Vec<u8>)>,
}

/// Why the attributes could not be carried over.
#[derive(Debug)]
pub(crate) struct NotCarried {
    /// The attribute (or `None`: the list of them).
    pub(crate) name: Option<OsString>,
    pub(crate) error: io::Error,
}

impl std::fmt::Display for NotCarried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "extended attribute {name:?}: {}", self.error),
            None => write!(f, "extended attributes: {}", self.error),
        }
    }
}

/// How the replaced file was opened for its attributes.
enum Opened {
    /// For reading: its own descriptor answers.
    Readable(OwnedFd),
    /// Without permission to read it (Linux's `O_PATH`): through `/proc`.
    PathOnly(sys::xattr::PathFd),
}

impl Opened {
    fn list(&self) -> io::Result<Vec<OsString>> {
        match self {
            Opened::Readable(fd) => sys::xattr::list(fd),
            Opened::PathOnly(fd) => sys::xattr::list_via_proc(fd),
        }
    }

    fn get(&self, name: &OsString) -> io::Result<Vec<u8>> {
        match self {
            Opened::Readable(fd) => sys::xattr::get(fd, name),
            Opened::PathOnly(fd) => sys::xattr::get_via_proc(fd, name),
        }
    }
}

/// Whether an attribute is access control (an ACL): losing it may widen
/// access, so it must be carried over or the write refused.
pub(crate) fn is_access_control(name: &OsString) -> bool {
    // system.posix_acl_access, and the NFSv4 / rich ACLs of other
    // filesystems (system.nfs4_acl, system.richacl).
    name.as_bytes().starts_with(b"system.")
}

impl Carried {
    /// Reads the extended attributes of the file `name` in `dir` (a
    /// regular file, found there under the caller's lock). A file we may
    /// not read is opened `O_PATH` and read through `/proc` (Linux): its
    /// ACL is readable all the same. Elsewhere such a file's attributes
    /// cannot be read, and none of them is an ACL: none are carried.
    pub(crate) fn read(dir: &OwnedFd, name: &Path) -> Result<Carried, NotCarried> {
        // Most files have none: one call says so (issue #17: fewer calls
        // per write). Anything else is read through the file opened below.
        if sys::xattr::list_at(dir, name).is_ok_and(|names| names.is_empty()) {
            return Ok(Carried::default());
        }
        let list_failed = |error| NotCarried { name: None, error };
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
        let file = match sys::file::openat(dir, name, flags, Mode::empty()) {
            Ok(fd) => Opened::Readable(fd),
            Err(e) if matches!(sys::errno(&e), Some(Errno::ACCESS | Errno::PERM)) => {
                match sys::xattr::open_path(dir, name).map_err(list_failed)? {
                    Some(fd) => Opened::PathOnly(fd),
                    None => return Ok(Carried::default()),
                }
            }
            Err(e) => return Err(list_failed(e)),
        };
        let names = file.list().map_err(list_failed)?;
        let mut attrs = Vec::with_capacity(names.len());
        for name in names {
            if NOT_CARRIED.contains(&name.as_bytes()) {
                continue;
            }
            let value = file.get(&name);
            match value {
                Ok(value) => attrs.push((name, value)),
                // Removed since it was listed.
                Err(e) if sys::errno(&e) == Some(sys::xattr::NO_ATTRIBUTE) => {}
                Err(error) if is_access_control(&name) => {
                    return Err(NotCarried {
                        name: Some(name),
                        error,
                    });
                }
                // `user.*` of a file we may not read: not ours to copy.
                Err(e) => log::debug!("not carrying over {name:?}: {e}"),
            }
        }
        Ok(Carried { attrs })
    }

    /// Whether there is an ACL to carry over.
    pub(crate) fn has_acl(&self) -> bool {
        self.attrs.iter().any(|(name, _)| name.as_bytes() == ACL)
    }

    /// Sets the attributes on `temp`. An access-control attribute that
    /// cannot be set is an error; any other one is skipped (logged at
    /// debug level: a `security.*` label or `trusted.*` attribute the
    /// caller may not set).
    pub(crate) fn apply(&self, temp: &OwnedFd) -> Result<(), NotCarried> {
        for (name, value) in &self.attrs {
            match sys::xattr::set(temp, name, value) {
                Ok(()) => {}
                Err(error) if is_access_control(name) => {
                    return Err(NotCarried {
                        name: Some(name.clone()),
                        error,
                    });
                }
                Err(e) => log::debug!("not carrying over {name:?}: {e}"),
            }
        }
        Ok(())
    }
}
