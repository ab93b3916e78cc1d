//! Plain files as safe persistent state.
//!
//! `safeatomic` writes files so that a crash, a power loss or a concurrent
//! reader never sees a truncated or half-written file, and tells you at
//! runtime which of its guarantees your filesystem lets it keep.
//!
//! # Which entry point when
//!
//! | you want to … | use |
//! |---|---|
//! | keep a typed value in a file, updated safely by many processes | [`Store`] with `#[derive(Persisted)]` |
//! | write / read a serde value in JSON, YAML, TOML or RON | `atomic_json_dump` / `atomic_json_load` (and `yaml`, `toml`, `ron`) |
//! | replace a file's content in one go | [`write_atomic`], [`write_atomic_with`] |
//! | stream a large file, publish at the end | [`AtomicWriter`] |
//! | publish only if nothing is there yet | [`create_atomic`] |
//! | read one consistent version | [`read_atomic`], [`read_atomic_to_string`], [`AtomicReader`] |
//! | rename / rename-if-absent / swap | [`move_atomic`], [`move_atomic_noreplace`], [`exchange_atomic`] |
//! | exclude other writers, read-modify-write | [`acquire_lock`], [`try_acquire_lock`], [`write_atomic_locked`] |
//! | see who holds a lock, recover a dead holder's | [`inspect_lock`], [`is_stale_lock`], [`release_stale_lock`] |
//! | detect silent corruption | [`WriteOptions::checksum`], [`read_atomic_verified`], [`verify_checksum`], [`write_checksum_file`] |
//! | know what this filesystem guarantees | [`inspect_guarantees`] |
//! | check it empirically (real syscalls, probe files cleaned up) | [`doctor`] |
//! | remove temp files left by crashed writers | [`cleanup_litter`] |
//!
//! ```
//! use safeatomic::{Guarantee, inspect_guarantees, read_atomic, write_atomic};
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("state.json");
//! write_atomic(&path, br#"{"runs":1}"#)?;            // temp, fsync, rename, fsync dir
//! assert_eq!(read_atomic(&path)?, br#"{"runs":1}"#);
//! let report = inspect_guarantees(&path)?;             // no writes, cached per device
//! println!("{:?}", report.level(Guarantee::CrashDurability));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it works
//!
//! A write writes a temp file beside the target and renames it into place,
//! every step relative to the parent directory opened once (so a directory
//! or symlink switched meanwhile cannot redirect it), in this order:
//! *resolve* the path (symlinks by the [`SymlinkPolicy`] and the kernel's
//! protected-symlink rule), *gate* on the filesystem ([`Safety`], before
//! anything is created), *sweep* dead writers' temp files (a process's first
//! write in a directory), *carry* the replaced file's ACL and extended
//! attributes, *create* the temp file (`O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC`,
//! the final mode, `flock`ed), *own* it (owner, ACL, mode, before any byte),
//! *write* (hashed in the same pass for a checksum), *sync-temp* (`fsync`),
//! take the *lock* (a create takes it before *carry*; a read-modify-write
//! holds its own from before the read), publish the *sidecar* first when
//! there is one, *publish* (`renameat`, or `renameat2(RENAME_NOREPLACE)` for
//! [`create_atomic`]) — the moment readers switch —, *unlock*, and
//! *sync-dir* (`fsync` the directory) — the moment the switch survives a
//! power loss, after which the call returns. `docs/design.md` describes
//! each step and the lock and sidecar protocols.
//!
//! A failure before *publish* removes the temp file and leaves the target
//! byte-for-byte untouched. A failure of *sync-dir* is reported as
//! [`ErrorKind::DurabilityUnconfirmed`] (under [`Safety::Strict`]; the
//! other policies log it or ignore it and return `Ok`): the new content is
//! visible but may not survive a power loss.
//!
//! # Locks
//!
//! Writers exclude each other with a kernel `flock(2)` on `<target>.lock`,
//! taken by every write by default and available directly
//! ([`acquire_lock`], [`try_acquire_lock`], [`write_atomic_locked`] for
//! read-modify-write). A dead holder's lock is released by the kernel at
//! once. The lock file is **never removed** by normal operation: removing a
//! `flock` file lets waiters split across two inodes and breaks exclusion
//! (Python `filelock` issue 574). It is opened with `O_NOFOLLOW` and without
//! `O_TRUNC`, so a planted symlink cannot make us damage another file
//! (CVE-2025-68146), and a lock file that is not a regular file with one
//! link owned by a trusted user is refused (`docs/security.md`). `flock(1)`
//! and Python `filelock`/`portalocker` interoperate with it; lock users of the Python reference library's
//! `O_EXCL` lock files do **not** and must not share a lock file with us.
//! See `docs/locks.md`.
//!
//! # Guarantees and limits
//!
//! | guarantee | meaning |
//! |---|---|
//! | AtomicVisibility | a reader sees the old complete file or the new complete file, never a mix |
//! | CrashDurability | once a write returned `Ok`, its content survives process death and power loss |
//! | WriterExclusion | cooperating writers never interleave; read-modify-write loses no update |
//! | IntegrityDetection | bytes that differ from what was written are detected on read |
//! | ReaderConsistency | an open reader keeps a stable snapshot while writers replace the file |
//! | StaleRecovery | a lock left by a dead holder is recognised and can be recovered |
//! | MetadataPreservation | replacing a file keeps its permission bits (and owner where allowed) |
//! | CrossDeviceSafety | a move that cannot be atomic (`EXDEV`) is refused, never emulated |
//!
//! The level of each guarantee per filesystem class:
//!
//! | class | AV | CD | WE | ID | RC | SR | MP | CDS |
//! |---|---|---|---|---|---|---|---|---|
//! | local_persistent (ext4, xfs, btrfs, f2fs, zfs …) | G | G | G | G | G | G | G | G |
//! | local_memory (tmpfs, ramfs) | G | B | G | G | G | G | G | G |
//! | overlay | G | B | G | G | G | G | G | G |
//! | network (nfs, cifs, 9p, ceph, sshfs …) | N | N | N | N | N | N | N | G |
//! | object_store (s3fs, gcsfuse …) | N | N | N | N | N | N | N | G |
//! | windows_family (ntfs, vfat, exfat) | N | N | N | N | N | N | N | G |
//! | unknown | U | U | U | U | U | U | U | G |
//!
//! G = [`Level::Guaranteed`], B = [`Level::BestEffort`], N = [`Level::NonTarget`],
//! U = [`Level::Unsupported`]. Under the default [`Safety::Strict`] an
//! operation is refused before anything is created or written when a
//! guarantee it needs is N or U; B proceeds (tmpfs is emptied by a power
//! loss by design; overlay is as durable as its upper layer).
//! `docs/guarantees.md` explains each cell.
//!
//! Linux is the tier-1 platform; macOS and FreeBSD are tier 2: compiled in
//! CI, the protocol tested on Linux through the portable backend, not run
//! on real hardware here. On macOS durability is `fcntl(F_FULLFSYNC)`, and
//! the filesystem is recognised by its type name (`apfs`, `hfs` …).
//! Windows is not a target (`docs/supported-environments.md`). Durability
//! assumes storage that honours cache flushes (`fsync` reaching stable
//! media).
//!
//! # Cargo features
//!
//! * `json` (default), `yaml`, `toml`, `ron` — the format helpers and the
//!   formats a [`Persisted`](trait@Persisted) type may choose.
//! * `derive` (default) — `#[derive(Persisted)]`.
//! * `config-dir` — [`Store::open_in_config_dir`](Store) through the
//!   `directories` crate.
//! * `fault-injection` — **tests only**: exposes the `fault` module so tests can fail
//!   any single OS call. Not part of the stable API.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(windows)]
compile_error!(
    "safeatomic does not target Windows (replacing an open file, flushes and locks work \
     differently there); see docs/supported-environments.md"
);
#[cfg(not(any(
    windows,
    target_os = "linux",
    target_os = "macos",
    target_os = "freebsd"
)))]
compile_error!(
    "safeatomic supports Linux, macOS and FreeBSD; see docs/supported-environments.md \
     for what another platform would need"
);

