//! Process death and concurrency: every public operation killed with
//! SIGKILL at random points in a child process, and a mixed load of
//! updaters, locked read-modify-writes, verified readers and lock
//! inspectors running at once.
//!
//! Kills: `sa-child kill-loop SCRIPT DIR FIRST` runs one of the scripts of
//! `common::killops` (write_atomic without the lock and with a checksum,
//! AtomicWriter with a checksum, create_atomic, move_atomic,
//! move_atomic_noreplace, exchange_atomic, write_checksum_file,
//! Store::update, Store::replace, Store::try_update (committing and
//! refusing), atomic_{json,yaml,toml,ron}_dump, lock acquire/hold/release
//! loops, release_stale_lock and force_release_lock on planted stale and
//! corrupt payloads, cleanup_litter among planted dead writers' temp
//! files, doctor with destructive probes) and acknowledges every step. Throughout, the test process keeps
//! a live `AtomicWriter` open in the same directory. After each kill:
//!
//! * the directory is exactly the model after the acknowledged steps, or
//!   after one more (the step in flight completed but was not
//!   acknowledged): every file is one complete payload, and for moves and
//!   exchanges each payload is under exactly the name the model says — none
//!   lost, none duplicated;
//! * where the model has a checksum sidecar, `verify_checksum` says what
//!   the model says (true after a checksummed write, false only for the
//!   sidecar a plain write made stale) and `read_atomic_verified` returns
//!   the file;
//! * a checksummed store loads (`Store::load`) the value the model says;
//! * every lock file the script maintains is in the state the model says,
//!   as `inspect_lock` reports it: absent, clear, a stale valid payload, or
//!   a corrupt payload reported as such (`corrupt` and `raw_payload` set);
//! * the live writer's temp file is still there (same inode, all its
//!   bytes): no sweep, `cleanup_litter` included, removed it;
//! * besides it and the planted litter, at most two temp files (data and
//!   sidecar) are left, and every lock is free (`is_locked` false,
//!   `inspect_lock().held` false, `try_acquire_lock` succeeds);
//! * the next step, run in the test process, succeeds with the outcome the
//!   model predicts (for `cleanup_litter`: the exact number of dead temp
//!   files), and after it (or, for steps that do not sweep, one more
//!   write as the first of a process in the directory) no litter remains
//!   but the live writer's.
//!
//! At the end the live writer commits and its file is complete.
//!
//! A killed destructive `doctor` leaves its `.safeatomic-doctor-*` probe
//! files: the next destructive doctor run in the directory removes them
//! (its own run's marker is locked while it lives, a dead run's is not),
//! and so does `cleanup_litter`; both are checked after every such kill.
//! A doctor run that completes leaves none.
//!
//! `write_atomic` with the default options and plain `AtomicWriter`
//! streaming are killed in `tests/processes.rs`; not repeated here.
//!
//! Environment: `SAFEATOMIC_KILLS_PER_OP` (kills per script, default 60,
//! so 1,260 kills for the 21 scripts), `SAFEATOMIC_KILL_SEED` (replays the
//! random choices).

use common::child::{AckReader, ChildGuard, make_payload, verify_payload};
use common::killops::{
    Content, LockFile, Model, Outcome, SCRIPTS, SWEEPER, Script, Step, observe, payload_size,
    run_step, script,
};
use common::rng::Rng;
use common::types::CheckedCounter;
use common::{leftovers, tempdir};
use safeatomic::{
    AtomicWriter, Store, inspect_lock, is_locked, read_atomic_verified, try_acquire_lock,
    verify_checksum, write_atomic,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long any single child step (a printed line, an exit) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

fn sa_child() -> Command {
    common::sa_child!()
}

fn report(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

fn kills_per_op() -> usize {
    match std::env::var("SAFEATOMIC_KILLS_PER_OP") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("SAFEATOMIC_KILLS_PER_OP must be a number, got {s:?}")),
        Err(_) => 60,
    }
}

// ------------------------------------------------------------ the invariant

