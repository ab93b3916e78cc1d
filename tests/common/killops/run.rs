//! Running a step for real (the child's side).

use crate::child::make_payload;
use crate::types::{CheckedCounter, VersionedCounter};
use safeatomic::{
    Algorithm, AtomicWriter, DoctorOptions, ErrorKind, Format, Store, WriteOptions, acquire_lock,
    atomic_json_dump, atomic_ron_dump, atomic_toml_dump, atomic_yaml_dump, cleanup_litter,
    create_atomic, doctor, exchange_atomic, force_release_lock, is_locked, lock_file_path,
    move_atomic, move_atomic_noreplace, read_atomic, release_stale_lock, try_acquire_lock,
    write_atomic_locked, write_atomic_with, write_checksum_file,
};
use std::io::Write as _;
use std::path::Path;

use super::model::rmw_tag;
use super::vocabulary::{PLANT_PREFIX, STREAM_CHUNK};
use super::*;

fn payload(k: u64, tag: &str) -> Vec<u8> {
    make_payload(k, tag, payload_size(k))
}

/// Runs step `k` in `dir` for real, with the library.
///
/// # Errors
///
/// A description of any failure other than the `AlreadyExists` refusal the
/// step expects.
pub fn run_step(dir: &Path, step: Step, k: u64) -> Result<Outcome, String> {
    let p = |name: &str| dir.join(name);
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("step {k} {step:?}: {what}: {e}");
    let sha = Some(Algorithm::Sha256);
    let refusable = |r: safeatomic::Result<()>, what: &str| match r {
        Ok(()) => Ok(Outcome::Done),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Outcome::Refused),
        Err(e) => Err(fail(what, &e)),
    };
    match step {
        Step::Write {
            name,
            lock,
            checksum,
            size,
        } => {
            let opts = WriteOptions::new()
                .lock(lock)
                .checksum(if checksum { sha } else { None });
            write_atomic_with(p(name), make_payload(k, name, size.bytes(k)), &opts)
                .map_err(|e| fail("write_atomic_with", &e))?;
        }
        Step::Stream { name } => {
            let opts = WriteOptions::new().checksum(sha);
            let mut w = AtomicWriter::create_with(p(name), &opts)
                .map_err(|e| fail("AtomicWriter::create_with", &e))?;
            for chunk in payload(k, name).chunks(STREAM_CHUNK) {
                w.write_all(chunk)
                    .map_err(|e| fail("AtomicWriter write", &e))?;
            }
            w.commit().map_err(|e| fail("AtomicWriter::commit", &e))?;
        }
        Step::Create { name } => {
            return refusable(create_atomic(p(name), payload(k, name)), "create_atomic");
        }
        Step::Move { src, dst } => move_atomic(p(src), p(dst)).map_err(|e| fail("move", &e))?,
        Step::MoveNoreplace { src, dst } => {
            return refusable(
                move_atomic_noreplace(p(src), p(dst)),
                "move_atomic_noreplace",
            );
        }
        Step::Exchange { a, b } => {
            exchange_atomic(p(a), p(b)).map_err(|e| fail("exchange", &e))?;
        }
        Step::ChecksumFile { name } => {
            write_checksum_file(p(name), Algorithm::Sha256)
                .map_err(|e| fail("write_checksum_file", &e))?;
        }
        Step::Remove { name } => {
            std::fs::remove_file(p(name)).map_err(|e| fail("remove_file", &e))?;
        }
        Step::StoreUpdate { name } => {
            Store::<CheckedCounter>::open(p(name))
                .and_then(|s| s.update(|c| c.n += 1))
                .map_err(|e| fail("Store::update", &e))?;
        }
        Step::StoreMigrate { name } => {
            Store::<VersionedCounter>::open(p(name))
                .and_then(|s| s.update(|c| c.n += 1))
                .map_err(|e| fail("Store::update migrating", &e))?;
        }
        Step::LockedRmw { name, try_lock } => {
            let path = p(name);
            let guard = if try_lock {
                loop {
                    match try_acquire_lock(&path) {
                        Ok(Some(g)) => break g,
                        Ok(None) => std::thread::yield_now(),
                        Err(e) => return Err(fail("try_acquire_lock", &e)),
                    }
                }
            } else {
                acquire_lock(&path, None).map_err(|e| fail("acquire_lock", &e))?
            };
            let before = match read_atomic(&path) {
                Ok(bytes) => Some(classify(name, &bytes)),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(fail("read_atomic", &e)),
            };
            if let Some(Content::Bad(why)) = &before {
                return Err(fail("read under the lock", &why));
            }
            write_atomic_locked(&guard, payload(k, &rmw_tag(before.as_ref())))
                .map_err(|e| fail("write_atomic_locked", &e))?;
            guard.release().map_err(|e| fail("release", &e))?;
        }
        Step::HoldRelease { name } => {
            let path = p(name);
            let guard = acquire_lock(&path, None).map_err(|e| fail("acquire_lock", &e))?;
            std::thread::yield_now();
            match is_locked(&path) {
                Ok(true) => {}
                Ok(false) => return Err(fail("is_locked", &"false while held")),
                Err(e) => return Err(fail("is_locked", &e)),
            }
            guard.release().map_err(|e| fail("release", &e))?;
        }
        Step::StoreReplace { name } => {
            Store::<CheckedCounter>::open(p(name))
                .and_then(|s| s.replace(CheckedCounter { n: REPLACED + k }))
                .map_err(|e| fail("Store::replace", &e))?;
        }
        Step::StoreTryUpdate { name, refuse } => {
            let store =
                Store::<CheckedCounter>::open(p(name)).map_err(|e| fail("Store::open", &e))?;
            let r = store.try_update(|c| {
                if refuse {
                    return Err(TryUpdateError::Refused);
                }
                c.n += 1;
                Ok(())
            });
            match r {
                Ok(()) => {}
                Err(TryUpdateError::Refused) => return Ok(Outcome::Refused),
                Err(TryUpdateError::Store(e)) => return Err(fail("Store::try_update", &e)),
            }
        }
        Step::Dump { name, format } => {
            let (path, v) = (p(name), Dumped::new(k));
            match format {
                Format::Json => atomic_json_dump(path, &v),
                Format::Yaml => atomic_yaml_dump(path, &v),
                Format::Toml => atomic_toml_dump(path, &v),
                Format::Ron => atomic_ron_dump(path, &v),
                other => return Err(fail("dump", &format!("no helper for {other}"))),
            }
            .map_err(|e| fail(step.label(), &e))?;
        }
        Step::PlantStaleLock { name, corrupt } => {
            let record = if corrupt {
                corrupt_record(k)
            } else {
                let donor = p(DONOR);
                let g = acquire_lock(&donor, None).map_err(|e| fail("acquire donor lock", &e))?;
                let bytes = std::fs::read(lock_file_path(&donor))
                    .map_err(|e| fail("read donor lock file", &e))?;
                g.release().map_err(|e| fail("release donor lock", &e))?;
                bytes
            };
            let scratch = p(&format!("{PLANT_PREFIX}{name}.lock"));
            std::fs::write(&scratch, &record).map_err(|e| fail("write scratch lock", &e))?;
            std::fs::rename(&scratch, lock_file_path(p(name)))
                .map_err(|e| fail("rename scratch lock", &e))?;
        }
        Step::ReleaseStaleLock { name } => {
            return match release_stale_lock(p(name)) {
                Ok(true) => Ok(Outcome::Done),
                Ok(false) => Ok(Outcome::Noop),
                Err(e) => Err(fail("release_stale_lock", &e)),
            };
        }
        Step::ForceReleaseLock { name } => {
            return match force_release_lock(p(name)) {
                Ok(true) => Ok(Outcome::Done),
                Ok(false) => Ok(Outcome::Noop),
                Err(e) => Err(fail("force_release_lock", &e)),
            };
        }
        Step::MakeLitter { count } => {
            for litter in litter_names(k, count) {
                std::fs::write(p(&litter), make_payload(k, &litter, 512))
                    .map_err(|e| fail("write litter", &e))?;
            }
        }
        Step::CleanupLitter => {
            return cleanup_litter(dir)
                .map(Outcome::Removed)
                .map_err(|e| fail("cleanup_litter", &e));
        }
        Step::Doctor { name } => {
            doctor(p(name), &DoctorOptions::new().destructive(true))
                .map_err(|e| fail("doctor", &e))?;
        }
    }
    Ok(Outcome::Done)
}

/// The error of [`Step::StoreTryUpdate`]'s closure, or a store error.
#[derive(Debug)]
enum TryUpdateError {
    Refused,
    Store(safeatomic::Error),
}

impl From<safeatomic::Error> for TryUpdateError {
    fn from(e: safeatomic::Error) -> Self {
        TryUpdateError::Store(e)
    }
}

/// A 700-byte lock payload that is not a lock record (longer than the
/// library's 512-byte record, so acquiring and clearing must cut it).
pub fn corrupt_record(k: u64) -> Vec<u8> {
    let mut r = format!("{{\"version\":1,\"pid\":{k},").into_bytes();
    r.resize(700, b'#');
    r
}
