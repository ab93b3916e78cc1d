//! The vocabulary of the scripts: steps, sizes, the names and values
//! they use.

use safeatomic::Format;
use serde::{Deserialize, Serialize};

pub(super) const KIB: usize = 1024;

/// Chunk size of [`Step::Stream`]'s writes.
pub(super) const STREAM_CHUNK: usize = 64 * KIB;

/// Size of the payload step `k` writes: 8 KiB to about 490 KiB, so a kill
/// often lands while the temp file is being written or synced.
pub fn payload_size(k: u64) -> usize {
    8 * KIB + 17 + (k % 6) as usize * 96 * KIB
}

/// How big a written payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// [`payload_size`]`(k)`: up to about 490 KiB, for writes under test.
    Large,
    /// 4 KiB, for writes that only set the stage for another operation
    /// (so most kills land in that operation).
    Small,
}

impl Size {
    /// The payload size of step `k`.
    pub fn bytes(self, k: u64) -> usize {
        match self {
            Size::Large => payload_size(k),
            Size::Small => 4 * KIB,
        }
    }
}

/// One step of a script. Names are file names inside the test directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `write_atomic_with` a payload, with or without the lock and a SHA-256 sidecar.
    Write {
        /// Target.
        name: &'static str,
        /// `WriteOptions::lock`.
        lock: bool,
        /// Whether a SHA-256 sidecar is written.
        checksum: bool,
        /// How big the payload is.
        size: Size,
    },
    /// `AtomicWriter` with a SHA-256 sidecar, 64 KiB chunks, `commit`.
    Stream {
        /// Target.
        name: &'static str,
    },
    /// `create_atomic`: publishes if absent, else `AlreadyExists` (refused).
    Create {
        /// Target.
        name: &'static str,
    },
    /// `move_atomic(src, dst)`, replacing `dst` if present.
    Move {
        /// Source.
        src: &'static str,
        /// Destination.
        dst: &'static str,
    },
    /// `move_atomic_noreplace(src, dst)`: refused if `dst` exists.
    MoveNoreplace {
        /// Source.
        src: &'static str,
        /// Destination.
        dst: &'static str,
    },
    /// `exchange_atomic(a, b)`; both exist.
    Exchange {
        /// One side.
        a: &'static str,
        /// The other side.
        b: &'static str,
    },
    /// `write_checksum_file(name, Sha256)`.
    ChecksumFile {
        /// Target.
        name: &'static str,
    },
    /// `std::fs::remove_file`: scaffolding between library steps, not
    /// under test.
    Remove {
        /// Target.
        name: &'static str,
    },
    /// `Store::<CheckedCounter>::update(n += 1)` (SHA-256 sidecar).
    StoreUpdate {
        /// Target (a `.json` name).
        name: &'static str,
    },
    /// `Store::<VersionedCounter>::update(n += 1)`: the same counter at
    /// schema version 2, so a file written by `StoreUpdate` (version 1) is
    /// migrated, its original kept as `<name>.v1.bak`.
    StoreMigrate {
        /// Target (a `.json` name).
        name: &'static str,
    },
    /// Read-modify-write under the lock: `acquire_lock` (or a
    /// `try_acquire_lock` spin), read the current payload, `write_atomic_locked`
    /// a payload tagged `after-<seq read>` (or `after-none`), `release`.
    LockedRmw {
        /// Target.
        name: &'static str,
        /// Spin on `try_acquire_lock` instead of blocking in `acquire_lock`.
        try_lock: bool,
    },
    /// `acquire_lock`, check `is_locked` from a second descriptor, `release`.
    HoldRelease {
        /// Target.
        name: &'static str,
    },
    /// `Store::<CheckedCounter>::replace(n = REPLACED + k)` (SHA-256 sidecar).
    StoreReplace {
        /// Target (a `.json` name).
        name: &'static str,
    },
    /// `Store::<CheckedCounter>::try_update`: `n += 1`, or with `refuse`
    /// the closure returns `Err` and nothing is written (refused).
    StoreTryUpdate {
        /// Target (a `.json` name).
        name: &'static str,
        /// Whether the closure fails.
        refuse: bool,
    },
    /// `atomic_<format>_dump` of a [`Dumped`] value with `n = k`.
    Dump {
        /// Target (a `dump.<ext>` name, see [`classify`]).
        name: &'static str,
        /// Which helper.
        format: Format,
    },
    /// Scaffolding: leaves in `<name>.lock` the payload a holder killed
    /// while holding it leaves (a real record, taken from a lock of
    /// [`DONOR`]), or with `corrupt` a 700-byte record that is not JSON.
    /// Written to a scratch name and renamed over the lock file, so the
    /// lock file is never seen half planted.
    PlantStaleLock {
        /// Target whose lock file gets the payload.
        name: &'static str,
        /// Plant garbage instead of a valid record.
        corrupt: bool,
    },
    /// `release_stale_lock`: done (it cleared a payload) or noop.
    ReleaseStaleLock {
        /// Target.
        name: &'static str,
    },
    /// `force_release_lock`: done (it removed the lock file) or noop.
    ForceReleaseLock {
        /// Target.
        name: &'static str,
    },
    /// Scaffolding: creates `count` 512-byte temp files as killed writers
    /// leave them (temp names, no lock held), named by [`litter_names`].
    /// Many, so that `cleanup_litter` takes long enough to be killed
    /// half way through.
    MakeLitter {
        /// How many.
        count: usize,
    },
    /// `cleanup_litter(dir)`: `removed N`.
    CleanupLitter,
    /// `doctor(name, destructive)`: probes every syscall the library relies
    /// on with `.safeatomic-doctor-*` files in the directory, removed at
    /// the end of the run.
    Doctor {
        /// The path examined (its directory is probed).
        name: &'static str,
    },
}