/// Checks `dir` against `model`: the same data files with the same
/// content, and every sidecar the model has verifying as the model says.
/// `Err` says what differs.
fn agrees(dir: &Path, model: &Model) -> Result<(), String> {
    let seen = observe(dir);
    if seen != model.files {
        return Err(format!("files {seen:?}"));
    }
    for (name, &ok) in &model.sidecars {
        if !model.files.contains_key(name) {
            continue;
        }
        let path = dir.join(name);
        match verify_checksum(&path) {
            Ok(v) if v == ok => {}
            Ok(v) => return Err(format!("verify_checksum({name}) = {v}, expected {ok}")),
            Err(e) => return Err(format!("verify_checksum({name}): {e}")),
        }
        if ok {
            let on_disk = std::fs::read(&path).map_err(|e| format!("read {name}: {e}"))?;
            match read_atomic_verified(&path) {
                Ok(b) if b == on_disk => {}
                Ok(_) => {
                    return Err(format!(
                        "read_atomic_verified({name}) differs from the file"
                    ));
                }
                Err(e) => return Err(format!("read_atomic_verified({name}): {e}")),
            }
        }
    }
    for (name, content) in &model.files {
        let sidecar = dir.join(format!("{name}.sha256"));
        if !model.sidecars.contains_key(name) && sidecar.exists() {
            return Err(format!("{name} has a sidecar the model does not know"));
        }
        if let (Content::Counter(n), Some(true)) = (content, model.sidecars.get(name)) {
            match Store::<CheckedCounter>::open(dir.join(name)).and_then(|s| s.load()) {
                Ok(c) if c.n == *n => {}
                Ok(c) => return Err(format!("Store::load({name}) = {}, expected {n}", c.n)),
                Err(e) => return Err(format!("Store::load({name}): {e}")),
            }
        }
    }
    for (name, &state) in &model.locks {
        lock_file_is(dir, name, state)?;
    }
    Ok(())
}

/// The lock file of `name` is in `state`, as `inspect_lock` (and
/// `is_stale_lock`'s rule, `LockInfo::is_stale`) reports it, and not held.
fn lock_file_is(dir: &Path, name: &str, state: LockFile) -> Result<(), String> {
    let info = inspect_lock(dir.join(name)).map_err(|e| format!("inspect_lock({name}): {e}"))?;
    let seen = match (info.exists, info.held, info.pid, &info.corrupt) {
        (false, ..) => LockFile::Absent,
        (true, true, ..) => return Err(format!("the lock of {name} is held: {info:?}")),
        (true, false, None, None) => LockFile::Clear,
        (true, false, Some(_), None) => LockFile::Stale,
        (true, false, None, Some(_)) => LockFile::Corrupt,
        (true, false, Some(_), Some(_)) => {
            return Err(format!("inspect_lock({name}): a pid and corrupt: {info:?}"));
        }
    };
    if seen != state {
        return Err(format!(
            "the lock file of {name} is {seen:?}, expected {state:?}: {info:?}"
        ));
    }
    let stale = matches!(state, LockFile::Stale | LockFile::Corrupt);
    if info.is_stale() != stale {
        return Err(format!("inspect_lock({name}).is_stale() = {}", !stale));
    }
    if state == LockFile::Stale && (info.timestamp.is_none() || info.hostname.is_none()) {
        return Err(format!("a stale payload of {name} half parsed: {info:?}"));
    }
    if state == LockFile::Corrupt && info.raw_payload.as_deref().is_none_or(str::is_empty) {
        return Err(format!("a corrupt payload of {name} not shown: {info:?}"));
    }
    Ok(())
}

/// Every lock of the script's names is free, as a dead holder's must be.
fn locks_free(dir: &Path, s: &Script) -> Result<(), String> {
    for name in s.targets {
        let path = dir.join(name);
        match is_locked(&path) {
            Ok(false) => {}
            Ok(true) => return Err(format!("{name} is still locked")),
            Err(e) => return Err(format!("is_locked({name}): {e}")),
        }
        match inspect_lock(&path) {
            Ok(info) if !info.held => {}
            Ok(info) => return Err(format!("inspect_lock({name}) says held: {info:?}")),
            Err(e) => return Err(format!("inspect_lock({name}): {e}")),
        }
        match try_acquire_lock(&path) {
            Ok(Some(g)) => g.release().map_err(|e| format!("release {name}: {e}"))?,
            Ok(None) => return Err(format!("try_acquire_lock({name}) found it held")),
            Err(e) => return Err(format!("try_acquire_lock({name}): {e}")),
        }
    }
    Ok(())
}

