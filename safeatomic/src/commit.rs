//! The one write protocol (DESIGN §3). Every writer in the crate —
//! `write_atomic`, `AtomicWriter`, `create_atomic`, and everything built on
//! them — goes through [`Pending`]:
//!
//! 1. open the parent directory once; every later step is relative to it;
//! 2. resolve the symlink policy, then the safety gate (before any write);
//! 3. take the cooperative lock (when the options say so, and always for a
//!    checksummed create-if-absent); a create-if-absent checks under it
//!    that the target is still absent;
//! 4. sweep litter; create `.safeatomic-tmp-<16 hex>.tmp` with
//!    `O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC` and the final mode, and lock
//!    it; then, before any byte is written, give it the owner (`fchown`)
//!    and the exact mode (`fchmod`) of the final file;
//! 5. write all bytes, hashing them on the way when a sidecar is wanted;
//! 6. `fsync` the temp file;
//! 7. with a checksum: publish the sidecar (temp file, fsync, rename) and
//!    `fsync` the directory (docs/decisions/0004);
//! 8. `renameat` over the target, or `renameat2(RENAME_NOREPLACE)` for a
//!    create (the visibility point);
//! 9. `fsync` the directory (the durability point); release the lock.
//!
//! Any failure before step 8 removes the temp file and leaves the target
//! untouched; a create that fails at step 8 also puts the sidecar state
//! back as it was (docs/decisions/0008).

use crate::checksum::{self, Algorithm, Hasher};
use crate::env::{self, Environment, Guarantee};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::litter;
use crate::lock::{self, LockGuard, Wait};
use crate::options::{Safety, SymlinkPolicy, WriteOptions};
use crate::path;
use crate::sys::{self, Mode, OFlags, OwnedFd, Stat};
use rustix::fs::FileType;
use rustix::io::Errno;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Linux's own limit on symlink hops (`MAXSYMLINKS`, path_resolution(7)).
const MAX_SYMLINK_HOPS: usize = 40;

/// What was found at the target name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Found {
    Nothing,
    File(Stat),
    /// Only with [`SymlinkPolicy::ReplaceLink`] (and for create-if-absent).
    Symlink,
}

/// A target resolved to (open directory, name inside it).
pub(crate) struct Resolved {
    pub(crate) dir: OwnedFd,
    /// The target as the user would name it (after following symlinks).
    pub(crate) path: PathBuf,
    pub(crate) name: OsString,
    pub(crate) found: Found,
    pub(crate) env: Arc<Environment>,
}

