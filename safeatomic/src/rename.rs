//! Renames: `move_atomic`, `move_atomic_noreplace`, `exchange_atomic`.

use crate::env::{self, Guarantee};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::identity::FileId;
use crate::path;
use crate::policy::Safety;
use crate::publish::{
    self, Publish, PublishError, durability_unconfirmed, is_beneath_itself, is_unsupported,
};
use crate::sys::{self, OwnedFd};
use rustix::io::Errno;
use std::path::Path;

/// Both sides of a two-path operation, with their directories open.
struct Pair<'a> {
    /// The destination's environment (the same device as the source's).
    env: std::sync::Arc<env::Environment>,
    src_dir: OwnedFd,
    src_name: &'a Path,
    dst_dir: OwnedFd,
    dst_name: &'a Path,
    same_dir: bool,
}

fn open_pair<'a>(op: Operation, src: &'a Path, dst: &'a Path) -> Result<Pair<'a>> {
    let err = |e: path::BadPath, p: &Path| {
        e.into_error(op, p)
            .with_other_path(if p == src { dst } else { src })
    };
    let (sp, sn) = path::split(src).map_err(|e| err(e, src))?;
    let (dp, dn) = path::split(dst).map_err(|e| err(e, dst))?;
    let open = |p: &Path, who: &Path| {
        sys::dir::open_dir(rustix::fs::CWD, p).map_err(|e| {
            Error::io(op, "open parent directory", who, e).with_other_path(if who == src {
                dst
            } else {
                src
            })
        })
    };
    let src_dir = open(sp, src)?;
    let dst_dir = open(dp, dst)?;
    let (se, src_st) =
        env::of_dir_with_stat(&src_dir).map_err(|e| Error::io(op, "detect filesystem", src, e))?;
    let (de, dst_st) =
        env::of_dir_with_stat(&dst_dir).map_err(|e| Error::io(op, "detect filesystem", dst, e))?;
    // Checked before any change: a move between devices cannot be a rename,
    // and we never emulate it with copy + delete.
    if se.device() != de.device() {
        return Err(Error::new(ErrorKind::CrossDevice, op, "check devices", src)
            .with_other_path(dst)
            .with_detail(format!(
                "`{}` is on {} and `{}` on {}",
                sp.display(),
                se.filesystem(),
                dp.display(),
                de.filesystem()
            )));
    }
    let need = [
        Guarantee::AtomicVisibility,
        Guarantee::CrashDurability,
        Guarantee::CrossDeviceSafety,
    ];
    env::gate(Safety::Strict, &se, &need, op, src).map_err(|e| e.with_other_path(dst))?;
    let same_dir = FileId::of(&src_st) == FileId::of(&dst_st);
    Ok(Pair {
        env: de,
        src_dir,
        src_name: Path::new(sn),
        dst_dir,
        dst_name: Path::new(dn),
        same_dir,
    })
}

impl Pair<'_> {
    /// fsync both directories (once if they are the same), so the new names
    /// survive a power loss.
    fn sync(&self, op: Operation, src: &Path, dst: &Path) -> Result<()> {
        if let Err(e) = sys::file::fsync(&self.dst_dir) {
            return durability_unconfirmed(Safety::Strict, op, dst, e)
                .map_err(|e| e.with_other_path(src));
        }
        if !self.same_dir
            && let Err(e) = sys::file::fsync(&self.src_dir)
        {
            return durability_unconfirmed(Safety::Strict, op, src, e)
                .map_err(|e| e.with_other_path(dst));
        }
        Ok(())
    }
}

fn rename_error(
    op: Operation,
    step: &'static str,
    src: &Path,
    dst: &Path,
    e: std::io::Error,
) -> Error {
    Error::io(op, step, src, e).with_other_path(dst)
}

/// The error for the one request every rename refuses with `EINVAL`.
fn beneath_itself(err: Error) -> Error {
    err.with_kind(ErrorKind::InvalidInput)
        .with_detail("a directory cannot be moved beneath itself")
}

/// The error for a failed `renameat2` with a flag: `EINVAL` is either a
/// directory moved beneath itself ([`InvalidInput`](ErrorKind::InvalidInput))
/// or the filesystem lacking the flag
/// ([`UnsupportedOperation`](ErrorKind::UnsupportedOperation)); `ENOSYS` and
/// `EOPNOTSUPP` are always the latter.
fn flagged_rename_error(
    p: &Pair<'_>,
    op: Operation,
    step: &'static str,
    src: &Path,
    dst: &Path,
    e: std::io::Error,
) -> Error {
    let invalid = sys::errno(&e) == Some(Errno::INVAL)
        && (is_beneath_itself(&p.src_dir, p.src_name, &p.dst_dir)
            || is_beneath_itself(&p.dst_dir, p.dst_name, &p.src_dir));
    let unsupported = !invalid && is_unsupported(&e);
    let err = rename_error(op, step, src, dst, e);
    if invalid {
        beneath_itself(err)
    } else if unsupported {
        err.with_kind(ErrorKind::UnsupportedOperation)
    } else {
        err
    }
}