// ------------------------------------------------------------ the kill loop

/// Figures for one script.
#[derive(Debug, Default)]
struct KillStats {
    kills: usize,
    /// Steps acknowledged by killed children.
    acked_steps: usize,
    /// Kills after at least one acknowledged step.
    after_ack: usize,
    /// Kills where the step in flight had completed (directory = model + 1).
    landed: usize,
    /// Kills that left temp files of the killed child behind (not counting
    /// planted litter).
    litter: usize,
    /// Kills that left the planted litter partly removed (a
    /// `cleanup_litter` or a write's sweep killed half way through).
    partly_swept: usize,
    /// Kills that left `doctor` probe files, and how many files in all
    /// (finding 5 of docs/crash-testing.md: nothing removes them).
    probes_left: (usize, usize),
    /// Kills per operation in flight at the moment of the kill.
    in_flight: BTreeMap<&'static str, usize>,
    elapsed: Duration,
}

/// The live writer the test keeps open beside every script: an
/// `AtomicWriter` of the test process, written but not committed, whose
/// temp file no sweep may touch.
struct LiveWriter {
    writer: AtomicWriter,
    temp: String,
    ino: u64,
}

/// The live writer's target and payload size.
const LIVE: &str = "live.bin";
const LIVE_SIZE: usize = 64 * 1024;

impl LiveWriter {
    fn start(dir: &Path) -> Self {
        let mut writer = AtomicWriter::create(dir.join(LIVE)).expect("start the live writer");
        writer
            .write_all(&make_payload(0, LIVE, LIVE_SIZE))
            .and_then(|()| writer.flush())
            .expect("write the live writer's payload");
        let temps = leftovers(dir);
        assert_eq!(temps.len(), 1, "the live writer's one temp file: {temps:?}");
        let temp = temps[0].clone();
        let ino = std::fs::symlink_metadata(dir.join(&temp)).unwrap().ino();
        LiveWriter { writer, temp, ino }
    }

    /// Its temp file is still there, the same file, with all its bytes.
    fn intact(&self, dir: &Path) -> Result<(), String> {
        match std::fs::symlink_metadata(dir.join(&self.temp)) {
            Ok(m) if m.ino() == self.ino && m.len() == LIVE_SIZE as u64 => Ok(()),
            Ok(m) => Err(format!(
                "the live writer's temp file {} was replaced or cut: inode {} (was {}), {} bytes",
                self.temp,
                m.ino(),
                self.ino,
                m.len()
            )),
            Err(e) => Err(format!(
                "the live writer's temp file {} is gone: {e}",
                self.temp
            )),
        }
    }

    /// Commits and checks the published file.
    fn finish(self, dir: &Path) {
        self.writer.commit().expect("commit the live writer");
        let bytes = std::fs::read(dir.join(LIVE)).expect("read the live writer's file");
        let info = verify_payload(&bytes).expect("the live writer's file is complete");
        assert_eq!((info.seq, info.tag.as_str()), (0, LIVE));
    }
}

/// The `doctor` probe files in `dir` (names only).
fn doctor_probes(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list the test directory")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.starts_with(common::PROBE_PREFIX))
        .collect()
}