impl Step {
    /// A short name of the operation, for reports.
    pub fn label(self) -> &'static str {
        match self {
            Step::Write {
                lock: true,
                checksum: false,
                ..
            } => "write_atomic",
            Step::Write {
                lock: false,
                checksum: false,
                ..
            } => "write_atomic lock(false)",
            Step::Write {
                lock: true,
                checksum: true,
                ..
            } => "write_atomic sha256",
            Step::Write {
                lock: false,
                checksum: true,
                ..
            } => "write_atomic sha256 lock(false)",
            Step::Stream { .. } => "AtomicWriter sha256",
            Step::Create { .. } => "create_atomic",
            Step::Move { .. } => "move_atomic",
            Step::MoveNoreplace { .. } => "move_atomic_noreplace",
            Step::Exchange { .. } => "exchange_atomic",
            Step::ChecksumFile { .. } => "write_checksum_file",
            Step::Remove { .. } => "unlink (scaffolding)",
            Step::StoreUpdate { .. } => "Store::update",
            Step::StoreMigrate { .. } => "Store::update migrating",
            Step::LockedRmw {
                try_lock: false, ..
            } => "acquire_lock+write_atomic_locked",
            Step::LockedRmw { try_lock: true, .. } => "try_acquire_lock+write_atomic_locked",
            Step::HoldRelease { .. } => "acquire_lock+release",
            Step::StoreReplace { .. } => "Store::replace",
            Step::StoreTryUpdate { refuse: false, .. } => "Store::try_update",
            Step::StoreTryUpdate { refuse: true, .. } => "Store::try_update Err",
            Step::Dump { format, .. } => match format {
                Format::Json => "atomic_json_dump",
                Format::Yaml => "atomic_yaml_dump",
                Format::Toml => "atomic_toml_dump",
                Format::Ron => "atomic_ron_dump",
                _ => "atomic_?_dump",
            },
            Step::PlantStaleLock { .. } => "plant stale lock (scaffolding)",
            Step::ReleaseStaleLock { .. } => "release_stale_lock",
            Step::ForceReleaseLock { .. } => "force_release_lock",
            Step::MakeLitter { .. } => "make litter (scaffolding)",
            Step::CleanupLitter => "cleanup_litter",
            Step::Doctor { .. } => "doctor destructive",
        }
    }

    /// Whether the step only sets the stage for the operation a script
    /// tests (a small write before a move, an unlink).
    pub fn is_scaffolding(self) -> bool {
        matches!(
            self,
            Step::Remove { .. }
                | Step::PlantStaleLock { .. }
                | Step::MakeLitter { .. }
                | Step::Write {
                    size: Size::Small,
                    ..
                }
        )
    }

    /// Whether a run of this step removes litter from the directory
    /// whatever the process ran before: `cleanup_litter`, and the store
    /// steps (each opens its store, and `Store::open` sweeps). A write, a
    /// lock or a `doctor` run sweeps only as the first of its process in
    /// the directory, which the model does not count on; moves,
    /// exchanges and `write_checksum_file` never do.
    pub fn sweeps(self) -> bool {
        matches!(
            self,
            Step::StoreUpdate { .. }
                | Step::StoreMigrate { .. }
                | Step::StoreReplace { .. }
                | Step::StoreTryUpdate { .. }
                | Step::CleanupLitter
        )
    }
}

