//! Path resolution: a user's path, resolved **once** into an open parent
//! directory and a name inside it.
//!
//! Every later step of an operation — the lock, the temp file, the rename,
//! the directory fsync, the sidecar, a re-read under the lock — works
//! relative to that directory handle. A directory or symlink switched
//! meanwhile cannot redirect any of them, and a [`LockGuard`] carries the
//! handle, so a write under a guard lands in the directory that was locked
//! (docs/security.md).
//!
//! The parent directories of a path are resolved by the kernel. The last
//! component is inspected without following it and handled by the
//! [`SymlinkPolicy`]; following a symlink there obeys the kernel's
//! `fs.protected_symlinks` rule ([`trust::may_follow`]) on every machine.
//!
//! [`LockGuard`]: crate::LockGuard

use crate::error::{CHECK_PATH, Error, ErrorKind, Operation, Result};
use crate::path;
use crate::policy::SymlinkPolicy;
use crate::sys::{self, OwnedFd, Stat};
use crate::trust;
use rustix::fs::FileType;
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Linux's own limit on symlink hops (`MAXSYMLINKS`, path_resolution(7)).
const MAX_SYMLINK_HOPS: usize = 40;

/// What was found at the target name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Found {
    Nothing,
    File(Stat),
    /// A symlink left in place: only with [`SymlinkPolicy::ReplaceLink`].
    Symlink,
}

impl Found {
    /// The regular file found, if one was.
    pub(crate) fn file(&self) -> Option<&Stat> {
        match self {
            Found::File(st) => Some(st),
            _ => None,
        }
    }
}

/// A target resolved to an open directory and a name inside it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The directory that holds the target, opened once.
    pub(crate) dir: Arc<OwnedFd>,
    /// That directory's `fstat` when it was opened (owner, sticky bit,
    /// device for filesystem detection).
    pub(crate) dir_st: Stat,
    /// The target's name inside `dir`.
    pub(crate) name: OsString,
    /// The target as the user would name it (after following symlinks):
    /// what errors and logs show.
    pub(crate) path: PathBuf,
    /// What was at the name when it was inspected.
    pub(crate) found: Found,
}

/// Opens the parent of `user_path` and resolves the last component under
/// `policy`. Performs no write.
///
/// # Errors
///
/// A path that cannot name a file, a parent that cannot be opened, a
/// directory or special file at the name, a symlink refused by the policy
/// or by the protected-symlink rule (naming the link and why), too many
/// symlink hops.
pub(crate) fn resolve(user_path: &Path, policy: SymlinkPolicy, op: Operation) -> Result<Target> {
    let (parent, name) = path::split(user_path).map_err(|e| e.into_error(op, user_path))?;
    let dir = sys::dir::open_dir(rustix::fs::CWD, parent)
        .map_err(|e| Error::io(op, "open parent directory", user_path, e))?;
    let dir_st =
        sys::file::fstat(&dir).map_err(|e| Error::io(op, "open parent directory", user_path, e))?;
    let mut dir_path = parent.to_owned();
    let mut here = Target {
        dir: Arc::new(dir),
        dir_st,
        name: name.to_owned(),
        path: user_path.to_owned(),
        found: Found::Nothing,
    };
    for _ in 0..=MAX_SYMLINK_HOPS {
        let link = match lookup(&here, policy, op)? {
            Lookup::Found(found) => {
                here.found = found;
                return Ok(here);
            }
            Lookup::Symlink(link) => link,
        };
        // Following it: first the rule the kernel applies to a link it
        // follows itself (we follow the last component ourselves, so the
        // kernel's own check would never run).
        trust::may_follow(&here.dir_st, &link).map_err(|why| refused_link(op, &here.path, &why))?;
        let dest = sys::dir::readlinkat(&*here.dir, Path::new(&here.name))
            .map_err(|e| Error::io(op, "read symlink", &here.path, e))?;
        let (dest_parent, dest_name) =
            path::split(&dest).map_err(|e| e.into_error(op, &here.path))?;
        // A relative link is relative to the directory holding it: resolve
        // it from that directory's descriptor, not from a path string.
        let next = if dest.is_absolute() {
            sys::dir::open_dir(rustix::fs::CWD, dest_parent)
        } else {
            sys::dir::open_dir(&*here.dir, dest_parent)
        }
        .and_then(|fd| sys::file::fstat(&fd).map(|st| (fd, st)))
        .map_err(|e| Error::io(op, "open symlink's directory", &here.path, e))?;
        dir_path = if dest.is_absolute() {
            dest_parent.to_owned()
        } else {
            dir_path.join(dest_parent)
        };
        here = Target {
            dir: Arc::new(next.0),
            dir_st: next.1,
            name: dest_name.to_owned(),
            path: dir_path.join(dest_name),
            found: Found::Nothing,
        };
    }
    Err(
        Error::io(op, "follow symlinks", user_path, Errno::LOOP.into())
            .with_kind(ErrorKind::SymlinkRefused),
    )
}

