//! Publishing: the one way a file gets its final name (data commits,
//! checksum sidecars, no-replace moves, a corrupt store's move aside), the
//! temp files that are published, and what a failed directory fsync after
//! a publish means (`docs/design.md`, the write protocol).

use crate::env::{self, Environment};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::identity::FileId;
use crate::litter;
use crate::policy::Safety;
use crate::sys::{self, Mode, OFlags, OwnedFd};
use rustix::io::Errno;
use std::ffi::OsString;
use std::path::Path;

/// How the temp file is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publish {
    /// `renameat`: replace whatever is there.
    Replace,
    /// `renameat2(RENAME_NOREPLACE)`, or `linkat` where that is unsupported:
    /// publish only if nothing is there.
    NoReplace,
}

/// Creates and locks a fresh temp file in `dir` (write protocol step
/// *create*, `docs/design.md`), with `mode` (or `0o666` minus the umask):
/// its name, descriptor, the ids it was created with, and its identity.
pub(crate) fn create_temp(
    dir: &OwnedFd,
    shown: &Path,
    mode: Option<u32>,
    op: Operation,
) -> Result<(OsString, OwnedFd, (u32, u32), FileId)> {
    let fail = |step, e| Error::io(op, step, shown, e);
    // Without an explicit or inherited mode, 0o666 lets the kernel apply the
    // umask, exactly as for a file created by open(2). With one, create with
    // it (the umask can only make it stricter) and fix it up afterwards.
    let create_mode = Mode::from_raw_mode(mode.unwrap_or(0o666) & 0o777);
    let create = || litter::create_owned(dir, litter::temp_name, OFlags::WRONLY, create_mode);
    match create() {
        // Out of space or inodes: dead writers' temp files may hold them.
        // Sweep, and if that freed any, try once more.
        Err((litter::CreateStep::Create, e))
            if is_full(&e) && litter::sweep_logged(dir, shown) > 0 =>
        {
            create()
        }
        created => created,
    }
    .map(|(name, fd, st)| (name, fd, (st.st_uid, st.st_gid), FileId::of(&st)))
    .map_err(|(step, e)| {
        fail(
            match step {
                litter::CreateStep::Create => "create temp file",
                litter::CreateStep::Lock => "lock temp file",
            },
            e,
        )
    })
}

/// Whether `e` says the filesystem is out of space or inodes, or the
/// quota is used up.
fn is_full(e: &std::io::Error) -> bool {
    matches!(sys::errno(e), Some(Errno::NOSPC | Errno::DQUOT))
}

/// A small file written and fsynced under a temp name, not yet published;
/// dropped unpublished, its temp file is removed.
pub(crate) struct Staged<'a> {
    dir: &'a OwnedFd,
    tmp: OsString,
    /// Held open until the rename: its `flock` tells litter sweeps that a
    /// live writer owns the temp file (decision 0002).
    _fd: OwnedFd,
    op: Operation,
    shown: std::path::PathBuf,
}

impl<'a> Staged<'a> {
    /// Writes `content` to a fresh temp file in `dir` with exactly `mode`
    /// (or the umask default) and the ids `owner` (where the writer may
    /// give them), and fsyncs it.
    pub(crate) fn new(
        dir: &'a OwnedFd,
        content: &[u8],
        mode: Option<u32>,
        owner: Option<(u32, u32)>,
        op: Operation,
        shown: &Path,
    ) -> Result<Self> {
        let (tmp, fd, created, _) = create_temp(dir, shown, mode, op)?;
        let staged = Staged {
            dir,
            tmp,
            _fd: fd,
            op,
            shown: shown.to_owned(),
        };
        let fd = &staged._fd;
        exact_owner_and_mode(fd, created, owner, mode)
            .map_err(|e| staged.fail("set owner and mode of temp file", e))?;
        sys::file::write_all(fd, content).map_err(|e| staged.fail("write temp file", e))?;
        sys::file::fsync(fd).map_err(|e| staged.fail("fsync temp file", e))?;
        Ok(staged)
    }

    fn fail(&self, step: &'static str, e: std::io::Error) -> Error {
        Error::io(self.op, step, &self.shown, e)
    }

    /// Publishes it as `name`, replacing what is there.
    pub(crate) fn publish(mut self, name: &std::ffi::OsStr, env: &Environment) -> Result<()> {
        let (tmp, to) = (Path::new(&self.tmp), Path::new(name));
        match publish(self.dir, tmp, self.dir, to, Publish::Replace, env) {
            Ok(()) => {}
            Err(PublishError::Rename(e) | PublishError::Link(e) | PublishError::SourceLeft(e)) => {
                return Err(self.fail("rename into place", e));
            }
        }
        self.tmp.clear();
        Ok(())
    }
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if !self.tmp.is_empty()
            && let Err(e) = sys::dir::unlinkat(self.dir, Path::new(&self.tmp))
        {
            log::warn!(
                "could not remove temp file {:?} beside {}: {e}",
                self.tmp,
                self.shown.display()
            );
        }
    }
}