fn kill_script(s: &Script, kills: usize, rng: &mut Rng) -> KillStats {
    let start = Instant::now();
    let d = tempdir();
    let dir = d.path();
    let live = LiveWriter::start(dir);
    let dead_temps = |dir: &Path| -> Vec<String> {
        leftovers(dir)
            .into_iter()
            .filter(|t| *t != live.temp && !t.starts_with(common::PROBE_PREFIX))
            .collect()
    };
    let mut model = Model::default();
    let mut next: u64 = 0;
    let mut stats = KillStats::default();
    for cycle in 0..kills {
        let mut child = ChildGuard::spawn(
            sa_child()
                .arg("kill-loop")
                .arg(s.name)
                .arg(dir)
                .arg(next.to_string()),
        );
        let acks = AckReader::new(child.take_stdout());
        let mut lines: Vec<String> = Vec::new();
        let next_line = |lines: &mut Vec<String>| {
            let l = acks.next_line(STEP_TIMEOUT).unwrap_or_else(|| {
                panic!(
                    "{}: the child printed nothing more in {STEP_TIMEOUT:?}: {lines:?}",
                    s.name
                )
            });
            lines.push(l);
        };
        match rng.below(4) {
            // Just after the first acknowledged step.
            0 => {
                while lines.last().is_none_or(|l| l.ends_with(" begin")) {
                    next_line(&mut lines);
                }
                std::thread::sleep(Duration::from_micros(rng.below(8_000)));
            }
            // Inside an operation under test (not a scaffolding step):
            // within half a millisecond of its start.
            1 => {
                while !lines.last().is_some_and(|l| {
                    l.strip_suffix(" begin")
                        .and_then(|k| k.parse::<u64>().ok())
                        .is_some_and(|k| !s.step(k).is_scaffolding())
                }) {
                    next_line(&mut lines);
                }
                std::thread::sleep(Duration::from_micros(rng.below(500)));
            }
            // At a random moment from the very start on.
            _ => std::thread::sleep(Duration::from_micros(rng.below(30_000))),
        }
        let status = child.kill();
        lines.extend(acks.finish());
        let context = format!(
            "{}: kill {cycle} (steps from {next}, acknowledged {lines:?}, child {status})",
            s.name
        );
        assert_eq!(
            status.signal(),
            Some(9),
            "{context}: the child did not die of the SIGKILL (its stderr is above)"
        );

        // The model after the acknowledged steps, and after one more.
        lines.retain(|l| !l.ends_with(" begin"));
        let mut acked = model.clone();
        for (i, line) in lines.iter().enumerate() {
            let k = next + i as u64;
            let (num, word) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("{context}: bad line {line:?}"));
            assert_eq!(num, k.to_string(), "{context}: steps out of order");
            let outcome = Outcome::parse(word).unwrap_or_else(|| panic!("{context}: {line:?}"));
            assert_eq!(
                acked.apply(s.step(k), k),
                outcome,
                "{context}: step {k} ended otherwise than the model says"
            );
        }
        let in_flight = next + lines.len() as u64;
        *stats
            .in_flight
            .entry(s.step(in_flight).label())
            .or_default() += 1;
        let mut landed = acked.clone();
        landed.apply(s.step(in_flight), in_flight);

        if let Err(e) = live.intact(dir) {
            panic!("{context}: {e}");
        }
        let killed_probes = doctor_probes(dir);
        if !killed_probes.is_empty() {
            // A killed destructive `doctor` leaves its probe files (one
            // run's: one probe id); the next doctor run or
            // `cleanup_litter` removes them, checked below.
            let ids: BTreeSet<&str> = killed_probes
                .iter()
                .map(|p| &p[..common::PROBE_PREFIX.len() + 16])
                .collect();
            assert_eq!(
                ids.len(),
                1,
                "{context}: probe files of more than one doctor run: {killed_probes:?}"
            );
            stats.probes_left.0 += 1;
            stats.probes_left.1 += killed_probes.len();
        }
        let temps = dead_temps(dir);
        let litter: Vec<&String> = temps
            .iter()
            .filter(|t| !acked.litter.contains(*t) && !landed.litter.contains(*t))
            .collect();
        assert!(
            litter.len() <= 2,
            "{context}: more temp files than one write makes: {litter:?}"
        );
        let planted_left = temps.iter().filter(|t| acked.litter.contains(*t)).count();
        if planted_left > 0 && planted_left < acked.litter.len() {
            stats.partly_swept += 1;
        }
        let (mut now, resume) = match agrees(dir, &acked) {
            Ok(()) => (acked, in_flight),
            Err(not_acked) => match agrees(dir, &landed) {
                Ok(()) => {
                    stats.landed += 1;
                    (landed, in_flight + 1)
                }
                Err(not_landed) => panic!(
                    "{context}: the directory is neither the acknowledged state nor one step \
                     further.\n  against the acknowledged state {acked:?}: {not_acked}\n  \
                     against one step further {landed:?}: {not_landed}"
                ),
            },
        };
        if let Err(e) = locks_free(dir, s) {
            panic!("{context}: {e}");
        }
        now.probed(s.targets);
        now.litter = temps.iter().cloned().collect::<BTreeSet<_>>();
        let left_litter = !litter.is_empty();

        // The next operation succeeds and clears the litter.
        model = now;
        let step = s.step(resume);
        let expected = model.apply(step, resume);
        let got = run_step(dir, step, resume)
            .unwrap_or_else(|e| panic!("{context}: the next step after the kill failed: {e}"));
        assert_eq!(got, expected, "{context}: step {resume} after the kill");
        if let Err(e) = agrees(dir, &model) {
            panic!("{context}: after step {resume} run by the test: {e}");
        }
        if !step.sweeps() {
            common::sweeping_write(&dir.join(SWEEPER), b"one more write")
                .expect("a write after the kill");
            model.litter.clear();
        }
        let left = dead_temps(dir);
        assert!(
            left.is_empty(),
            "{context}: litter survived the next write: {left:?}"
        );
        let probes = doctor_probes(dir);
        if !probes.is_empty() {
            // Only a killed run's files may remain, and only when the next
            // step was not a doctor run (which removes them): then
            // `cleanup_litter` removes exactly those (no temp litter is
            // left by now, and the live writer's file is not litter).
            assert!(
                !matches!(step, Step::Doctor { .. }),
                "{context}: the doctor run after the kill left probe files: {probes:?}"
            );
            assert!(
                probes.iter().all(|p| killed_probes.contains(p)),
                "{context}: a doctor run that completed left probe files: {probes:?}"
            );
            let removed = safeatomic::cleanup_litter(dir).expect("cleanup_litter after the kill");
            assert_eq!(
                removed,
                probes.len(),
                "{context}: cleanup_litter removed {removed} files, the killed doctor run left {probes:?}"
            );
            let left = doctor_probes(dir);
            assert!(left.is_empty(), "{context}: cleanup_litter left {left:?}");
        }
        if let Err(e) = live.intact(dir) {
            panic!("{context}: after step {resume} run by the test: {e}");
        }
        next = resume + 1;

        stats.kills += 1;
        stats.acked_steps += lines.len();
        if !lines.is_empty() {
            stats.after_ack += 1;
        }
        if left_litter {
            stats.litter += 1;
        }
    }
    live.finish(dir);
    stats.elapsed = start.elapsed();
    stats
}

