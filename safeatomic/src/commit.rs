//! The write protocol (`docs/design.md`, "The write protocol", whose step
//! names the comments here cite). Every writer in the crate —
//! `write_atomic`, `AtomicWriter`, `create_atomic`, and everything built on
//! them — goes through [`Pending`]: [`Pending::begin`] runs the steps
//! *resolve* to *own*, [`Pending::write`] *write*, [`Pending::commit`]
//! *sync-temp* to *unlock*.
//!
//! A failure before *publish* removes the temp file and leaves the target
//! untouched; a create that fails at *publish* also puts the sidecar state
//! back as it was (docs/decisions/0008).

use crate::checksum::digest::{self, Algorithm, Hasher};
use crate::checksum::sidecar;
use crate::env::{self, Environment, Guarantee};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::lock::{self, LockGuard, Wait};
use crate::options::WriteOptions;
use crate::policy::{Safety, SymlinkPolicy};
use crate::preserve::{Carried, NotCarried};
use crate::publish::{self, Publish, PublishError, Staged, create_temp, durability_unconfirmed};
use crate::resolve::{self, Found, Target};
use crate::sys::{self, Mode, OFlags, OwnedFd, Stat};
use crate::{litter, trust};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A write in progress: a locked temp file beside the target.
pub(crate) struct Pending {
    target: Target,
    env: Arc<Environment>,
    op: Operation,
    safety: Safety,
    publish: Publish,
    temp_name: OsString,
    temp: Option<OwnedFd>,
    /// The temp file's owner and group as created: the writer's effective
    /// ids (or the directory's group, in a set-group-ID directory).
    temp_owner: (u32, u32),
    /// The owner and group the data file gets (the replaced file's, when
    /// they could be preserved); its sidecar gets the same.
    owner: (u32, u32),
    /// The digest of everything written so far, when a sidecar is wanted.
    hasher: Option<Hasher>,
    /// The permission bits the data file gets, when known (explicit or
    /// inherited); its sidecar gets the same read/write bits.
    final_mode: Option<u32>,
    /// A replace that takes the lock itself takes it at *lock*, once its
    /// temp file is durable: how long to wait, and the mode its lock file
    /// gets if it creates it.
    lock_later: Option<(Option<std::time::Duration>, Option<u32>)>,
    /// A store's commit: its temp file, noted as this process's while the
    /// commit is under way (`identity::created`), for a watcher.
    #[cfg(feature = "watch")]
    noted: Option<crate::identity::FileId>,
    /// The cooperative lock, when the write takes it itself. Declared last:
    /// fields drop in order, so it is released after the temp file is gone.
    _lock: Option<LockGuard>,
}

/// A write published under its name, whose directory is not yet fsynced
/// (write step *sync-dir* to come): what a lock holder returns once it has
/// released the lock, so the next writer need not wait for this fsync.
#[must_use = "the write is not durable until `sync`"]
pub(crate) struct Unsynced {
    dir: Arc<OwnedFd>,
    safety: Safety,
    op: Operation,
    path: PathBuf,
    /// The published file's identity, when the write noted it
    /// (`WriteOptions::note_created`): the caller says what it published
    /// with `identity::finished`.
    #[cfg(feature = "watch")]
    pub(crate) noted: Option<crate::identity::FileId>,
}

impl Unsynced {
    /// Write step *sync-dir*: `fsync` the directory: the rename lives in
    /// the directory, and until it is on disk a power loss can bring back
    /// the old file (or no file).
    pub(crate) fn sync(self) -> Result<()> {
        match sys::file::fsync(&*self.dir) {
            Ok(()) => Ok(()),
            Err(e) => durability_unconfirmed(self.safety, self.op, &self.path, e),
        }
    }
}