/// Gives a small file's fresh temp file (created with ids `created`) the
/// ids `owner` where permitted, and exactly `mode` where the umask or the
/// `fchown` changed it.
fn exact_owner_and_mode(
    fd: &OwnedFd,
    created: (u32, u32),
    owner: Option<(u32, u32)>,
    mode: Option<u32>,
) -> std::io::Result<()> {
    let mut chowned = false;
    if let Some((uid, gid)) = owner
        && (uid, gid) != created
    {
        match sys::file::fchown(fd, uid, gid) {
            Ok(()) => chowned = true,
            Err(e) if matches!(sys::errno(&e), Some(Errno::PERM | Errno::ACCESS)) => {
                log::debug!("cannot give a sidecar its data file's owner: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(mode) = mode
        && (chowned || sys::process::umask().is_none_or(|u| mode & u != 0))
    {
        sys::file::fchmod(fd, Mode::from_raw_mode(mode))?;
    }
    Ok(())
}

/// Why [`publish`] failed.
#[derive(Debug)]
pub(crate) enum PublishError {
    /// The rename failed: nothing was published.
    Rename(std::io::Error),
    /// The link of the no-replace fallback failed: nothing was published.
    Link(std::io::Error),
    /// Published through the link fallback, but the source name could not
    /// be removed: the file now has both names.
    SourceLeft(std::io::Error),
}

/// The one way a file gets its final name: renames `from` (in `from_dir`)
/// to `to` (in `to_dir`), replacing what is there, or with
/// [`Publish::NoReplace`] only if nothing is.
///
/// No-replace is `renameat2(RENAME_NOREPLACE)`. Where the filesystem or
/// kernel lacks the flag (`EINVAL`, `ENOSYS`, `EOPNOTSUPP`; an `EINVAL` for
/// a directory moved beneath itself is not that, and is returned), that is
/// remembered for the device and `link(2)` + `unlink(2)` is used: `link`
/// fails with `EEXIST` if the name exists, so the no-replace decision is
/// still atomic; a crash between the two leaves both names, never neither.
pub(crate) fn publish(
    from_dir: &OwnedFd,
    from: &Path,
    to_dir: &OwnedFd,
    to: &Path,
    how: Publish,
    env: &Environment,
) -> std::result::Result<(), PublishError> {
    if how == Publish::Replace {
        return sys::dir::renameat(from_dir, from, to_dir, to).map_err(PublishError::Rename);
    }
    if env::capability(env, env::Capability::RenameNoreplace) != Some(false) {
        match sys::dir::renameat_noreplace(from_dir, from, to_dir, to) {
            Ok(()) => return Ok(()),
            Err(e)
                if is_unsupported(&e)
                    && !(sys::errno(&e) == Some(Errno::INVAL)
                        && (is_beneath_itself(from_dir, from, to_dir)
                            || is_beneath_itself(to_dir, to, from_dir))) =>
            {
                // Learnt once per device: the filesystem lacks the flag.
                env::set_capability(env, env::Capability::RenameNoreplace, false);
            }
            Err(e) => return Err(PublishError::Rename(e)),
        }
    }
    sys::dir::linkat(from_dir, from, to_dir, to).map_err(PublishError::Link)?;
    sys::dir::unlinkat(from_dir, from).map_err(PublishError::SourceLeft)
}

/// `EINVAL`, `ENOSYS`, `EOPNOTSUPP`: the filesystem or kernel lacks the flag.
pub(crate) fn is_unsupported(e: &std::io::Error) -> bool {
    matches!(
        sys::errno(e),
        Some(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP)
    )
}

/// The outcome of a failed directory fsync after a successful publish.
pub(crate) fn durability_unconfirmed(
    safety: Safety,
    op: Operation,
    path: &Path,
    e: std::io::Error,
) -> Result<()> {
    match safety {
        Safety::Strict => Err(Error::new(
            ErrorKind::DurabilityUnconfirmed,
            op,
            "fsync directory",
            path,
        )
        .with_source(e)),
        Safety::Warn => {
            log::warn!(
                "{}: committed, but the directory fsync failed ({e}); the change may not survive a power loss",
                path.display()
            );
            Ok(())
        }
        Safety::BestEffort => Ok(()),
    }
}

/// Whether `name` in `dir` is a directory that `other_dir` is or lies
/// beneath: the one request `renameat2` refuses with `EINVAL` on every
/// filesystem. Used to tell that refusal apart from the `EINVAL` a
/// filesystem without the requested flag returns, which must not be
/// mistaken for (and remembered as) a missing capability.
///
/// Walks up from `other_dir` through `..` to the root; any error while
/// walking answers `false` (the caller then reports the flag as missing).
pub(crate) fn is_beneath_itself(dir: &OwnedFd, name: &Path, other_dir: &OwnedFd) -> bool {
    /// Deeper than any real path: a bound on the walk, not a limit users meet.
    const MAX_DEPTH: usize = 4096;
    let Ok(moved) = sys::file::lstatat(dir, name) else {
        return false;
    };
    if !moved.file_type().is_dir() {
        return false;
    }
    let id = FileId::of;
    let Ok(mut cur_st) = sys::file::fstat(other_dir) else {
        return false;
    };
    let mut cur: Option<OwnedFd> = None;
    for _ in 0..MAX_DEPTH {
        if id(&cur_st) == id(&moved) {
            return true;
        }
        let parent = match &cur {
            Some(fd) => sys::dir::open_dir(fd, Path::new("..")),
            None => sys::dir::open_dir(other_dir, Path::new("..")),
        };
        let Ok(parent) = parent else { return false };
        let Ok(parent_st) = sys::file::fstat(&parent) else {
            return false;
        };
        if id(&parent_st) == id(&cur_st) {
            return false; // the root is its own parent
        }
        cur = Some(parent);
        cur_st = parent_st;
    }
    false
}