fn kills_leave_a_consistent_directory(name: &str) {
    let s = script(name).unwrap_or_else(|| panic!("no kill script {name}"));
    let kills = kills_per_op();
    let mut rng = Rng::from_env("SAFEATOMIC_KILL_SEED", name);
    let st = kill_script(s, kills, &mut rng);
    let in_flight: Vec<String> = st
        .in_flight
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    let mut partly = if st.partly_swept > 0 {
        format!(
            ", {} left the planted litter partly removed",
            st.partly_swept
        )
    } else {
        String::new()
    };
    if st.probes_left.0 > 0 {
        partly.push_str(&format!(
            ", {} left {} doctor probe files, all removed by the next doctor run or cleanup_litter",
            st.probes_left.0, st.probes_left.1
        ));
    }
    report(&format!(
        "kills of {}: {} (in flight: {}); {} after an acknowledged step, {} steps acknowledged, \
         {} in-flight steps had landed, {} left litter{partly}; {:.1?}",
        s.name,
        st.kills,
        in_flight.join(", "),
        st.after_ack,
        st.acked_steps,
        st.landed,
        st.litter,
        st.elapsed
    ));
    if kills >= 20 {
        assert!(
            st.after_ack > 0,
            "{name}: no kill came after an acknowledged step: {st:?}"
        );
    }
}

#[test]
fn killed_unlocked_writes_leave_a_complete_version_and_free_locks() {
    kills_leave_a_consistent_directory("write-unlocked");
}

#[test]
fn killed_checksummed_writes_leave_a_version_that_verifies() {
    kills_leave_a_consistent_directory("write-checksum");
}

#[test]
fn killed_unlocked_checksummed_writes_leave_a_version_that_verifies() {
    kills_leave_a_consistent_directory("write-checksum-unlocked");
}

