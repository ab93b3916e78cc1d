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

use crate::child::{make_payload, verify_payload};
use crate::types::CheckedCounter;
use safeatomic::{
    Algorithm, AtomicWriter, ErrorKind, Store, WriteOptions, acquire_lock, create_atomic,
    exchange_atomic, is_locked, move_atomic, move_atomic_noreplace, read_atomic, try_acquire_lock,
    write_atomic_locked, write_atomic_with, write_checksum_file,
};
use std::collections::BTreeMap;
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
        }
    }

    /// Whether the step only sets the stage for the operation a script
    /// tests (a small write before a move, an unlink).
    pub fn is_scaffolding(self) -> bool {
        matches!(
            self,
            Step::Remove { .. }
                | Step::Write {
                    size: Size::Small,
                    ..
                }
        )
    }

    /// Whether a successful run of this step removes litter from the
    /// directory: every whole write does (`Pending::begin` sweeps); moves,
    /// exchanges, lock operations and `write_checksum_file` do not.
    pub fn sweeps(self, outcome: Outcome) -> bool {
        match self {
            Step::Write { .. }
            | Step::Stream { .. }
            | Step::StoreUpdate { .. }
            | Step::LockedRmw { .. } => true,
            Step::Create { .. } => outcome == Outcome::Done,
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
/// `tests/processes.rs` already.)
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
    /// It was refused with `AlreadyExists` and changed nothing.
    Refused,
}

impl Outcome {
    /// The word `sa-child kill-loop` prints.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Refused => "refused",
        }
    }

    /// The outcome `word` names.
    pub fn parse(word: &str) -> Option<Outcome> {
        match word {
            "done" => Some(Outcome::Done),
            "refused" => Some(Outcome::Refused),
            _ => None,
        }
    }
}

/// The expected state of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    /// Data files (not sidecars, locks or litter) and their content.
    pub files: BTreeMap<String, Content>,
    /// For each data file with a checksum sidecar: whether the sidecar
    /// vouches for the current content (`false`: stale, a genuine mismatch).
    pub sidecars: BTreeMap<String, bool>,
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
        | Step::HoldRelease { name } => name.to_owned(),
        Step::Move { .. } | Step::MoveNoreplace { .. } | Step::Exchange { .. } => String::new(),
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
    /// missing file, exchanging with a missing file).
    pub fn apply(&mut self, step: Step, k: u64) -> Outcome {
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
            Step::StoreUpdate { name } => {
                let n = match self.files.get(name) {
                    Some(Content::Counter(n)) => n + 1,
                    None => 1,
                    Some(other) => panic!("store {name} holds {other:?}"),
                };
                self.files.insert(name.into(), Content::Counter(n));
                self.sidecars.insert(name.into(), true);
            }
            Step::HoldRelease { .. } => {}
        }
        Outcome::Done
    }
}

/// Whether `name` is a data file (not litter, a lock file, a sidecar or
/// the harness's own sweeper file).
pub fn is_data_name(name: &str) -> bool {
    !(name.starts_with(".safeatomic-tmp-")
        || name.ends_with(".lock")
        || name.ends_with(".sha256")
        || name.ends_with(".sha512")
        || name == SWEEPER)
}

/// A file the harness writes to make a write happen in the directory.
pub const SWEEPER: &str = "sweeper";

/// What the bytes of data file `name` are.
pub fn classify(name: &str, bytes: &[u8]) -> Content {
    if name.ends_with(".json") {
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
    }
    Ok(Outcome::Done)
}