impl Target {
    /// The same name in the same directory, inspected again now, without
    /// following a symlink: for a write under a lock taken earlier, which
    /// must land in the locked directory. A symlink that appeared at the
    /// name since is refused unless `policy` is
    /// [`SymlinkPolicy::ReplaceLink`]: following it would write outside the
    /// file the lock protects.
    pub(crate) fn relook(&self, policy: SymlinkPolicy, op: Operation) -> Result<Target> {
        let found = match lookup(self, policy, op)? {
            Lookup::Found(found) => found,
            Lookup::Symlink(_) => {
                return Err(Error::new(
                    ErrorKind::SymlinkRefused,
                    op,
                    "inspect target",
                    &self.path,
                )
                .with_detail(
                    "the target became a symlink after its lock was taken; following it would \
                     write outside the locked file",
                ));
            }
        };
        Ok(Target {
            found,
            ..self.clone()
        })
    }

    /// The name `name` in the same directory (a file beside the target),
    /// inspected now as [`relook`](Target::relook) inspects the target.
    pub(crate) fn beside(
        &self,
        name: &OsStr,
        policy: SymlinkPolicy,
        op: Operation,
    ) -> Result<Target> {
        Target {
            name: name.to_owned(),
            path: self.path.with_file_name(name),
            found: Found::Nothing,
            ..self.clone()
        }
        .relook(policy, op)
    }

    /// The owner of the file found at the name, if a file was found.
    pub(crate) fn owner(&self) -> Option<u32> {
        self.found.file().map(|st| st.st_uid)
    }
}

/// What [`lookup`] found at a name.
enum Lookup {
    /// Nothing, a regular file, or a symlink the policy leaves in place.
    Found(Found),
    /// A symlink to follow (its `lstat`).
    Symlink(Stat),
}

/// Inspects `target.name` in `target.dir` without following it and applies
/// `policy` to a symlink there.
fn lookup(target: &Target, policy: SymlinkPolicy, op: Operation) -> Result<Lookup> {
    let shown = &target.path;
    let st = match sys::file::lstatat(&*target.dir, Path::new(&target.name)) {
        Err(e) if sys::errno(&e) == Some(Errno::NOENT) => return Ok(Lookup::Found(Found::Nothing)),
        Err(e) => return Err(Error::io(op, "inspect target", shown, e)),
        Ok(st) => st,
    };
    match st.file_type() {
        FileType::RegularFile => Ok(Lookup::Found(Found::File(st))),
        FileType::Directory => Err(Error::new(ErrorKind::IsADirectory, op, CHECK_PATH, shown)),
        FileType::Symlink => match policy {
            SymlinkPolicy::Refuse => {
                Err(Error::new(ErrorKind::SymlinkRefused, op, CHECK_PATH, shown)
                    .with_detail("the target is a symlink and the policy is SymlinkPolicy::Refuse"))
            }
            SymlinkPolicy::ReplaceLink => Ok(Lookup::Found(Found::Symlink)),
            SymlinkPolicy::Follow => Ok(Lookup::Symlink(st)),
        },
        _ => Err(Error::new(ErrorKind::InvalidInput, op, CHECK_PATH, shown)
            .with_detail("the target is not a regular file (device, FIFO or socket)")),
    }
}

/// The `fstat` of an open file that must be a regular file; a directory or
/// a special file is an error naming `path`.
pub(crate) fn require_regular(fd: &OwnedFd, op: Operation, path: &Path) -> Result<Stat> {
    let st = sys::file::fstat(fd).map_err(|e| Error::io(op, "stat file", path, e))?;
    match st.file_type() {
        FileType::RegularFile => Ok(st),
        FileType::Directory => Err(Error::new(ErrorKind::IsADirectory, op, "open file", path)),
        _ => Err(Error::new(ErrorKind::InvalidInput, op, "open file", path)
            .with_detail("not a regular file (device, FIFO or socket)")),
    }
}

/// The error for a symlink the protected-symlink rule does not follow.
fn refused_link(op: Operation, link: &Path, why: &str) -> Error {
    Error::new(ErrorKind::SymlinkRefused, op, "follow symlink", link)
        .with_detail(format!("the symlink is not followed: {why}"))
}