/// A cycle of steps and the names it touches.
#[derive(Debug)]
pub struct Script {
    /// The name on `sa-child kill-loop`'s command line.
    pub name: &'static str,
    /// What it exercises, for reports.
    pub about: &'static str,
    /// The cycle.
    pub steps: &'static [Step],
    /// Every name a step touches (their locks must be free after a kill).
    pub targets: &'static [&'static str],
}

impl Script {
    /// Step number `k`.
    pub fn step(&self, k: u64) -> Step {
        self.steps[(k % self.steps.len() as u64) as usize]
    }
}

/// Whether `name` is a data file (not litter, a lock file, a sidecar,
/// [`PlantStaleLock`](Step::PlantStaleLock)'s scratch file or the harness's
/// own sweeper file).
pub fn is_data_name(name: &str) -> bool {
    !(name.starts_with(".safeatomic-tmp-")
        || name.starts_with(DOCTOR_PREFIX)
        || name.starts_with(PLANT_PREFIX)
        || name.ends_with(".lock")
        || name.ends_with(".sha256")
        || name.ends_with(".sha512")
        || is_migration_backup(name)
        || name == SWEEPER)
}

/// A migration's copy of the original (`s.json.v1.bak`): outside the
/// model, which counts the data file; [`observe`](super::observe::observe)
/// checks that it is whole.
pub fn is_migration_backup(name: &str) -> bool {
    name.ends_with(".bak")
}

/// A file the harness writes to make a write happen in the directory.
pub const SWEEPER: &str = "sweeper";

/// The target whose lock [`Step::PlantStaleLock`] takes to get a real
/// lock record (never a script target).
pub const DONOR: &str = "donor";

/// Prefix of the files `doctor`'s destructive probes create
/// (`.safeatomic-doctor-<16 hex>-<probe>`, with `.lock`, `.sha256` beside).
pub(super) const DOCTOR_PREFIX: &str = ".safeatomic-doctor-";

/// Prefix of [`Step::PlantStaleLock`]'s scratch file.
pub(super) const PLANT_PREFIX: &str = ".plant-";

/// The value `Store::replace` step `k` stores: `REPLACED + k`, far from
/// any count `update` reaches, so a replace and an update never look alike.
pub const REPLACED: u64 = 1_000_000;

/// The names of the temp files [`Step::MakeLitter`] step `k` creates:
/// library temp names (`.safeatomic-tmp-<16 hex>.tmp`) derived from `k`.
pub fn litter_names(k: u64, count: usize) -> Vec<String> {
    (0..count as u64)
        .map(|i| {
            format!(
                ".safeatomic-tmp-{:016x}.tmp",
                0xdead_0000_0000_0000 | (k << 8) | i
            )
        })
        .collect()
}

/// The value the `atomic_<format>_dump` steps write: `n` is the step
/// number, `filler` a string derived from it ([`Dumped::new`]), 2 to
/// 62 KiB, so a file cut short that still parses (a YAML or TOML string
/// ending early) is caught by the filler check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dumped {
    /// The step number.
    pub n: u64,
    /// [`dump_filler`]`(n)`.
    pub filler: String,
}

impl Dumped {
    /// The value of step `n`.
    pub fn new(n: u64) -> Self {
        Dumped {
            n,
            filler: dump_filler(n),
        }
    }
}

/// The filler string of [`Dumped`] `n`: letters and digits from an
/// xorshift stream seeded by `n`, `2 KiB + (n % 6) * 12 KiB` long.
pub fn dump_filler(n: u64) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let len = 2 * KIB + (n % 6) as usize * 12 * KIB;
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % 36) as usize] as char
        })
        .collect()
}