mod checksum;
mod commit;
mod doctor;
mod env;
mod error;
mod format;
mod helpers;
mod holder;
mod identity;
mod litter;
mod lock;
mod lossless;
mod options;
mod path;
mod policy;
mod preserve;
mod publish;
mod read;
mod rename;
mod resolve;
mod store;
mod sys;
mod text;
mod timefmt;
mod trust;
mod write;

pub use checksum::digest::{Algorithm, UnknownAlgorithm, compute_hash_data, compute_hash_file};
pub use checksum::sidecar::ChecksumInfo;
pub use checksum::verify::{checksum_info, verify_checksum, write_checksum_file};
pub use doctor::{CheckStatus, DoctorCheck, DoctorOptions, DoctorReport, doctor};
pub use env::{
    Environment, FsClass, Guarantee, GuaranteeReport, Level, UnknownGuarantee, inspect_guarantees,
};
pub use error::{Error, ErrorKind, Operation, Result};
pub use format::Format;
#[cfg(feature = "json")]
pub use helpers::{
    atomic_json_dump, atomic_json_dump_with, atomic_json_load, atomic_json_load_with,
};
#[cfg(feature = "ron")]
pub use helpers::{atomic_ron_dump, atomic_ron_dump_with, atomic_ron_load, atomic_ron_load_with};
#[cfg(feature = "toml")]
pub use helpers::{
    atomic_toml_dump, atomic_toml_dump_with, atomic_toml_load, atomic_toml_load_with,
};
#[cfg(feature = "yaml")]
pub use helpers::{
    atomic_yaml_dump, atomic_yaml_dump_with, atomic_yaml_load, atomic_yaml_load_with,
};
pub use litter::cleanup_litter;
pub use lock::{
    LockGuard, LockInfo, LockOptions, SharedLockGuard, acquire_lock, acquire_lock_with,
    acquire_shared_lock, acquire_shared_lock_with, force_release_lock, inspect_lock, is_locked,
    is_stale_lock, lock_age, lock_file_path, release_stale_lock, try_acquire_lock,
    try_acquire_lock_with, try_acquire_shared_lock,
};
/// Test-only: the entry point of the fuzz targets in `fuzz/`.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use lossless::fuzz as __fuzz;
pub use lossless::migrate::{Migration, MigrationError};
pub use options::WriteOptions;
pub use policy::{Safety, SymlinkPolicy};
pub use read::{
    AtomicReader, ReadOptions, read_atomic, read_atomic_to_string, read_atomic_verified,
    read_atomic_with,
};
pub use rename::{exchange_atomic, move_atomic, move_atomic_noreplace};
/// Derives [`Persisted`](trait@Persisted) for a struct or enum; see the
/// [`safeatomic_derive`] crate documentation for every attribute.
#[cfg(feature = "derive")]
pub use safeatomic_derive::Persisted;
#[cfg(feature = "tokio")]
pub use store::asynchronous::{AsyncStore, AsyncWatch};
pub use store::persisted::{MigrationStep, Persisted, Schema};
#[cfg(feature = "watch")]
pub use store::watch::{Change, Origin, Watch, WatchOptions};
pub use store::{CorruptPolicy, Recovery, Store, StoreOptions};
#[cfg(feature = "fault-injection")]
pub use sys::fault;
pub use write::{
    AtomicWriter, create_atomic, create_atomic_with, write_atomic, write_atomic_locked,
    write_atomic_locked_with, write_atomic_with,
};

/// The README's examples, compiled and run as doctests so they cannot rot
/// (one of them is a TOML store).
#[doc = include_str!("../../README.md")]
#[cfg(all(doctest, feature = "toml"))]
pub struct ReadmeDoctests;

/// `docs/getting-started.md`, compiled and run as doctests (its store
/// example is TOML).
#[doc = include_str!("../../docs/getting-started.md")]
#[cfg(all(doctest, feature = "toml"))]
pub struct GettingStartedDoctests;

/// `docs/store.md`'s examples, compiled (TOML stores).
#[doc = include_str!("../../docs/store.md")]
#[cfg(all(doctest, feature = "toml"))]
pub struct StoreGuideDoctests;

/// Items named by the `#[derive(Persisted)]` expansion; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::store::private::*;
}
