//! The model of a script's directory: what each acknowledged step leaves.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

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
        | Step::StoreMigrate { name }
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
pub(super) fn rmw_tag(before: Option<&Content>) -> String {
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
        if step.sweeps() {
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
            | Step::StoreMigrate { name }
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