/// Opens the parent of `user_path` and resolves the last component under
/// `policy`. Performs no write.
pub(crate) fn resolve(user_path: &Path, policy: SymlinkPolicy, op: Operation) -> Result<Resolved> {
    let (parent, name) = path::split(user_path).map_err(|e| e.into_error(op, user_path))?;
    let mut dir = sys::dir::open_dir(rustix::fs::CWD, parent)
        .map_err(|e| Error::io(op, "open parent directory", user_path, e))?;
    let mut dir_path = parent.to_owned();
    let mut name = name.to_owned();
    let mut shown = user_path.to_owned();
    for _ in 0..=MAX_SYMLINK_HOPS {
        let found = match sys::file::lstatat(&dir, Path::new(&name)) {
            Err(e) if sys::errno(&e) == Some(Errno::NOENT) => Found::Nothing,
            Err(e) => return Err(Error::io(op, "inspect target", &shown, e)),
            Ok(st) => {
                match FileType::from_raw_mode(st.st_mode) {
                    FileType::RegularFile => Found::File(st),
                    FileType::Directory => {
                        return Err(Error::new(
                            ErrorKind::IsADirectory,
                            op,
                            "inspect target",
                            &shown,
                        ));
                    }
                    FileType::Symlink => {
                        match policy {
                            SymlinkPolicy::Refuse => {
                                return Err(Error::new(ErrorKind::SymlinkRefused, op, "inspect target", &shown)
                            .with_detail("the target is a symlink and the policy is SymlinkPolicy::Refuse"));
                            }
                            SymlinkPolicy::ReplaceLink => Found::Symlink,
                            SymlinkPolicy::Follow => {
                                let link = sys::dir::readlinkat(&dir, Path::new(&name))
                                    .map_err(|e| Error::io(op, "read symlink", &shown, e))?;
                                let (link_parent, link_name) =
                                    path::split(&link).map_err(|e| e.into_error(op, &shown))?;
                                // A relative link is relative to the directory holding it:
                                // resolve it from that directory's fd, not from a path string.
                                let base_dir = if link.is_absolute() { None } else { Some(&dir) };
                                let next = match base_dir {
                                    Some(d) => sys::dir::open_dir(d, link_parent),
                                    None => sys::dir::open_dir(rustix::fs::CWD, link_parent),
                                }
                                .map_err(|e| {
                                    Error::io(op, "open symlink's directory", &shown, e)
                                })?;
                                dir_path = if link.is_absolute() {
                                    link_parent.to_owned()
                                } else {
                                    dir_path.join(link_parent)
                                };
                                dir = next;
                                name = link_name.to_owned();
                                shown = dir_path.join(&name);
                                continue;
                            }
                        }
                    }
                    _ => {
                        return Err(Error::new(
                            ErrorKind::InvalidInput,
                            op,
                            "inspect target",
                            &shown,
                        )
                        .with_detail("the target is not a regular file (device, FIFO or socket)"));
                    }
                }
            }
        };
        let env = env::of_dir(&dir).map_err(|e| Error::io(op, "detect filesystem", &shown, e))?;
        return Ok(Resolved {
            dir,
            path: shown,
            name,
            found,
            env,
        });
    }
    Err(
        Error::io(op, "follow symlinks", user_path, Errno::LOOP.into())
            .with_kind(ErrorKind::SymlinkRefused),
    )
}

/// How the temp file is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publish {
    /// `renameat`: replace whatever is there.
    Replace,
    /// `renameat2(RENAME_NOREPLACE)`, or `linkat` where that is unsupported:
    /// publish only if nothing is there.
    NoReplace,
}

/// A write in progress: a locked temp file beside the target.
pub(crate) struct Pending {
    target: Resolved,
    op: Operation,
    safety: Safety,
    publish: Publish,
    temp_name: OsString,
    temp: Option<OwnedFd>,
    /// The temp file's owner and group as created: the writer's effective
    /// ids (or the directory's group, in a set-group-ID directory).
    temp_owner: (u32, u32),
    /// The digest of everything written so far, when a sidecar is wanted.
    hasher: Option<Hasher>,
    /// The permission bits the data file gets, when known (explicit or
    /// inherited); its sidecar gets the same read/write bits.
    final_mode: Option<u32>,
    /// The cooperative lock, when the write takes it itself. Declared last:
    /// fields drop in order, so it is released after the temp file is gone.
    _lock: Option<LockGuard>,
}

/// Whether a write takes the target's cooperative lock itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locking {
    /// As [`WriteOptions::lock`] says. A create-if-absent decides by
    /// `RENAME_NOREPLACE` and needs no lock, except to publish a sidecar:
    /// it then takes it, and refuses `.lock(false)` (decision 0008).
    ByOptions,
    /// Not here: the caller holds a [`LockGuard`] for the target already.
    Skip,
}

impl Pending {
    /// A whole write of `data` in one go: begin, write, commit.
    pub(crate) fn write_whole(
        path: &Path,
        data: &[u8],
        opts: &WriteOptions,
        op: Operation,
        publish: Publish,
        locking: Locking,
    ) -> Result<()> {
        let mut pending = Self::begin(path, opts, op, publish, locking)?;
        pending.write(data)?;
        pending.commit()
    }

