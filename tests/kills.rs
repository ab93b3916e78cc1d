//! Process death and concurrency: every public operation killed with
//! SIGKILL at random points in a child process, and a mixed load of
//! updaters, locked read-modify-writes, verified readers and lock
//! inspectors running at once.
//!
//! Kills: `sa-child kill-loop SCRIPT DIR FIRST` runs one of the scripts of
//! `common::killops` (write_atomic without the lock and with a checksum,
//! AtomicWriter with a checksum, create_atomic, move_atomic,
//! move_atomic_noreplace, exchange_atomic, write_checksum_file,
//! Store::update, lock acquire/hold/release loops) and acknowledges every
//! step. After each kill:
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
//! * at most two temp files (data and sidecar) are left, and every lock is
//!   free (`is_locked` false, `try_acquire_lock` succeeds);
//! * the next step, run in the test process, succeeds, and after it (or
//!   one more write in the directory, for steps that do not write) no
//!   litter remains.
//!
//! `write_atomic` with the default options and plain `AtomicWriter`
//! streaming are killed in `tests/processes.rs`; not repeated here.
//!
//! Environment: `SAFEATOMIC_KILLS_PER_OP` (default 60, so 660 kills),
//! `SAFEATOMIC_KILL_SEED` (replays the random choices).

use common::child::{AckReader, ChildGuard};
use common::killops::{
    Content, Model, Outcome, SCRIPTS, SWEEPER, Script, Step, observe, payload_size, run_step,
    script,
};
use common::rng::Rng;
use common::{leftovers, tempdir};
use safeatomic::{
    Store, inspect_lock, is_locked, read_atomic_verified, try_acquire_lock, verify_checksum,
    write_atomic,
};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long any single child step (a printed line, an exit) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

fn sa_child() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sa-child"))
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
    for name in model.files.keys() {
        let sidecar = dir.join(format!("{name}.sha256"));
        if !model.sidecars.contains_key(name) && sidecar.exists() {
            return Err(format!("{name} has a sidecar the model does not know"));
        }
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
    /// Kills that left temp files behind.
    litter: usize,
    /// Kills per operation in flight at the moment of the kill.
    in_flight: BTreeMap<&'static str, usize>,
    elapsed: Duration,
}

fn kill_script(s: &Script, kills: usize, rng: &mut Rng) -> KillStats {
    let start = Instant::now();
    let d = tempdir();
    let dir = d.path();
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

        let litter = leftovers(dir);
        assert!(
            litter.len() <= 2,
            "{context}: more temp files than one write makes: {litter:?}"
        );
        let (now, resume) = match agrees(dir, &acked) {
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
        if !step.sweeps(got) {
            write_atomic(dir.join(SWEEPER), b"one more write").expect("a write after the kill");
        }
        let left = leftovers(dir);
        assert!(
            left.is_empty(),
            "{context}: litter survived the next write: {left:?}"
        );
        next = resume + 1;

        stats.kills += 1;
        stats.acked_steps += lines.len();
        if !lines.is_empty() {
            stats.after_ack += 1;
        }
        if !litter.is_empty() {
            stats.litter += 1;
        }
    }
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
    report(&format!(
        "kills of {}: {} (in flight: {}); {} after an acknowledged step, {} steps acknowledged, \
         {} in-flight steps had landed, {} left litter; {:.1?}",
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
fn killed_lock_holders_release_their_locks_and_lose_no_locked_update() {
    kills_leave_a_consistent_directory("lock");
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
    assert!(!Step::Remove { name: "x" }.sweeps(Outcome::Done));
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