#[test]
fn killed_checksummed_streams_leave_a_version_that_verifies() {
    kills_leave_a_consistent_directory("stream-checksum");
}

#[test]
fn killed_creates_publish_a_complete_file_or_nothing() {
    kills_leave_a_consistent_directory("create");
}

#[test]
fn killed_moves_neither_lose_nor_duplicate_a_payload() {
    kills_leave_a_consistent_directory("move");
}

#[test]
fn killed_noreplace_moves_neither_lose_nor_duplicate_a_payload() {
    kills_leave_a_consistent_directory("move-noreplace");
}

#[test]
fn killed_exchanges_neither_lose_nor_duplicate_a_payload() {
    kills_leave_a_consistent_directory("exchange");
}

#[test]
fn killed_checksum_file_writes_leave_a_sidecar_that_tells_the_truth() {
    kills_leave_a_consistent_directory("checksum-file");
}

#[test]
fn killed_store_updates_lose_no_acknowledged_update_and_verify() {
    kills_leave_a_consistent_directory("store-update");
}

#[test]
fn killed_migrating_store_updates_leave_the_old_or_the_migrated_file_and_lose_no_update() {
    kills_leave_a_consistent_directory("store-migrate");
}

#[test]
fn killed_lock_holders_release_their_locks_and_lose_no_locked_update() {
    kills_leave_a_consistent_directory("lock");
}

#[test]
fn killed_store_replaces_leave_the_old_or_new_value_and_verify() {
    kills_leave_a_consistent_directory("store-replace");
}

#[test]
fn killed_store_try_updates_commit_whole_or_not_at_all_and_a_refusal_writes_nothing() {
    kills_leave_a_consistent_directory("store-try-update");
}

#[test]
fn killed_json_dumps_leave_a_complete_document() {
    kills_leave_a_consistent_directory("dump-json");
}

#[test]
fn killed_yaml_dumps_leave_a_complete_document() {
    kills_leave_a_consistent_directory("dump-yaml");
}

#[test]
fn killed_toml_dumps_leave_a_complete_document() {
    kills_leave_a_consistent_directory("dump-toml");
}

#[test]
fn killed_ron_dumps_leave_a_complete_document() {
    kills_leave_a_consistent_directory("dump-ron");
}

#[test]
fn killed_stale_lock_releases_leave_a_lock_file_that_inspects_and_locks() {
    kills_leave_a_consistent_directory("release-stale");
}

#[test]
fn killed_force_releases_leave_the_lock_file_or_none_and_a_free_lock() {
    kills_leave_a_consistent_directory("force-release");
}

#[test]
fn killed_litter_cleanups_remove_only_dead_writers_files() {
    kills_leave_a_consistent_directory("cleanup-litter");
}

/// A killed destructive `doctor` never touches the target, its sidecar or
/// its lock, and the next run succeeds and removes its own probe files and
/// the killed run's (or `cleanup_litter` does, when the next step is a
/// write).
#[test]
fn killed_doctor_runs_leave_the_target_untouched() {
    kills_leave_a_consistent_directory("doctor");
}