/// What a write is aimed at, and whether it takes the target's
/// cooperative lock itself.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Aim<'a> {
    /// A path, resolved now; the lock as [`WriteOptions::lock`] says. A
    /// create-if-absent decides by `RENAME_NOREPLACE` and needs no lock,
    /// except to publish a sidecar: it then takes it, and refuses
    /// `.lock(false)` (decision 0008).
    Path(&'a Path),
    /// The target a [`LockGuard`] holds: the write commits into the
    /// directory that was locked, under that lock.
    Locked(&'a LockGuard),
    /// A file beside the one a [`LockGuard`] holds, in the directory that
    /// was locked (a store's migration backup): the guard's lock covers
    /// it, none is taken.
    Beside(&'a LockGuard, &'a OsStr),
}

impl Pending {
    /// A whole write of `data` in one go: begin, write, commit.
    pub(crate) fn write_whole(
        aim: Aim<'_>,
        data: &[u8],
        opts: &WriteOptions,
        op: Operation,
        publish: Publish,
    ) -> Result<()> {
        Self::write_whole_unsynced(aim, data, opts, op, publish)?.sync()
    }

    /// [`write_whole`](Self::write_whole) up to its directory fsync, which
    /// the caller makes (after releasing its own lock).
    pub(crate) fn write_whole_unsynced(
        aim: Aim<'_>,
        data: &[u8],
        opts: &WriteOptions,
        op: Operation,
        publish: Publish,
    ) -> Result<Unsynced> {
        let mut pending = Self::begin(aim, opts, op, publish)?;
        match pending.write(data) {
            Ok(()) => pending.commit_unsynced(),
            // Dead writers' temp files may hold the space: sweep them and,
            // if that freed any, try once more.
            Err(e) if e.kind() == ErrorKind::StorageFull && pending.discard_and_sweep() > 0 => {
                let mut pending = Self::begin(aim, opts, op, publish)?;
                pending.write(data)?;
                pending.commit_unsynced()
            }
            Err(e) => Err(e),
        }
    }

    /// Write steps *resolve*, *gate*, *sweep*, *lock*, *carry*, *create*
    /// and *own*: a locked temp file beside the target with its final
    /// owner, ACL and mode, nothing written yet.
    pub(crate) fn begin(
        aim: Aim<'_>,
        opts: &WriteOptions,
        op: Operation,
        publish: Publish,
    ) -> Result<Self> {
        let beside;
        let path = match aim {
            Aim::Path(path) => path,
            Aim::Locked(guard) => guard.path(),
            Aim::Beside(guard, name) => {
                beside = guard.path().with_file_name(name);
                &beside
            }
        };
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
        let target = match aim {
            Aim::Path(path) => resolve::resolve(path, policy, op)?,
            Aim::Locked(guard) => guard.target().relook(policy, op)?,
            Aim::Beside(guard, name) => guard.target().beside(name, policy, op)?,
        };
        let take_lock = matches!(aim, Aim::Path(_))
            && match publish {
                Publish::Replace => opts.lock,
                Publish::NoReplace => opts.checksum.is_some(),
            };
        if let Some(st) = target.found.file() {
            trust::may_replace(&target.dir_st, st).map_err(|why| {
                Error::new(
                    ErrorKind::PermissionDenied,
                    op,
                    "check target",
                    &target.path,
                )
                .with_detail(format!("the file is not replaced: {why}"))
            })?;
        }
        let env = env::of_target(&target, op)?;
        let needed: &[Guarantee] = if take_lock {
            &[
                Guarantee::AtomicVisibility,
                Guarantee::CrashDurability,
                Guarantee::WriterExclusion,
            ]
        } else {
            &[Guarantee::AtomicVisibility, Guarantee::CrashDurability]
        };
        env::gate(opts.safety, &env, needed, op, &target.path)?;
        // Dead writers' temp files go with the first write in a directory
        // a process makes; before the lock, so nobody waits for the listing.
        // A locked target's sweep came with its lock.
        if matches!(aim, Aim::Path(_)) {
            litter::sweep_first_time(&*target.dir, &target.dir_st, &target.path);
        }
        // A replace takes the lock only to publish (write step *lock*,
        // after *sync-temp*): writing and syncing the temp file needs no
        // exclusion, so writers of one target overlap there. A create
        // takes it now: what is at the name under the lock decides.
        let lock_later =
            (take_lock && publish == Publish::Replace).then_some((opts.lock_timeout, opts.mode));
        let lock = if take_lock && lock_later.is_none() {
            let wait = Wait::Block(opts.lock_timeout);
            lock::acquire_in(op, &target, wait, None, opts.mode)?
        } else {
            None
        };
        if publish == Publish::NoReplace {
            let exists = if lock.is_some() {
                // Under the lock: what is there now is what counts. Refused
                // here, a losing creator has touched nothing.
                match sys::file::lstatat(&*target.dir, Path::new(&target.name)) {
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
        let existing = target.found.file().copied();
        // The replaced file's ACL and other extended attributes, read under
        // the lock, before the temp file exists.
        let carried = match existing {
            None => Carried::default(),
            Some(_) => match Carried::read(&target.dir, Path::new(&target.name)) {
                Ok(carried) => carried,
                Err(e) => {
                    not_carried(opts.safety, op, &target.path, e)?;
                    Carried::default()
                }
            },
        };
        let mode = opts.mode.or(existing.map(|st| st.st_mode & 0o7777));
        // With an ACL to carry over, only the owner may open the temp file
        // until the ACL is on it: its group bits are the ACL's mask, which
        // the owning group must not get meanwhile.
        let create_mode = mode.map(|m| if carried.has_acl() { m & 0o700 } else { m });
        let (temp_name, temp, temp_owner, _temp_id) =
            create_temp(&target.dir, &target.path, create_mode, op)?;
        // A store's file is known as this process's commit before its
        // rename can show it to a watcher (decision 0014).
        #[cfg(feature = "watch")]
        let noted = opts.note_created.then(|| {
            crate::identity::created(_temp_id);
            _temp_id
        });
        let mut pending = Pending {
            target,
            env,
            op,
            safety: opts.safety,
            publish,
            temp_name,
            temp: Some(temp),
            temp_owner,
            owner: temp_owner,
            hasher: opts.checksum.map(Algorithm::hasher),
            final_mode: mode,
            lock_later,
            #[cfg(feature = "watch")]
            noted,
            _lock: lock,
        };
        pending.set_owner_and_mode(opts, existing, &carried)?;
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

    /// Write step *own*, on the still empty temp file: owner first (`fchown` clears
    /// set-user-ID bits), then the carried-over ACL and extended
    /// attributes, then the exact mode where the kernel's doing differs
    /// from it.
    fn set_owner_and_mode(
        &mut self,
        opts: &WriteOptions,
        existing: Option<Stat>,
        carried: &Carried,
    ) -> Result<()> {
        let mut chowned = false;
        if opts.preserve_owner
            && let Some(st) = existing
            && (st.st_uid, st.st_gid) != self.temp_owner
        {
            match sys::file::fchown(self.temp(), st.st_uid, st.st_gid) {
                Ok(()) => {
                    chowned = true;
                    self.owner = (st.st_uid, st.st_gid);
                }
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
        let acl_applied = match carried.apply(self.temp()) {
            Ok(()) => carried.has_acl(),
            Err(e) => {
                not_carried(self.safety, self.op, &self.target.path, e)?;
                false
            }
        };
        let wanted = opts.mode.or(existing.map(|st| st.st_mode & 0o7777));
        if let Some(mode) = wanted {
            let fix = if acl_applied {
                // The ACL set the permission bits (its own view of them);
                // an explicit mode or set-ID/sticky bits still need chmod.
                opts.mode.is_some() || mode & 0o7000 != 0
            } else {
                // The kernel applied the umask at creation; fix the mode
                // only when that changed it (or we cannot know), fchown
                // cleared bits, or the file was created owner-only for an
                // ACL that could not be carried over.
                let umask_stripped = sys::process::umask().is_none_or(|u| mode & u != 0);
                umask_stripped || chowned || mode & 0o7000 != 0 || carried.has_acl()
            };
            if fix {
                sys::file::fchmod(self.temp(), Mode::from_raw_mode(mode))
                    .map_err(|e| self.fail("set mode of temp file", e))?;
            }
        }
        Ok(())
    }

    /// Write step *write*: append bytes to the temp file.
    pub(crate) fn write(&mut self, buf: &[u8]) -> Result<()> {
        sys::file::write_all(self.temp(), buf).map_err(|e| self.fail("write temp file", e))?;
        // Hash what was written, in the same pass: never a re-read.
        if let Some(h) = self.hasher.as_mut() {
            h.update(buf);
        }
        Ok(())
    }

    /// Write steps *sync-temp* to *sync-dir*: make the temp file durable,
    /// publish it, make the directory entry durable.
    pub(crate) fn commit(self) -> Result<()> {
        self.commit_unsynced()?.sync()
    }

    /// Write steps *sync-temp*, *lock* (a replace that takes the lock
    /// itself), *sidecar*, *publish* and *unlock*: make the temp file
    /// durable, publish it, release the lock this write took. The caller
    /// makes the last step, *sync-dir*, through [`Unsynced::sync`].
    pub(crate) fn commit_unsynced(mut self) -> Result<Unsynced> {
        let publish = self.publish;
        // fsync before rename: otherwise a crash can leave the new name
        // pointing at an inode whose data never reached the disk (the
        // zero-length-file-after-crash problem of ext4 delalloc, 2009).
        let temp = self.temp.take().expect("temp file is open until commit");
        let mut sidecar = None;
        if let Err(e) = self.sync_lock_and_sidecar(&temp, &mut sidecar) {
            self.temp = Some(temp);
            return Err(e);
        }
        let dir: &OwnedFd = &self.target.dir;
        let (tmp, name) = (Path::new(&self.temp_name), Path::new(&self.target.name));
        let step = match publish {
            Publish::Replace => "rename into place",
            Publish::NoReplace => "publish if absent",
        };
        let renamed = match publish::publish(dir, tmp, dir, name, publish, &self.env) {
            Ok(()) => Ok(()),
            Err(PublishError::Rename(e) | PublishError::Link(e)) => Err(self.fail(step, e)),
            // Published; the temp name stays as litter (the next sweep's).
            Err(PublishError::SourceLeft(e)) => {
                log::warn!("published {name:?} but could not remove its temp name {tmp:?}: {e}");
                Ok(())
            }
        };
        if let Err(e) = renamed {
            // A create whose name was taken after all (by a program that
            // ignores the lock): its sidecar must not stay.
            if let Some(undo) = sidecar {
                self.undo_sidecar(undo);
            }
            self.temp = Some(temp);
            return Err(e);
        }
        // The name is gone from under the temp file now; closing it drops our
        // flock (nothing to clean up any more).
        self.temp_name.clear();
        drop(temp);
        // Write step *unlock*, before *sync-dir*: the next writer may read
        // this version and write its own while the directory is fsynced.
        // This write is acknowledged only after that fsync, and a later
        // version written from it carries its change: an acknowledged
        // change is never lost (the power-cut suite checks it).
        drop(self._lock.take());
        Ok(Unsynced {
            dir: Arc::clone(&self.target.dir),
            safety: self.safety,
            op: self.op,
            path: self.target.path.clone(),
            #[cfg(feature = "watch")]
            noted: self.noted.take(),
        })
    }

    /// Write steps *sync-temp*, *lock* (a replace that takes it itself)
    /// and *sidecar*. With a sidecar to make, the temp file's `fsync` runs
    /// on another thread while the sidecar is staged and fsynced: the two
    /// fsyncs overlap (issue #17), and nothing is published before both
    /// are done, so a failure of either leaves everything as it was.
    fn sync_lock_and_sidecar(
        &mut self,
        temp: &OwnedFd,
        undo: &mut Option<SidecarUndo>,
    ) -> Result<()> {
        let hasher = self.hasher.take();
        let lock_later = self.lock_later.take();
        let (lock, staged_undo) = std::thread::scope(|scope| {
            let data_sync = match hasher {
                Some(_) => sys::file::fsync_beside(scope, temp),
                None => sys::file::Beside::Done(sys::file::fsync(temp)),
            };
            if let sys::file::Beside::Done(Err(e)) = data_sync {
                return Err(self.fail("fsync temp file", e));
            }
            let lock = match lock_later {
                Some((timeout, mode)) => {
                    lock::acquire_in(self.op, &self.target, Wait::Block(timeout), None, mode)?
                }
                None => None,
            };
            let staged = hasher.map(|h| self.stage_sidecar(h)).transpose();
            data_sync
                .wait()
                .map_err(|e| self.fail("fsync temp file", e))?;
            let undo = match staged? {
                Some(staged) => self.publish_sidecar(staged)?,
                None => None,
            };
            Ok((lock, undo))
        })?;
        if lock.is_some() {
            self._lock = lock;
        }
        *undo = staged_undo;
        Ok(())
    }

    /// The first half of write step *sidecar*: the sidecar of the new data
    /// written and fsynced under a temp name, published (by
    /// [`publish_sidecar`](Self::publish_sidecar)) *before* the data: it names the
    /// incoming digest and the outgoing one (bound to the outgoing inode), so
    /// every crash state verifies, and lock-free readers, which read the
    /// sidecar first, never see a sidecar older than the data
    /// (docs/decisions/0004-checksum-sidecar-first.md).
    ///
    /// A create (no-replace) publishes over no data file: anything at the
    /// name now fails it with `AlreadyExists` before any sidecar is touched.
    /// It returns how to put the sidecar state back if its data rename then
    /// fails.
    ///
    /// Then the sidecars of other algorithms go (a replace's describe the
    /// outgoing version, which the new sidecar vouches for too; a create's
    /// are orphans of a deleted file). One that cannot be removed fails the
    /// write before the data is published: left there, it could be taken
    /// for the current sidecar.
    fn stage_sidecar(&self, hasher: Hasher) -> Result<StagedSidecar<'_>> {
        let algorithm = hasher.algorithm();
        let digest = hasher.finish_hex();
        let dir: &OwnedFd = &self.target.dir;
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
        let content = sidecar::render_sidecar(
            algorithm,
            &digest,
            name,
            previous.as_ref().map(|((a, d), st)| (*a, d.as_str(), st)),
        );
        let spath = sidecar::sidecar_path(&self.target.path, algorithm);
        let mode = self.final_mode.map(|m| m & 0o666);
        Ok(StagedSidecar {
            staged: Staged::new(dir, &content, mode, Some(self.owner), self.op, &spath)?,
            algorithm,
        })
    }

    /// The second half of the sidecar step: publishes the sidecar staged
    /// by [`stage_sidecar`](Self::stage_sidecar), makes it durable (the
    /// barrier) and removes the other algorithm's. Returns how to put the
    /// sidecar state back if the data rename then fails (a create's).
    fn publish_sidecar(&self, staged: StagedSidecar<'_>) -> Result<Option<SidecarUndo>> {
        let dir: &OwnedFd = &self.target.dir;
        let name = &self.target.name;
        let algorithm = staged.algorithm;
        let undo = match self.publish {
            Publish::NoReplace => Some(SidecarUndo::capture(dir, name, &self.target.path)),
            Publish::Replace => None,
        };
        staged
            .staged
            .publish(&sidecar::sidecar_name(name, algorithm), &self.env)?;
        // The barrier: the new sidecar must be durable before the data
        // rename can be, or a power cut could keep new data and lose the
        // sidecar that vouches for it.
        let removed = sys::file::fsync(dir)
            .map_err(|e| self.fail("fsync directory (sidecar)", e))
            .and_then(|()| {
                sidecar::remove_other_sidecars(dir, name, algorithm, &self.target.path, self.op)
            });
        if let Err(e) = removed {
            if let Some(undo) = undo {
                self.undo_sidecar(undo);
            }
            return Err(e);
        }
        Ok(undo)
    }

    /// Puts back the sidecar state from before a create whose data could
    /// not be published. Best effort: a failure is logged, and the sidecar
    /// left then describes a file that is not there.
    fn undo_sidecar(&self, undo: SidecarUndo) {
        let dir: &OwnedFd = &self.target.dir;
        for saved in &undo.saved {
            let done = match &saved.before {
                Before::Absent => match sys::dir::unlinkat(dir, Path::new(&saved.name)) {
                    Err(e) if sys::errno(&e) == Some(Errno::NOENT) => Ok(()),
                    other => other.map_err(|e| self.fail("remove sidecar", e)),
                },
                Before::Present {
                    content,
                    mode,
                    owner,
                } => Staged::new(
                    dir,
                    content,
                    Some(*mode),
                    Some(*owner),
                    self.op,
                    &saved.shown,
                )
                .and_then(|staged| staged.publish(&saved.name, &self.env)),
                Before::Unknown => {
                    log::warn!(
                        "{}: the create failed; this sidecar name held something that could not be saved, and is left as it is now",
                        saved.shown.display()
                    );
                    continue;
                }
            };
            if let Err(e) = done {
                log::warn!(
                    "{}: the create failed and the sidecar could not be put back: {e}",
                    saved.shown.display()
                );
            }
        }
        match sys::file::fsync(dir) {
            Ok(()) => log::debug!("{}: sidecar state restored", self.target.path.display()),
            Err(e) => log::warn!(
                "{}: the create failed; the restored sidecar state may not survive a power loss: {e}",
                self.target.path.display()
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
        let dir: &OwnedFd = &self.target.dir;
        let name = &self.target.name;
        let owner = Some(outgoing.st_uid);
        match sidecar::current_sidecar(
            dir,
            name,
            owner,
            Some(algorithm),
            &self.target.path,
            self.op,
        ) {
            Ok(Some((info, _))) => {
                return Ok(
                    match (&info.previous, sidecar::previous_applies(&info, outgoing)) {
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
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW,
            Mode::empty(),
        )
        .map_err(|e| self.fail("open outgoing version", e))?;
        let digest =
            digest::hash_fd(&fd, algorithm).map_err(|e| self.fail("hash outgoing version", e))?;
        Ok((algorithm, digest))
    }

    /// Removes the temp file; the target is untouched.
    pub(crate) fn discard(mut self) {
        self.cleanup();
    }

    /// Removes the temp file and releases the lock, then sweeps the
    /// directory's litter; returns how many files the sweep removed.
    fn discard_and_sweep(mut self) -> usize {
        self.cleanup();
        drop(self._lock.take());
        litter::sweep_logged(&*self.target.dir, &self.target.path)
    }

    fn cleanup(&mut self) {
        // A noted commit that publishes nothing is over.
        #[cfg(feature = "watch")]
        if let Some(id) = self.noted.take() {
            crate::identity::finished(id, None);
        }
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
        if let Err(e) = sys::dir::unlinkat(&*self.target.dir, Path::new(&self.temp_name)) {
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

/// The sidecar state a create changes (its own algorithm's sidecar, and
/// the orphans of other algorithms it removes), to put back if its data
/// cannot be published.
/// A sidecar written and fsynced under a temp name, for
/// [`Pending::publish_sidecar`].
struct StagedSidecar<'a> {
    staged: Staged<'a>,
    algorithm: Algorithm,
}

struct SidecarUndo {
    saved: Vec<Saved>,
}

/// One sidecar name as it was before a create.
struct Saved {
    name: OsString,
    shown: PathBuf,
    before: Before,
}

enum Before {
    /// No sidecar of this algorithm: remove the one we publish.
    Absent,
    /// One was there (left by a deleted file): its bytes, mode and ids.
    Present {
        content: Vec<u8>,
        mode: u32,
        owner: (u32, u32),
    },
    /// One was there but could not be read (or is not a small regular
    /// file): it cannot be put back.
    Unknown,
}

impl SidecarUndo {
    /// Saves every sidecar name of `name` in `dir` (all algorithms).
    fn capture(dir: &OwnedFd, name: &std::ffi::OsStr, target: &Path) -> Self {
        let saved = Algorithm::ALL
            .into_iter()
            .map(|algorithm| {
                let name = sidecar::sidecar_name(name, algorithm);
                let shown = sidecar::sidecar_path(target, algorithm);
                let before = Self::save(dir, &name, &shown);
                Saved {
                    name,
                    shown,
                    before,
                }
            })
            .collect();
        SidecarUndo { saved }
    }

    fn save(dir: &OwnedFd, name: &std::ffi::OsStr, shown: &Path) -> Before {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK;
        match sys::file::openat(dir, Path::new(name), flags, Mode::empty()) {
            Err(e) if sys::errno(&e) == Some(Errno::NOENT) => Before::Absent,
            Err(e) => {
                log::debug!("cannot save sidecar {}: {e}", shown.display());
                Before::Unknown
            }
            Ok(fd) => Self::read_small(&fd).unwrap_or_else(|e| {
                log::debug!("cannot save sidecar {}: {e}", shown.display());
                Before::Unknown
            }),
        }
    }

    fn read_small(fd: &OwnedFd) -> std::io::Result<Before> {
        let st = sys::file::fstat(fd)?;
        if !trust::is_regular(&st) {
            return Ok(Before::Unknown);
        }
        // Larger than any sidecar we parse: such a file is not saved.
        let content = sys::file::read_up_to(fd, sidecar::MAX_SIDECAR)?;
        if content.len() > sidecar::MAX_SIDECAR {
            return Ok(Before::Unknown);
        }
        Ok(Before::Present {
            content,
            mode: st.st_mode & 0o7777,
            owner: (st.st_uid, st.st_gid),
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// The outcome of a replace that cannot carry the replaced file's ACL (or
/// extended attributes) over: refused under [`Safety::Strict`], since the
/// new file would give access the old one did not (its group bits are the
/// ACL's mask); logged under the other policies, which proceed.
fn not_carried(safety: Safety, op: Operation, path: &Path, e: NotCarried) -> Result<()> {
    let what = "the replaced file's ACL and extended attributes cannot be carried over";
    match safety {
        Safety::Strict => {
            let detail = format!(
                "{what} ({e}); refused rather than widen access (Safety::Warn replaces the file \
                 without them)"
            );
            Err(Error::io(op, "carry over ACL", path, e.error).with_detail(detail))
        }
        Safety::Warn => {
            log::warn!(
                "{}: {what} ({e}); replacing it without them",
                path.display()
            );
            Ok(())
        }
        Safety::BestEffort => {
            log::debug!("{}: {what} ({e})", path.display());
            Ok(())
        }
    }
}