    /// Steps 1–3 and 6: resolve, gate, sweep litter, create the temp file
    /// with its final mode and owner.
    pub(crate) fn begin(
        path: &Path,
        opts: &WriteOptions,
        op: Operation,
        publish: Publish,
        locking: Locking,
    ) -> Result<Self> {
        if let Some(mode) = opts.mode
            && mode & !0o7777 != 0
        {
            return Err(
                Error::new(ErrorKind::InvalidInput, op, "check options", path)
                    .with_detail(format!("mode {mode:#o} has bits outside 0o7777")),
            );
        }
        // A checksummed create publishes its sidecar before its data: only
        // under the writers' lock can it know that no other creator will
        // overwrite that sidecar and then lose (decision 0008).
        if publish == Publish::NoReplace && opts.checksum.is_some() && !opts.lock {
            return Err(
                Error::new(ErrorKind::InvalidInput, op, "check options", path).with_detail(
                    "a create with a checksum sidecar needs the cooperative lock; \
                     `.lock(false)` is refused (decision 0008)",
                ),
            );
        }
        let policy = match publish {
            // Create-if-absent never follows: anything at the name means "exists".
            Publish::NoReplace => SymlinkPolicy::ReplaceLink,
            Publish::Replace => opts.symlinks,
        };
        let target = resolve(path, policy, op)?;
        let take_lock = locking == Locking::ByOptions
            && match publish {
                Publish::Replace => opts.lock,
                Publish::NoReplace => opts.checksum.is_some(),
            };
        let needed: &[Guarantee] = if take_lock {
            &[
                Guarantee::AtomicVisibility,
                Guarantee::CrashDurability,
                Guarantee::WriterExclusion,
            ]
        } else {
            &[Guarantee::AtomicVisibility, Guarantee::CrashDurability]
        };
        env::gate(opts.safety, &target.env, needed, op, &target.path)?;
        // The lock comes before the temp file exists and is released after
        // the directory fsync: writers of one target never overlap.
        let lock = if take_lock {
            let wait = Wait::Block(opts.lock_timeout);
            lock::acquire_in(op, &target.dir, &target.name, &target.path, wait, None)?
        } else {
            None
        };
        if publish == Publish::NoReplace {
            let exists = if lock.is_some() {
                // Under the lock: what is there now is what counts. Refused
                // here, a losing creator has touched nothing.
                match sys::file::lstatat(&target.dir, Path::new(&target.name)) {
                    Err(e) if sys::errno(&e) == Some(Errno::NOENT) => false,
                    Err(e) => return Err(Error::io(op, "inspect target", &target.path, e)),
                    Ok(_) => true,
                }
            } else {
                !matches!(target.found, Found::Nothing)
            };
            if exists {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    op,
                    "check target",
                    &target.path,
                ));
            }
        }
        // Litter removal is housekeeping: its failure must not fail the write.
        if let Err(e) = litter::sweep(&target.dir) {
            log::debug!(
                "litter sweep in the directory of {} failed: {e}",
                target.path.display()
            );
        }
        let existing = match target.found {
            Found::File(st) => Some(st),
            _ => None,
        };
        let (temp_name, temp, temp_owner) = create_temp(
            &target.dir,
            &target.path,
            opts.mode.or(existing.map(|st| st.st_mode & 0o7777)),
            op,
        )?;
        let mut pending = Pending {
            target,
            op,
            safety: opts.safety,
            publish,
            temp_name,
            temp: Some(temp),
            temp_owner,
            hasher: opts.checksum.map(Algorithm::hasher),
            final_mode: opts.mode.or(existing.map(|st| st.st_mode & 0o7777)),
            _lock: lock,
        };
        pending.set_owner_and_mode(opts, existing)?;
        Ok(pending)
    }

    /// The target path (after following symlinks).
    pub(crate) fn path(&self) -> &Path {
        &self.target.path
    }

    fn temp(&self) -> &OwnedFd {
        // Invariant: `temp` is Some until commit or discard consumes self.
        self.temp
            .as_ref()
            .expect("temp file is open until commit or discard")
    }

    fn fail(&self, step: &'static str, e: std::io::Error) -> Error {
        Error::io(self.op, step, &self.target.path, e)
    }

    /// Step 6. Owner first: `fchown` clears set-user-ID bits, so the mode is
    /// fixed after it.
    fn set_owner_and_mode(&mut self, opts: &WriteOptions, existing: Option<Stat>) -> Result<()> {
        let mut chowned = false;
        if opts.preserve_owner
            && let Some(st) = existing
            && (st.st_uid, st.st_gid) != self.temp_owner
        {
            match sys::file::fchown(self.temp(), st.st_uid, st.st_gid) {
                Ok(()) => chowned = true,
                // Not permitted (not root, not a member of the group): the
                // file gets the writer's ids, as a plain write would give it.
                Err(e) if matches!(sys::errno(&e), Some(Errno::PERM | Errno::ACCESS)) => {
                    log::debug!(
                        "cannot preserve owner of {}: {e}",
                        self.target.path.display()
                    );
                }
                Err(e) => return Err(self.fail("set owner of temp file", e)),
            }
        }
        let wanted = opts.mode.or(existing.map(|st| st.st_mode & 0o7777));
        if let Some(mode) = wanted {
            // The kernel applied the umask at creation; fix the mode only when
            // that changed it (or we cannot know), or fchown cleared bits.
            let umask_stripped = sys::process::umask().is_none_or(|u| mode & u != 0);
            if umask_stripped || chowned || mode & 0o7000 != 0 {
                sys::file::fchmod(self.temp(), Mode::from_raw_mode(mode))
                    .map_err(|e| self.fail("set mode of temp file", e))?;
            }
        }
        Ok(())
    }

    /// Step 4: append bytes to the temp file.
    pub(crate) fn write(&mut self, buf: &[u8]) -> Result<()> {
        sys::file::write_all(self.temp(), buf).map_err(|e| self.fail("write temp file", e))?;
        // Hash what was written, in the same pass: never a re-read.
        if let Some(h) = self.hasher.as_mut() {
            h.update(buf);
        }
        Ok(())
    }

    /// Steps 5, 7, 8: make the temp file durable, publish it, make the
    /// directory entry durable.
    pub(crate) fn commit(mut self) -> Result<()> {
        let publish = self.publish;
        // fsync before rename: otherwise a crash can leave the new name
        // pointing at an inode whose data never reached the disk (the
        // zero-length-file-after-crash problem of ext4 delalloc, 2009).
        let temp = self.temp.take().expect("temp file is open until commit");
        if let Err(e) = sys::file::fsync(&temp) {
            self.temp = Some(temp);
            return Err(self.fail("fsync temp file", e));
        }
        let mut sidecar = None;
        if let Some(hasher) = self.hasher.take() {
            let algorithm = hasher.algorithm();
            match self.publish_sidecar(hasher) {
                Ok(undo) => sidecar = Some((algorithm, undo)),
                Err(e) => {
                    self.temp = Some(temp);
                    return Err(e);
                }
            }
        }
        let dir = &self.target.dir;
        let (tmp, name) = (Path::new(&self.temp_name), Path::new(&self.target.name));
        let renamed = match publish {
            Publish::Replace => sys::dir::renameat(dir, tmp, dir, name)
                .map_err(|e| self.fail("rename into place", e)),
            Publish::NoReplace => publish_noreplace(dir, tmp, name, &self.target.env)
                .map_err(|e| self.fail("publish if absent", e)),
        };
        if let Err(e) = renamed {
            // A create whose name was taken after all (by a program that
            // ignores the lock): its sidecar must not stay.
            if let Some((_, Some(undo))) = sidecar {
                self.undo_sidecar(undo);
            }
            self.temp = Some(temp);
            return Err(e);
        }
        if publish == Publish::NoReplace
            && let Some((algorithm, _)) = sidecar
        {
            // Published: only now may a create remove other algorithms'
            // sidecars (orphans of a deleted file).
            checksum::remove_other_sidecars(dir, &self.target.name, algorithm);
        }
        // The name is gone from under the temp file now; closing it drops our
        // flock (nothing to clean up any more).
        self.temp_name.clear();
        drop(temp);
        // fsync the directory: the rename lives in the directory, and until
        // it is on disk a power loss can bring back the old file (or no file).
        if let Err(e) = sys::file::fsync(dir) {
            return durability_unconfirmed(self.safety, self.op, &self.target.path, e);
        }
        Ok(())
    }

    /// Publishes the sidecar of the new data *before* the data: it names the
    /// incoming digest and the outgoing one (bound to the outgoing inode), so
    /// every crash state verifies, and lock-free readers, which read the
    /// sidecar first, never see a sidecar older than the data
    /// (docs/decisions/0004-checksum-sidecar-first.md).
    ///
    /// A create (no-replace) publishes over no data file: anything at the
    /// name now fails it with `AlreadyExists` before any sidecar is touched.
    /// It returns how to put the sidecar state back if its data rename then
    /// fails, and leaves other algorithms' sidecars until the data is in.
    fn publish_sidecar(&self, hasher: Hasher) -> Result<Option<SidecarUndo>> {
        let algorithm = hasher.algorithm();
        let digest = hasher.finish_hex();
        let dir = &self.target.dir;
        let name = &self.target.name;
        // Under the lock now: what is at the name is what we replace.
        let outgoing = match sys::file::lstatat(dir, Path::new(name)) {
            Ok(st) => Some(st),
            Err(e) if sys::errno(&e) == Some(Errno::NOENT) => None,
            Err(e) => return Err(self.fail("inspect target", e)),
        };
        if self.publish == Publish::NoReplace && outgoing.is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                self.op,
                "check target",
                &self.target.path,
            ));
        }
        let previous = match outgoing {
            None => None,
            Some(st) => Some((self.outgoing_digest(algorithm, &st)?, st)),
        };
        let content = checksum::render_sidecar(
            algorithm,
            &digest,
            name,
            previous.as_ref().map(|((a, d), st)| (*a, d.as_str(), st)),
        );
        let sname = checksum::sidecar_name(name, algorithm);
        let spath = checksum::sidecar_path(&self.target.path, algorithm);
        let mode = self.final_mode.map(|m| m & 0o666);
        let undo = match self.publish {
            Publish::NoReplace => Some(SidecarUndo::capture(dir, &sname, spath.clone())),
            Publish::Replace => None,
        };
        publish_small(dir, &sname, &content, mode, self.op, &spath)?;
        // The barrier: the new sidecar must be durable before the data
        // rename can be, or a power cut could keep new data and lose the
        // sidecar that vouches for it.
        sys::file::fsync(dir).map_err(|e| self.fail("fsync directory (sidecar)", e))?;
        if self.publish == Publish::Replace {
            checksum::remove_other_sidecars(dir, name, algorithm);
        }
        Ok(undo)
    }

    /// Puts back the sidecar state from before a create whose data could
    /// not be published. Best effort: a failure is logged, and the sidecar
    /// left then describes a file that is not there.
    fn undo_sidecar(&self, undo: SidecarUndo) {
        let dir = &self.target.dir;
        let done = match &undo.before {
            Before::Absent => sys::dir::unlinkat(dir, Path::new(&undo.name))
                .map_err(|e| self.fail("remove sidecar", e)),
            Before::Present { content, mode } => publish_small(
                dir,
                &undo.name,
                content,
                Some(*mode),
                self.op,
                &undo.shown,
            ),
            Before::Unknown => {
                log::warn!(
                    "{}: the create failed, and the sidecar it published replaced one that could not be saved; left in place",
                    undo.shown.display()
                );
                return;
            }
        }
        .and_then(|()| {
            sys::file::fsync(dir).map_err(|e| self.fail("fsync directory (sidecar)", e))
        });
        match done {
            Ok(()) => log::debug!("{}: sidecar state restored", undo.shown.display()),
            Err(e) => log::warn!(
                "{}: the create failed and its sidecar could not be taken back: {e}",
                undo.shown.display()
            ),
        }
    }

    /// The digest of the version being replaced (`outgoing`): what its
    /// sidecar vouches for *for this very file*, or, without a readable
    /// sidecar, the digest of its bytes.
    ///
    /// After a crash between a previous write's sidecar and its data rename,
    /// the sidecar's current digest describes a version that was never
    /// published; its `previous` lines, bound to this file's inode and
    /// ctime, describe the file actually here. Taking the current digest
    /// there would leave a pair that a second such crash makes unverifiable.
    fn outgoing_digest(
        &self,
        algorithm: Algorithm,
        outgoing: &Stat,
    ) -> Result<(Algorithm, String)> {
        let dir = &self.target.dir;
        let name = &self.target.name;
        match checksum::current_sidecar(dir, name, &self.target.path, self.op) {
            Ok(Some((info, _))) => {
                return Ok(
                    match (&info.previous, checksum::previous_applies(&info, outgoing)) {
                        (Some((algo, digest)), true) => (*algo, digest.clone()),
                        _ => (info.algorithm, info.digest),
                    },
                );
            }
            Ok(None) => {}
            Err(e) => log::debug!("replacing a file whose sidecar is unusable: {e}"),
        }
        let fd = sys::file::openat(
            dir,
            Path::new(name),
            OFlags::RDONLY | OFlags::NONBLOCK,
            Mode::empty(),
        )
        .map_err(|e| self.fail("open outgoing version", e))?;
        let digest =
            checksum::hash_fd(&fd, algorithm).map_err(|e| self.fail("hash outgoing version", e))?;
        Ok((algorithm, digest))
    }

    /// Removes the temp file; the target is untouched.
    pub(crate) fn discard(mut self) {
        self.cleanup();
    }

    fn cleanup(&mut self) {
        if self.temp_name.is_empty() {
            return;
        }
        // Free the space first: another process that forked meanwhile can
        // hold a copy of our descriptor, and an unlinked file keeps its
        // blocks until the last one closes — on a full disk, that space is
        // what the next write needs.
        if let Some(fd) = &self.temp
            && let Err(e) = sys::file::ftruncate(fd, 0)
        {
            log::debug!("could not truncate a discarded temp file: {e}");
        }
        if let Err(e) = sys::dir::unlinkat(&self.target.dir, Path::new(&self.temp_name)) {
            // The file stays as litter; the next write here removes it.
            log::warn!(
                "could not remove temp file {:?} beside {}: {e}",
                self.temp_name,
                self.target.path.display()
            );
        }
        self.temp_name.clear();
        self.temp = None;
    }
}