/// Every script has its test above, and the model is what the harness
/// trusts: check it against known histories, including the ones it must
/// reject.
#[test]
fn kill_scripts_are_all_tested_and_the_model_rejects_wrong_states() {
    let src = include_str!("kills.rs");
    for s in SCRIPTS {
        assert!(
            src.contains(&format!(
                "kills_leave_a_consistent_directory(\"{}\")",
                s.name
            )),
            "kill script {} has no test",
            s.name
        );
    }
    let d = tempdir();
    let dir = d.path();
    let s = script("exchange").unwrap();
    let mut m = Model::default();
    for k in 0..3 {
        assert_eq!(run_step(dir, s.step(k), k), Ok(m.apply(s.step(k), k)));
    }
    agrees(dir, &m).expect("three real steps agree with three model steps");
    let mut one_more = m.clone();
    one_more.apply(s.step(3), 3);
    assert!(agrees(dir, &one_more).is_err(), "an exchange not done");
    // A payload duplicated under both names.
    std::fs::copy(dir.join("a.bin"), dir.join("b.bin")).unwrap();
    assert!(agrees(dir, &m).is_err(), "a duplicated payload");
    // A torn file.
    let bytes = std::fs::read(dir.join("a.bin")).unwrap();
    std::fs::write(dir.join("b.bin"), &bytes[..bytes.len() / 2]).unwrap();
    assert!(agrees(dir, &m).is_err(), "a truncated payload");
    assert_eq!(
        m.files.get("a.bin"),
        Some(&Content::Payload {
            seq: 1,
            tag: "b.bin".into()
        })
    );
    assert!(payload_size(1) != payload_size(2));

    // A sidecar that does not verify where the model says it does.
    let d = tempdir();
    let dir = d.path();
    let c = script("write-checksum").unwrap();
    let mut m = Model::default();
    assert_eq!(run_step(dir, c.step(0), 0), Ok(m.apply(c.step(0), 0)));
    agrees(dir, &m).unwrap();
    let p = dir.join("t.bin");
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&p, &bytes).unwrap();
    assert!(agrees(dir, &m).is_err(), "a flipped bit under a sidecar");
    assert!(!Step::Remove { name: "x" }.sweeps());

    // A dumped document cut short that still parses (a YAML string ending
    // early), and a store value other than the model's.
    for name in ["dump-yaml", "dump-toml", "store-replace"] {
        let d = tempdir();
        let dir = d.path();
        let s = script(name).unwrap();
        let mut m = Model::default();
        for k in 1..3 {
            assert_eq!(run_step(dir, s.step(k), k), Ok(m.apply(s.step(k), k)));
        }
        agrees(dir, &m).unwrap_or_else(|e| panic!("{name}: {e}"));
        let target = dir.join(s.targets[0]);
        let text = std::fs::read_to_string(&target).unwrap();
        let cut = if name == "store-replace" {
            text.replace("1000002", "1000001")
        } else {
            let end = text.rfind(|c: char| c.is_ascii_alphanumeric()).unwrap();
            format!("{}{}", &text[..end - 10], &text[end + 1..])
        };
        std::fs::write(&target, cut).unwrap();
        assert!(agrees(dir, &m).is_err(), "{name}: a changed document");
        if name != "store-replace" {
            let seen = observe(dir).remove(s.targets[0]);
            assert!(
                matches!(&seen, Some(Content::Bad(why)) if why.contains("not its own")),
                "{name}: a document cut short must parse and fail the filler check: {seen:?}"
            );
        }
    }

    // Lock files: a planted stale payload is not a clear lock file, a
    // corrupt one is reported as corrupt, both are cleared by
    // release_stale_lock, and force_release_lock removes the file.
    let d = tempdir();
    let dir = d.path();
    let s = script("release-stale").unwrap();
    let mut m = Model::default();
    for k in 0..5 {
        assert_eq!(run_step(dir, s.step(k), k), Ok(m.apply(s.step(k), k)));
        agrees(dir, &m).unwrap_or_else(|e| panic!("release-stale step {k}: {e}"));
        let mut wrong = m.clone();
        let other = if m.locks["t.bin"] == LockFile::Clear {
            LockFile::Stale
        } else {
            LockFile::Clear
        };
        wrong.locks.insert("t.bin".into(), other);
        assert!(
            agrees(dir, &wrong).is_err(),
            "step {k}: lock file {other:?}"
        );
    }
    assert_eq!(m.locks["t.bin"], LockFile::Clear);
    let f = script("force-release").unwrap();
    assert_eq!(run_step(dir, f.step(1), 1), Ok(Outcome::Done));
    m.locks.insert("t.bin".into(), LockFile::Absent);
    agrees(dir, &m).unwrap();

    // Litter: cleanup_litter's count is checked, and the model's count is
    // what the directory holds.
    let d = tempdir();
    let dir = d.path();
    let s = script("cleanup-litter").unwrap();
    let mut m = Model::default();
    for k in 0..3 {
        assert_eq!(run_step(dir, s.step(k), k), Ok(m.apply(s.step(k), k)));
    }
    assert_eq!(m.apply(Step::MakeLitter { count: 2 }, 9), Outcome::Done);
    assert_eq!(
        run_step(dir, Step::MakeLitter { count: 2 }, 9),
        Ok(Outcome::Done)
    );
    assert_eq!(leftovers(dir).len(), 2);
    assert_eq!(m.apply(Step::CleanupLitter, 10), Outcome::Removed(2));
    assert_eq!(
        run_step(dir, Step::CleanupLitter, 10),
        Ok(Outcome::Removed(2))
    );
    for o in [
        Outcome::Done,
        Outcome::Refused,
        Outcome::Noop,
        Outcome::Removed(3),
    ] {
        assert_eq!(Outcome::parse(&o.to_string()), Some(o));
    }
}