/// Renames `src` to `dst` atomically, replacing `dst` if it exists, and makes
/// the change durable (both directories are fsynced).
///
/// A move that would cross filesystems is refused — checked before anything
/// happens, and normalised to the same error if the kernel reports `EXDEV` —
/// because it could only be emulated by copy and delete, which is not atomic.
/// A symlink at `src` is moved as a link.
///
/// # Errors
///
/// [`CrossDevice`](crate::ErrorKind::CrossDevice) (nothing moved),
/// [`NotFound`](crate::ErrorKind::NotFound) (`src` or a parent missing),
/// [`PermissionDenied`](crate::ErrorKind::PermissionDenied),
/// [`IsADirectory`](crate::ErrorKind::IsADirectory) /
/// [`NotADirectory`](crate::ErrorKind::NotADirectory) (file over directory or
/// the reverse), [`InvalidInput`](crate::ErrorKind::InvalidInput) (a
/// directory moved beneath itself),
/// [`UnsupportedEnvironment`](crate::ErrorKind::UnsupportedEnvironment),
/// or [`DurabilityUnconfirmed`](crate::ErrorKind::DurabilityUnconfirmed)
/// (moved, directory fsync failed). Errors name both paths.
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let (a, b) = (dir.path().join("a"), dir.path().join("b"));
/// safeatomic::write_atomic(&a, b"data")?;
/// safeatomic::move_atomic(&a, &b)?;
/// assert!(!a.exists());
/// assert_eq!(std::fs::read(&b)?, b"data");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn move_atomic(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<()> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    let op = Operation::Move;
    let p = open_pair(op, src, dst)?;
    sys::dir::renameat(&p.src_dir, p.src_name, &p.dst_dir, p.dst_name).map_err(|e| {
        // Plain rename(2) fails with EINVAL only for a request that can
        // never succeed: a directory moved beneath itself.
        let invalid = sys::errno(&e) == Some(Errno::INVAL);
        let err = rename_error(op, "rename", src, dst, e);
        if invalid { beneath_itself(err) } else { err }
    })?;
    p.sync(op, src, dst)
}

/// Renames `src` to `dst` atomically only if `dst` does not exist, and makes
/// the change durable.
///
/// Uses `renameat2(RENAME_NOREPLACE)`; on filesystems without it, `link(2)`
/// then `unlink(2)` of `src` (the no-replace decision is still atomic; a
/// crash between the two can leave both names, never neither).
///
/// # Errors
///
/// [`AlreadyExists`](crate::ErrorKind::AlreadyExists) if `dst` exists
/// (nothing moved); otherwise as [`move_atomic`].
///
/// # Examples
///
/// ```
/// use safeatomic::{ErrorKind, move_atomic_noreplace, write_atomic};
/// # let dir = tempfile::tempdir()?;
/// let (a, b) = (dir.path().join("a"), dir.path().join("b"));
/// write_atomic(&a, b"new")?;
/// write_atomic(&b, b"old")?;
/// assert_eq!(move_atomic_noreplace(&a, &b).unwrap_err().kind(), ErrorKind::AlreadyExists);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn move_atomic_noreplace(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<()> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    let op = Operation::Move;
    let p = open_pair(op, src, dst)?;
    match publish::publish(
        &p.src_dir,
        p.src_name,
        &p.dst_dir,
        p.dst_name,
        Publish::NoReplace,
        &p.env,
    ) {
        Ok(()) => p.sync(op, src, dst),
        Err(PublishError::Rename(e)) => Err(flagged_rename_error(
            &p,
            op,
            "rename without replace",
            src,
            dst,
            e,
        )),
        Err(PublishError::Link(e)) => {
            // Directories cannot be hard-linked: without RENAME_NOREPLACE
            // there is no atomic no-replace move for them.
            let kind = if sys::errno(&e) == Some(Errno::PERM) {
                ErrorKind::UnsupportedOperation
            } else {
                ErrorKind::of_io(&e)
            };
            Err(rename_error(op, "link without replace", src, dst, e).with_kind(kind))
        }
        Err(PublishError::SourceLeft(e)) => {
            Err(rename_error(op, "remove source after link", src, dst, e))
        }
    }
}

/// Swaps `a` and `b` atomically (`renameat2(RENAME_EXCHANGE)`): at every
/// moment each name refers to one of the two complete files. Both must
/// exist. The change is made durable.
///
/// There is no emulation: where the kernel or filesystem lacks the
/// operation, it fails with
/// [`UnsupportedOperation`](crate::ErrorKind::UnsupportedOperation) and
/// nothing changes.
///
/// # Errors
///
/// [`UnsupportedOperation`](crate::ErrorKind::UnsupportedOperation),
/// [`NotFound`](crate::ErrorKind::NotFound) (either side missing),
/// [`CrossDevice`](crate::ErrorKind::CrossDevice); otherwise as [`move_atomic`].
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let (a, b) = (dir.path().join("a"), dir.path().join("b"));
/// safeatomic::write_atomic(&a, b"A")?;
/// safeatomic::write_atomic(&b, b"B")?;
/// safeatomic::exchange_atomic(&a, &b)?;
/// assert_eq!(std::fs::read(&a)?, b"B");
/// assert_eq!(std::fs::read(&b)?, b"A");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn exchange_atomic(a: impl AsRef<Path>, b: impl AsRef<Path>) -> Result<()> {
    let (a, b) = (a.as_ref(), b.as_ref());
    let op = Operation::Exchange;
    let p = open_pair(op, a, b)?;
    sys::dir::renameat_exchange(&p.src_dir, p.src_name, &p.dst_dir, p.dst_name)
        .map_err(|e| flagged_rename_error(&p, op, "exchange", a, b, e))?;
    p.sync(op, a, b)
}