/// The sidecar state a create replaces, to put back if its data cannot be
/// published.
struct SidecarUndo {
    name: OsString,
    shown: PathBuf,
    before: Before,
}

enum Before {
    /// No sidecar of this algorithm: remove the one we publish.
    Absent,
    /// One was there (left by a deleted file): its bytes and mode.
    Present { content: Vec<u8>, mode: u32 },
    /// One was there but could not be read (or is not a small regular
    /// file): it cannot be put back.
    Unknown,
}

impl SidecarUndo {
    fn capture(dir: &OwnedFd, name: &std::ffi::OsStr, shown: PathBuf) -> Self {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK;
        let before = match sys::file::openat(dir, Path::new(name), flags, Mode::empty()) {
            Err(e) if sys::errno(&e) == Some(Errno::NOENT) => Before::Absent,
            Err(e) => {
                log::debug!("cannot save sidecar {}: {e}", shown.display());
                Before::Unknown
            }
            Ok(fd) => match Self::read_small(&fd) {
                Ok(saved) => saved,
                Err(e) => {
                    log::debug!("cannot save sidecar {}: {e}", shown.display());
                    Before::Unknown
                }
            },
        };
        SidecarUndo {
            name: name.to_owned(),
            shown,
            before,
        }
    }

    fn read_small(fd: &OwnedFd) -> std::io::Result<Before> {
        let st = sys::file::fstat(fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Ok(Before::Unknown);
        }
        // Larger than any sidecar we parse: such a file is not saved.
        let content = sys::file::read_up_to(fd, checksum::MAX_SIDECAR)?;
        if content.len() > checksum::MAX_SIDECAR {
            return Ok(Before::Unknown);
        }
        Ok(Before::Present {
            content,
            mode: st.st_mode & 0o7777,
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Step 3: create and lock a fresh temp file in the target's directory.
fn create_temp(
    dir: &OwnedFd,
    shown: &Path,
    mode: Option<u32>,
    op: Operation,
) -> Result<(OsString, OwnedFd, (u32, u32))> {
    let fail = |step, e| Error::io(op, step, shown, e);
    // Without an explicit or inherited mode, 0o666 lets the kernel apply the
    // umask, exactly as for a file created by open(2). With one, create with
    // it (the umask can only make it stricter) and fix it up afterwards.
    let create_mode = Mode::from_raw_mode(mode.unwrap_or(0o666) & 0o777);
    litter::create_owned(dir, litter::temp_name, OFlags::WRONLY, create_mode)
        .map(|(name, fd, st)| (name, fd, (st.st_uid, st.st_gid)))
        .map_err(|(step, e)| {
            fail(
                match step {
                    litter::CreateStep::Name => "generate temp name",
                    litter::CreateStep::Create => "create temp file",
                    litter::CreateStep::Lock => "lock temp file",
                },
                e,
            )
        })
}

/// Publishes a small file (a sidecar) at `name` in `dir`: temp file with
/// `mode` (or the umask default), write, fsync, rename. The caller holds the
/// lock and fsyncs the directory.
pub(crate) fn publish_small(
    dir: &OwnedFd,
    name: &std::ffi::OsStr,
    content: &[u8],
    mode: Option<u32>,
    op: Operation,
    shown: &Path,
) -> Result<()> {
    let (tmp, fd, _) = create_temp(dir, shown, mode, op)?;
    let result = sys::file::write_all(&fd, content)
        .map_err(|e| Error::io(op, "write temp file", shown, e))
        .and_then(|()| {
            sys::file::fsync(&fd).map_err(|e| Error::io(op, "fsync temp file", shown, e))
        })
        .and_then(|()| {
            sys::dir::renameat(dir, Path::new(&tmp), dir, Path::new(name))
                .map_err(|e| Error::io(op, "rename into place", shown, e))
        });
    if result.is_err()
        && let Err(e) = sys::dir::unlinkat(dir, Path::new(&tmp))
    {
        log::warn!(
            "could not remove temp file {tmp:?} beside {}: {e}",
            shown.display()
        );
    }
    result
}

/// Publishes `tmp` as `name` only if `name` does not exist.
fn publish_noreplace(
    dir: &OwnedFd,
    tmp: &Path,
    name: &Path,
    env: &Environment,
) -> std::io::Result<()> {
    match env::capability(env, env::Capability::RenameNoreplace) {
        Some(false) => {}
        _ => match sys::dir::renameat_noreplace(dir, tmp, dir, name) {
            Ok(()) => return Ok(()),
            Err(e) if is_unsupported(&e) => {
                env::set_capability(env, env::Capability::RenameNoreplace, false)
            }
            Err(e) => return Err(e),
        },
    }
    // link(2) fails with EEXIST if the name exists: the no-replace decision
    // is still atomic. Then drop the temp name.
    sys::dir::linkat(dir, tmp, dir, name)?;
    if let Err(e) = sys::dir::unlinkat(dir, tmp) {
        log::warn!("published {name:?} but could not remove its temp name {tmp:?}: {e}");
    }
    Ok(())
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
