//! Operation scripts for the process-death tests (`tests/kills.rs`) and
//! their driver `sa-child kill-loop SCRIPT DIR FIRST`.
//!
//! A [`Script`] is a short cycle of [`Step`]s on a few names in one
//! directory; step number `k` is `steps[k % steps.len()]`, and every
//! payload it writes is `make_payload(k, tag, payload_size(k))`, so the
//! whole history is a pure function of the starting state and `k`. The
//! child runs steps `FIRST, FIRST+1, …` for real ([`run_step`]) and prints
//! `K begin` before and `K done` or `K refused` after each; the test keeps a [`Model`] of the
//! directory, applies the acknowledged steps to it ([`Model::apply`]), and
//! after the SIGKILL compares the directory ([`observe`]) with the model
//! after the acknowledged steps, or after one more (the step in flight may
//! have completed without being acknowledged). Nothing else is allowed: no
//! torn file, no lost or duplicated payload, no third state.
//!
//! Besides data files and sidecars the model knows the state of the lock
//! files the lock-maintenance steps touch ([`LockFile`], as
//! `inspect_lock` reports it) and the names of the dead writers' temp files
//! it planted ([`Model::litter`]), so `cleanup_litter`'s count is checked
//! exactly.

use crate::child::{make_payload, verify_payload};
use crate::types::CheckedCounter;
use safeatomic::{
    Algorithm, AtomicWriter, DoctorOptions, ErrorKind, Format, Store, WriteOptions, acquire_lock,
    atomic_json_dump, atomic_ron_dump, atomic_toml_dump, atomic_yaml_dump, cleanup_litter,
    create_atomic, doctor, exchange_atomic, force_release_lock, is_locked, lock_file_path,
    move_atomic, move_atomic_noreplace, read_atomic, release_stale_lock, try_acquire_lock,
    write_atomic_locked, write_atomic_with, write_checksum_file,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;

const KIB: usize = 1024;

/// Chunk size of [`Step::Stream`]'s writes.
const STREAM_CHUNK: usize = 64 * KIB;

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

    /// Whether a successful run of this step removes litter from the
    /// directory: every whole write does (`Pending::begin` sweeps), and
    /// `cleanup_litter`; moves, exchanges, lock operations,
    /// `write_checksum_file` and a refused `try_update` do not (nor, as
    /// far as the model counts on, `doctor`).
    pub fn sweeps(self, outcome: Outcome) -> bool {
        match self {
            Step::Write { .. }
            | Step::Stream { .. }
            | Step::StoreUpdate { .. }
            | Step::StoreReplace { .. }
            | Step::Dump { .. }
            | Step::LockedRmw { .. }
            | Step::CleanupLitter => true,
            Step::Create { .. } | Step::StoreTryUpdate { .. } => outcome == Outcome::Done,
            _ => false,
        }
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

/// Every script the kill tests run. (`write_atomic` with the default
/// options and plain `AtomicWriter` streaming are killed in
/// `tests/processes.rs` already.) Read-only operations (`read_atomic*`,
/// `verify_checksum`, `inspect_lock`, `is_locked`, `Store::load`) change
/// nothing a kill could leave half done; they are the checks.
pub const SCRIPTS: &[Script] = &[
    Script {
        name: "write-unlocked",
        about: "write_atomic with lock(false)",
        steps: &[Step::Write {
            name: "t.bin",
            lock: false,
            checksum: false,
            size: Size::Large,
        }],
        targets: &["t.bin"],
    },
    Script {
        name: "write-checksum",
        about: "write_atomic with a sha256 sidecar (lock on)",
        steps: &[Step::Write {
            name: "t.bin",
            lock: true,
            checksum: true,
            size: Size::Large,
        }],
        targets: &["t.bin"],
    },
    Script {
        name: "write-checksum-unlocked",
        about: "write_atomic with a sha256 sidecar and lock(false)",
        steps: &[Step::Write {
            name: "t.bin",
            lock: false,
            checksum: true,
            size: Size::Large,
        }],
        targets: &["t.bin"],
    },
    Script {
        name: "stream-checksum",
        about: "AtomicWriter streaming with a sha256 sidecar, commit",
        steps: &[Step::Stream { name: "t.bin" }],
        targets: &["t.bin"],
    },
    Script {
        name: "create",
        about: "create_atomic on an absent name, then on the existing one (refused), then unlink",
        steps: &[
            Step::Create { name: "c.bin" },
            Step::Create { name: "c.bin" },
            Step::Remove { name: "c.bin" },
        ],
        targets: &["c.bin"],
    },
    Script {
        name: "move",
        about: "write a, move_atomic a->b (b absent), write a, move_atomic b->a (replacing a)",
        steps: &[
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::Move {
                src: "a.bin",
                dst: "b.bin",
            },
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::Move {
                src: "b.bin",
                dst: "a.bin",
            },
        ],
        targets: &["a.bin", "b.bin"],
    },
    Script {
        name: "move-noreplace",
        about: "write a, move_atomic_noreplace a->b (b absent), write a, a->b again (refused), unlink b",
        steps: &[
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::MoveNoreplace {
                src: "a.bin",
                dst: "b.bin",
            },
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::MoveNoreplace {
                src: "a.bin",
                dst: "b.bin",
            },
            Step::Remove { name: "b.bin" },
        ],
        targets: &["a.bin", "b.bin"],
    },
    Script {
        name: "exchange",
        about: "write a, write b, exchange_atomic a<->b three times",
        steps: &[
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::Write {
                name: "b.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::Exchange {
                a: "a.bin",
                b: "b.bin",
            },
            Step::Exchange {
                a: "b.bin",
                b: "a.bin",
            },
            Step::Exchange {
                a: "a.bin",
                b: "b.bin",
            },
        ],
        targets: &["a.bin", "b.bin"],
    },
    Script {
        name: "checksum-file",
        about: "write_atomic without checksum (the sidecar goes stale), then write_checksum_file",
        steps: &[
            Step::Write {
                name: "t.bin",
                lock: true,
                checksum: false,
                size: Size::Large,
            },
            Step::ChecksumFile { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "store-update",
        about: "Store::<CheckedCounter>::update(n += 1)",
        steps: &[Step::StoreUpdate { name: "s.json" }],
        targets: &["s.json"],
    },
    Script {
        name: "lock",
        about: "acquire_lock + read + write_atomic_locked + release, the same with a try_acquire_lock spin, acquire + hold + release",
        steps: &[
            Step::LockedRmw {
                name: "t.bin",
                try_lock: false,
            },
            Step::LockedRmw {
                name: "t.bin",
                try_lock: true,
            },
            Step::HoldRelease { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "store-replace",
        about: "Store::<CheckedCounter>::replace(n = 1000000 + k)",
        steps: &[Step::StoreReplace { name: "s.json" }],
        targets: &["s.json"],
    },
    Script {
        name: "store-try-update",
        about: "Store::<CheckedCounter>::try_update(n += 1), then try_update whose closure fails (nothing written)",
        steps: &[
            Step::StoreTryUpdate {
                name: "s.json",
                refuse: false,
            },
            Step::StoreTryUpdate {
                name: "s.json",
                refuse: true,
            },
        ],
        targets: &["s.json"],
    },
    Script {
        name: "dump-json",
        about: "atomic_json_dump of a value with a 2-62 KiB string",
        steps: &[Step::Dump {
            name: "dump.json",
            format: Format::Json,
        }],
        targets: &["dump.json"],
    },
    Script {
        name: "dump-yaml",
        about: "atomic_yaml_dump of a value with a 2-62 KiB string",
        steps: &[Step::Dump {
            name: "dump.yaml",
            format: Format::Yaml,
        }],
        targets: &["dump.yaml"],
    },
    Script {
        name: "dump-toml",
        about: "atomic_toml_dump of a value with a 2-62 KiB string",
        steps: &[Step::Dump {
            name: "dump.toml",
            format: Format::Toml,
        }],
        targets: &["dump.toml"],
    },
    Script {
        name: "dump-ron",
        about: "atomic_ron_dump of a value with a 2-62 KiB string",
        steps: &[Step::Dump {
            name: "dump.ron",
            format: Format::Ron,
        }],
        targets: &["dump.ron"],
    },
    Script {
        name: "release-stale",
        about: "plant a dead holder's payload, release_stale_lock (clears it), again (nothing to clear), \
                plant a corrupt 700-byte payload, release_stale_lock (truncates it)",
        steps: &[
            Step::PlantStaleLock {
                name: "t.bin",
                corrupt: false,
            },
            Step::ReleaseStaleLock { name: "t.bin" },
            Step::ReleaseStaleLock { name: "t.bin" },
            Step::PlantStaleLock {
                name: "t.bin",
                corrupt: true,
            },
            Step::ReleaseStaleLock { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "force-release",
        about: "plant a dead holder's payload, force_release_lock (removes the lock file), again (nothing to remove), \
                plant a corrupt payload, force_release_lock",
        steps: &[
            Step::PlantStaleLock {
                name: "t.bin",
                corrupt: false,
            },
            Step::ForceReleaseLock { name: "t.bin" },
            Step::ForceReleaseLock { name: "t.bin" },
            Step::PlantStaleLock {
                name: "t.bin",
                corrupt: true,
            },
            Step::ForceReleaseLock { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "doctor",
        about: "small checksummed write of t.bin, doctor(t.bin) with destructive probes",
        steps: &[
            Step::Write {
                name: "t.bin",
                lock: true,
                checksum: true,
                size: Size::Small,
            },
            Step::Doctor { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "cleanup-litter",
        about: "small checksummed write of t.bin, plant 32 dead writers' temp files, cleanup_litter (removes 32); \
                a live writer's temp file stays beside them throughout",
        steps: &[
            Step::Write {
                name: "t.bin",
                lock: true,
                checksum: true,
                size: Size::Small,
            },
            Step::MakeLitter { count: 32 },
            Step::CleanupLitter,
        ],
        targets: &["t.bin"],
    },
];

/// The script called `name`.
pub fn script(name: &str) -> Option<&'static Script> {
    SCRIPTS.iter().find(|s| s.name == name)
}

/// What a data file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// One complete payload.
    Payload {
        /// Its sequence number (the step that wrote it).
        seq: u64,
        /// Its tag.
        tag: String,
    },
    /// A `CheckedCounter` JSON value.
    Counter(u64),
    /// Anything else: torn, truncated, empty, unparsable (why).
    Bad(String),
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what it does.
    Done,
    /// It was refused (`AlreadyExists`, or a `try_update` closure's `Err`)
    /// and changed nothing.
    Refused,
    /// There was nothing to do: `release_stale_lock` found no payload,
    /// `force_release_lock` no lock file (`Ok(false)`).
    Noop,
    /// `cleanup_litter` removed this many files.
    Removed(usize),
}

impl std::fmt::Display for Outcome {
    /// What `sa-child kill-loop` prints after the step number.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Done => f.write_str("done"),
            Outcome::Refused => f.write_str("refused"),
            Outcome::Noop => f.write_str("noop"),
            Outcome::Removed(n) => write!(f, "removed {n}"),
        }
    }
}

impl Outcome {
    /// The outcome its [`Display`](std::fmt::Display) form names.
    pub fn parse(word: &str) -> Option<Outcome> {
        match word {
            "done" => Some(Outcome::Done),
            "refused" => Some(Outcome::Refused),
            "noop" => Some(Outcome::Noop),
            _ => word
                .strip_prefix("removed ")
                .and_then(|n| n.parse().ok())
                .map(Outcome::Removed),
        }
    }
}

/// The state of a lock file as `inspect_lock` reports it (the lock itself
/// is never held after a kill: that is checked separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockFile {
    /// No lock file (`exists` false).
    Absent,
    /// A lock file without a payload (blank record or empty file): no
    /// `pid`, not corrupt, not stale.
    Clear,
    /// A valid payload of a holder that is gone: `pid` set, `is_stale`.
    Stale,
    /// A payload that is not a lock record: `corrupt` and `raw_payload`
    /// set, `is_stale`.
    Corrupt,
}

/// The expected state of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    /// Data files (not sidecars, locks or litter) and their content.
    pub files: BTreeMap<String, Content>,
    /// For each data file with a checksum sidecar: whether the sidecar
    /// vouches for the current content (`false`: stale, a genuine mismatch).
    pub sidecars: BTreeMap<String, bool>,
    /// Lock files whose state the script determines (by target name);
    /// others are not modelled (a killed holder leaves a stale payload).
    pub locks: BTreeMap<String, LockFile>,
    /// Temp files of dead writers in the directory: the planted ones, and
    /// after a kill what the killed child left (the harness sets it).
    pub litter: BTreeSet<String>,
}

/// The tag a payload written by `step` gets, given the model before it.
fn tag_for(step: Step, before: &Model) -> String {
    match step {
        Step::LockedRmw { name, .. } => rmw_tag(before.files.get(name)),
        Step::Write { name, .. }
        | Step::Stream { name }
        | Step::Create { name }
        | Step::ChecksumFile { name }
        | Step::Remove { name }
        | Step::StoreUpdate { name }
        | Step::HoldRelease { name }
        | Step::StoreReplace { name }
        | Step::StoreTryUpdate { name, .. }
        | Step::Dump { name, .. }
        | Step::PlantStaleLock { name, .. }
        | Step::ReleaseStaleLock { name }
        | Step::ForceReleaseLock { name }
        | Step::Doctor { name } => name.to_owned(),
        Step::Move { .. }
        | Step::MoveNoreplace { .. }
        | Step::Exchange { .. }
        | Step::MakeLitter { .. }
        | Step::CleanupLitter => String::new(),
    }
}

/// The tag of a locked read-modify-write that read `before`.
fn rmw_tag(before: Option<&Content>) -> String {
    match before {
        Some(Content::Payload { seq, .. }) => format!("after-{seq}"),
        Some(other) => format!("after-{other:?}"),
        None => "after-none".to_owned(),
    }
}

impl Model {
    /// Applies step `k` and returns how it ends.
    ///
    /// # Panics
    ///
    /// When the step cannot run on this state (a script bug: moving a
    /// missing file, exchanging with a missing file, releasing a lock
    /// whose state the model does not know).
    pub fn apply(&mut self, step: Step, k: u64) -> Outcome {
        let outcome = self.apply_inner(step, k);
        if step.sweeps(outcome) {
            self.litter.clear();
        }
        outcome
    }

    /// The lock probe of the harness (`try_acquire_lock` + `release` of
    /// every target) leaves every modelled lock file of `targets` present
    /// and clear.
    pub fn probed(&mut self, targets: &[&str]) {
        for name in targets {
            if let Some(state) = self.locks.get_mut(*name) {
                *state = LockFile::Clear;
            }
        }
    }

    fn counter(&self, name: &str) -> u64 {
        match self.files.get(name) {
            Some(Content::Counter(n)) => *n,
            None => 0,
            Some(other) => panic!("store {name} holds {other:?}"),
        }
    }

    fn lock_state(&self, name: &str) -> LockFile {
        *self
            .locks
            .get(name)
            .unwrap_or_else(|| panic!("script releases the lock of {name}, state unknown"))
    }

    fn apply_inner(&mut self, step: Step, k: u64) -> Outcome {
        let payload = Content::Payload {
            seq: k,
            tag: tag_for(step, self),
        };
        let stale = |m: &mut Model, name: &str| {
            if let Some(ok) = m.sidecars.get_mut(name) {
                *ok = false;
            }
        };
        match step {
            Step::Write {
                name,
                checksum: true,
                ..
            }
            | Step::Stream { name } => {
                self.files.insert(name.into(), payload);
                self.sidecars.insert(name.into(), true);
            }
            Step::Write {
                name,
                checksum: false,
                ..
            }
            | Step::LockedRmw { name, .. } => {
                self.files.insert(name.into(), payload);
                stale(self, name);
            }
            Step::Create { name } => {
                if self.files.contains_key(name) {
                    return Outcome::Refused;
                }
                self.files.insert(name.into(), payload);
                stale(self, name);
            }
            Step::Move { src, dst } => {
                let c = self
                    .files
                    .remove(src)
                    .unwrap_or_else(|| panic!("script moves missing {src}"));
                self.files.insert(dst.into(), c);
            }
            Step::MoveNoreplace { src, dst } => {
                if self.files.contains_key(dst) {
                    return Outcome::Refused;
                }
                let c = self
                    .files
                    .remove(src)
                    .unwrap_or_else(|| panic!("script moves missing {src}"));
                self.files.insert(dst.into(), c);
            }
            Step::Exchange { a, b } => {
                let ca = self.files.remove(a);
                let cb = self.files.remove(b);
                let (Some(ca), Some(cb)) = (ca, cb) else {
                    panic!("script exchanges {a} and {b}, not both present");
                };
                self.files.insert(a.into(), cb);
                self.files.insert(b.into(), ca);
            }
            Step::ChecksumFile { name } => {
                assert!(
                    self.files.contains_key(name),
                    "script checksums missing {name}"
                );
                self.sidecars.insert(name.into(), true);
            }
            Step::Remove { name } => {
                self.files.remove(name);
            }
            Step::StoreUpdate { name }
            | Step::StoreTryUpdate {
                name,
                refuse: false,
            } => {
                let n = self.counter(name) + 1;
                self.files.insert(name.into(), Content::Counter(n));
                self.sidecars.insert(name.into(), true);
            }
            Step::StoreTryUpdate { name, refuse: true } => {
                self.counter(name); // holds a counter or nothing
                return Outcome::Refused;
            }
            Step::StoreReplace { name } => {
                self.files
                    .insert(name.into(), Content::Counter(REPLACED + k));
                self.sidecars.insert(name.into(), true);
            }
            Step::Dump { name, .. } => {
                self.files.insert(name.into(), payload);
                stale(self, name);
            }
            Step::PlantStaleLock { name, corrupt } => {
                let state = if corrupt {
                    LockFile::Corrupt
                } else {
                    LockFile::Stale
                };
                self.locks.insert(name.into(), state);
            }
            Step::ReleaseStaleLock { name } => match self.lock_state(name) {
                LockFile::Stale | LockFile::Corrupt => {
                    self.locks.insert(name.into(), LockFile::Clear);
                }
                LockFile::Clear | LockFile::Absent => return Outcome::Noop,
            },
            Step::ForceReleaseLock { name } => match self.lock_state(name) {
                LockFile::Absent => return Outcome::Noop,
                _ => {
                    self.locks.insert(name.into(), LockFile::Absent);
                }
            },
            Step::MakeLitter { count } => self.litter.extend(litter_names(k, count)),
            Step::CleanupLitter => return Outcome::Removed(std::mem::take(&mut self.litter).len()),
            Step::HoldRelease { .. } | Step::Doctor { .. } => {}
        }
        Outcome::Done
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
        || name == SWEEPER)
}

/// A file the harness writes to make a write happen in the directory.
pub const SWEEPER: &str = "sweeper";

/// The target whose lock [`Step::PlantStaleLock`] takes to get a real
/// lock record (never a script target).
pub const DONOR: &str = "donor";

/// Prefix of the files `doctor`'s destructive probes create
/// (`.safeatomic-doctor-<16 hex>-<probe>`, with `.lock`, `.sha256` beside).
pub const DOCTOR_PREFIX: &str = ".safeatomic-doctor-";

/// Prefix of [`Step::PlantStaleLock`]'s scratch file.
const PLANT_PREFIX: &str = ".plant-";

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

/// Parses a [`Dumped`] file in the format its extension names (with the
/// format crates, not the library) and checks its filler.
fn classify_dump(name: &str, bytes: &[u8]) -> Content {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return Content::Bad(format!("{} bytes, not UTF-8: {e}", bytes.len())),
    };
    let parsed: Result<Dumped, String> = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("json") => serde_json::from_str(text).map_err(|e| e.to_string()),
        Some("yaml") => serde_saphyr::from_str(text).map_err(|e| e.to_string()),
        Some("toml") => toml::from_str(text).map_err(|e| e.to_string()),
        Some("ron") => ron::from_str(text).map_err(|e| e.to_string()),
        _ => Err(format!("no format for {name}")),
    };
    match parsed {
        Ok(d) if d.filler == dump_filler(d.n) => Content::Payload {
            seq: d.n,
            tag: name.to_owned(),
        },
        Ok(d) => Content::Bad(format!(
            "{} bytes: n = {} but a filler of {} chars that is not its own",
            bytes.len(),
            d.n,
            d.filler.len()
        )),
        Err(e) => Content::Bad(format!("{} bytes, does not parse: {e}", bytes.len())),
    }
}

/// What the bytes of data file `name` are.
pub fn classify(name: &str, bytes: &[u8]) -> Content {
    if name.starts_with("dump.") {
        classify_dump(name, bytes)
    } else if name.ends_with(".json") {
        match serde_json::from_slice::<CheckedCounter>(bytes) {
            Ok(c) => Content::Counter(c.n),
            Err(e) => Content::Bad(format!("{} bytes, not a counter: {e}", bytes.len())),
        }
    } else {
        match verify_payload(bytes) {
            Ok(info) => Content::Payload {
                seq: info.seq,
                tag: info.tag,
            },
            Err(e) => Content::Bad(e.to_string()),
        }
    }
}

/// Every data file in `dir` and what it holds (read with plain `std::fs`,
/// so the check does not rely on the library it checks).
///
/// # Panics
///
/// If the directory cannot be listed or a file read.
pub fn observe(dir: &Path) -> BTreeMap<String, Content> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("list the test directory") {
        let e = e.expect("dir entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if !is_data_name(&name) {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap_or_else(|err| panic!("read {name}: {err}"));
        out.insert(name.clone(), classify(&name, &bytes));
    }
    out
}

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