// ------------------------------------------------------------ mixed load

#[test]
fn mixed_load_of_updaters_lockers_and_verifying_readers_loses_and_tears_nothing() {
    const UPDATES: u64 = 150;
    const INCREMENTS: u64 = 150;
    const UPDATERS: usize = 2;
    const INCREMENTERS: usize = 2;
    const VERIFIERS: usize = 2;
    let d = tempdir();
    let store_path = d.path().join("store.json");
    let counter = d.path().join("counter");
    Store::<common::types::CheckedCounter>::open(&store_path)
        .and_then(|s| s.replace(common::types::CheckedCounter { n: 0 }))
        .expect("seed the store");
    write_atomic(&counter, b"0").expect("seed the counter");

    let start = Instant::now();
    let readers: Vec<(ChildGuard, AckReader)> = (0..VERIFIERS)
        .map(|_| "verify")
        .chain(["inspect"])
        .map(|mode| {
            let mut c = ChildGuard::spawn(
                sa_child()
                    .arg("mixed-reader")
                    .arg(mode)
                    .arg(&store_path)
                    .arg(&counter),
            );
            let r = AckReader::new(c.take_stdout());
            (c, r)
        })
        .collect();
    let mut writers: Vec<ChildGuard> = (0..UPDATERS)
        .map(|_| {
            ChildGuard::spawn(
                sa_child()
                    .arg("store-increment")
                    .arg("checked")
                    .arg(&store_path)
                    .arg(UPDATES.to_string()),
            )
        })
        .chain((0..INCREMENTERS).map(|_| {
            ChildGuard::spawn(
                sa_child()
                    .arg("increment")
                    .arg(&counter)
                    .arg(INCREMENTS.to_string()),
            )
        }))
        .collect();
    for (i, w) in writers.iter_mut().enumerate() {
        let status = w.wait_timeout(Duration::from_secs(300));
        assert!(status.success(), "writer {i} failed: {status}");
    }
    let writing = start.elapsed();
    let mut summaries = Vec::new();
    for (i, (mut c, r)) in readers.into_iter().enumerate() {
        drop(c.take_stdin()); // EOF: stop
        let status = c.wait_timeout(STEP_TIMEOUT);
        summaries.push((i, status, r.finish()));
    }
    let mut total_reads = 0;
    for (i, status, lines) in &summaries {
        let first = lines.first().cloned().unwrap_or_default();
        let (reads, bad) = first
            .strip_prefix("reads ")
            .and_then(|r| r.split_once(" bad "))
            .and_then(|(r, b)| Some((r.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
            .unwrap_or_else(|| panic!("reader {i} printed {lines:?} ({status})"));
        assert_eq!(bad, 0, "reader {i}: {lines:?}");
        assert!(status.success(), "reader {i}: {status}, {lines:?}");
        assert!(reads > 0, "reader {i} read nothing");
        total_reads += reads;
    }
    let n = Store::<common::types::CheckedCounter>::open(&store_path)
        .and_then(|s| s.load())
        .expect("load the store")
        .n;
    assert_eq!(n, UPDATES * UPDATERS as u64, "lost store updates");
    assert_eq!(verify_checksum(&store_path).ok(), Some(true));
    let c: u64 = std::fs::read_to_string(&counter)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        c,
        INCREMENTS * INCREMENTERS as u64,
        "lost locked increments"
    );
    assert!(leftovers(d.path()).is_empty());
    report(&format!(
        "mixed load: {} store updates + {} locked increments in {writing:.1?}, {total_reads} \
         verified reads / inspections, none bad: {summaries:?}",
        UPDATES * UPDATERS as u64,
        INCREMENTS * INCREMENTERS as u64
    ));
}
