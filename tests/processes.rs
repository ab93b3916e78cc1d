//! Atomicity across threads and processes: readers racing a writer, writers
//! killed with SIGKILL at random moments, racing `create_atomic` processes,
//! and litter sweeps next to live and dead writers. The child processes are
//! `sa-child` (tests/bin/sa-child.rs); payloads are self-validating
//! (`common::child`).

use common::child::{
    AckReader, CREATE_PAYLOAD_SIZE, ChildGuard, HOLD_WRITER_SIZE, HOLD_WRITER_TAG, PayloadInfo,
    exit, make_payload, parse_ack, verify_payload,
};
use common::types::CheckedCounter;
use common::{leftovers, no_leftovers, tempdir};
use rustix::io::Errno;
use safeatomic::fault::{self, Plan};
use safeatomic::{ErrorKind, Store, acquire_lock, cleanup_litter, read_atomic, write_atomic};
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single child step (start-up, a printed line, an exit) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// A command running the `sa-child` binary of this package.
fn sa_child(args: &[&str]) -> Command {
    let mut cmd = common::sa_child!();
    cmd.args(args);
    cmd
}

fn path_arg(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

#[track_caller]
fn assert_killed(status: ExitStatus) {
    assert_eq!(
        status.signal(),
        Some(9),
        "child should have died of SIGKILL, not {status} (its stderr is above)"
    );
}

/// A small xorshift generator: the kill timings need randomness, not quality,
/// and a printed seed makes a failing run reproducible.
struct Rng(u64);

impl Rng {
    /// Seeded from `SAFEATOMIC_KILL_SEED` if set, else from the clock.
    fn from_env() -> Self {
        let seed = match std::env::var("SAFEATOMIC_KILL_SEED") {
            Ok(s) => s.parse().expect("SAFEATOMIC_KILL_SEED must be a u64"),
            Err(_) => {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock after 1970");
                t.as_nanos() as u64 ^ u64::from(std::process::id())
            }
        };
        println!("random seed: {seed} (set SAFEATOMIC_KILL_SEED={seed} to repeat)");
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-ish in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ------------------------------------------------------------ the oracle

/// Every test below trusts `verify_payload` to reject anything but one
/// complete version; check that it does.
#[test]
fn payload_check_rejects_torn_truncated_zeroed_and_altered_versions() {
    let size = 64 * KIB;
    let a = make_payload(1, "t", size);
    let b = make_payload(2, "t", size);
    assert_ne!(a[4096..], b[4096..], "versions must differ in their filler");
    let info = PayloadInfo {
        seq: 1,
        tag: "t".into(),
        len: size,
    };
    assert_eq!(verify_payload(&a), Ok(info));
    assert_eq!(verify_payload(&b).unwrap().seq, 2);

    let rejected = |what: &str, bytes: &[u8]| {
        assert!(verify_payload(bytes).is_err(), "accepted {what}");
    };
    rejected("an empty file", &[]);
    rejected("a truncated file", &a[..size - 1]);
    rejected("a file with a byte appended", &[&a[..], b"x"].concat());
    rejected(
        "new first page, old rest",
        &[&b[..4096], &a[4096..]].concat(),
    );
    rejected(
        "old file, new middle page",
        &[&a[..8192], &b[8192..12288], &a[12288..]].concat(),
    );
    rejected(
        "new file, old last byte",
        &[&b[..size - 9], &a[size - 9..]].concat(),
    );
    rejected(
        "a zeroed page",
        &[&a[..8192], &[0u8; 4096], &a[12288..]].concat(),
    );
    let mut relabelled = a.clone();
    relabelled[16] = 2; // header says seq 2, filler is seq 1's
    rejected("a relabelled version", &relabelled);
    let mut flipped = a.clone();
    flipped[size / 2] ^= 1;
    rejected("a flipped filler bit", &flipped);
    let mut trailer = a;
    trailer[size - 1] ^= 1;
    rejected("a bad checksum", &trailer);
}

// ------------------------------------------------------------ readers vs writer

#[test]
fn concurrent_readers_only_ever_see_a_complete_version() {
    const READERS: usize = 2;
    const MIN_READS: usize = 1500;
    const MIN_WRITES: usize = 200;
    const DEADLINE: Duration = Duration::from_secs(25);

    let d = tempdir();
    let path = d.path().join("state.bin");
    let versions = [make_payload(1, "even", MIB), make_payload(2, "odd", MIB)];
    write_atomic(&path, &versions[0]).unwrap();

    let stop = AtomicBool::new(false);
    let writes = AtomicUsize::new(0);
    let reads: [AtomicUsize; READERS] = Default::default();
    let writer_error = Mutex::new(None::<String>);
    // Per reader: how often it saw each version, and what was wrong with bad reads.
    let mut results: Vec<([usize; 2], Vec<String>)> = Vec::new();

    thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                if let Err(e) = write_atomic(&path, &versions[n % 2]) {
                    *writer_error.lock().unwrap() = Some(e.to_string());
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
                writes.store(n, Ordering::Relaxed);
            }
        });
        let handles: Vec<_> = reads
            .iter()
            .map(|count| {
                let (path, versions, stop) = (&path, &versions, &stop);
                s.spawn(move || {
                    let mut seen = [0usize; 2];
                    let mut bad = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        match read_atomic(path) {
                            // Comparing with the two known versions checks every byte.
                            Ok(b) if b == versions[0] => seen[0] += 1,
                            Ok(b) if b == versions[1] => seen[1] += 1,
                            Ok(b) => bad.push(match verify_payload(&b) {
                                Ok(info) => format!("valid but unexpected version {info:?}"),
                                Err(e) => e.to_string(),
                            }),
                            Err(e) => bad.push(format!("read_atomic failed: {e}")),
                        }
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    (seen, bad)
                })
            })
            .collect();

        let start = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let enough = writes.load(Ordering::Relaxed) >= MIN_WRITES
                && reads.iter().all(|r| r.load(Ordering::Relaxed) >= MIN_READS);
            if enough || start.elapsed() > DEADLINE {
                stop.store(true, Ordering::Relaxed);
            }
            thread::sleep(Duration::from_millis(5));
        }
        results = handles.into_iter().map(|h| h.join().unwrap()).collect();
    });

    assert_eq!(*writer_error.lock().unwrap(), None, "writer failed");
    let writes = writes.load(Ordering::Relaxed);
    println!("{writes} writes; per reader [version 1 seen, version 2 seen]:");
    for (i, (seen, bad)) in results.iter().enumerate() {
        println!("  reader {i}: {seen:?}, {} bad", bad.len());
    }
    for (i, (seen, bad)) in results.iter().enumerate() {
        assert!(
            bad.is_empty(),
            "reader {i}: {} bad reads, first ones: {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
        assert!(
            seen[0] + seen[1] >= MIN_READS,
            "reader {i} managed only {} reads in {DEADLINE:?}",
            seen[0] + seen[1]
        );
        assert!(
            seen[0] > 0 && seen[1] > 0,
            "reader {i} never saw one of the versions: {seen:?}"
        );
    }
    assert!(
        writes >= MIN_WRITES,
        "writer managed only {writes} writes in {DEADLINE:?}"
    );
    no_leftovers(d.path());
}

// ------------------------------------------------------------ kill -9 writers

/// One `write-loop`/`stream-loop` child killed at a random moment.
struct KillOutcome {
    /// Sequence numbers the child acknowledged, in order.
    acks: Vec<u64>,
    /// Litter in the directory right after the kill.
    litter: Vec<String>,
}

fn kill_one_writer(
    rng: &mut Rng,
    mode: &str,
    path: &Path,
    size: usize,
    first: u64,
    wait_for_ack: bool,
) -> KillOutcome {
    let size_arg = size.to_string();
    let first_arg = first.to_string();
    let mut child = ChildGuard::spawn(&mut sa_child(&[
        mode,
        path_arg(path),
        &size_arg,
        &first_arg,
    ]));
    let acks_reader = AckReader::new(child.take_stdout());
    let mut lines = Vec::new();
    if wait_for_ack {
        lines.push(
            acks_reader
                .next_line(STEP_TIMEOUT)
                .unwrap_or_else(|| panic!("{mode} acknowledged no write in {STEP_TIMEOUT:?}")),
        );
        thread::sleep(Duration::from_micros(rng.below(10_000)));
    } else {
        thread::sleep(Duration::from_micros(rng.below(20_000)));
    }
    assert_killed(child.kill());
    lines.extend(acks_reader.finish());
    let acks: Vec<u64> = lines.iter().map(|l| parse_ack(l)).collect();
    let expected: Vec<u64> = (first..).take(acks.len()).collect();
    assert_eq!(acks, expected, "{mode} acknowledged out of order");
    let litter = leftovers(path.parent().unwrap());
    KillOutcome { acks, litter }
}

#[test]
fn writers_killed_at_random_moments_leave_a_complete_version_and_only_sweepable_litter() {
    let cycles: usize = match std::env::var("SAFEATOMIC_KILL_CYCLES") {
        Ok(s) => s.parse().expect("SAFEATOMIC_KILL_CYCLES must be a number"),
        Err(_) => 200,
    };
    let mut rng = Rng::from_env();
    let d = tempdir();
    let path = d.path().join("state.bin");
    let sizes = [256 * KIB, 512 * KIB, 768 * KIB, MIB];

    // The newest version known to be on disk: acknowledged, or read back.
    let mut on_disk: Option<u64> = None;
    let (mut with_litter, mut with_acks, mut unacked_publish) = (0, 0, 0);
    let start = Instant::now();
    for cycle in 0..cycles {
        let mode = if cycle % 2 == 0 {
            "write-loop"
        } else {
            "stream-loop"
        };
        let size = sizes[rng.below(sizes.len() as u64) as usize];
        let first = on_disk.map_or(1, |s| s + 1);
        let wait_for_ack = cycle % 4 == 3;
        let out = kill_one_writer(&mut rng, mode, &path, size, first, wait_for_ack);
        let context = format!(
            "cycle {cycle} ({mode}, {size} bytes, first seq {first}, acks {:?}, litter {:?})",
            out.acks, out.litter
        );

        let floor = out.acks.last().copied().or(on_disk);
        match read_atomic(&path) {
            Ok(bytes) => {
                let info = verify_payload(&bytes)
                    .unwrap_or_else(|e| panic!("{context}: target is not a complete version: {e}"));
                match floor {
                    Some(f) => assert!(
                        info.seq == f || info.seq == f + 1,
                        "{context}: target holds seq {}, expected {f} or {}",
                        info.seq,
                        f + 1
                    ),
                    None => assert_eq!(
                        info.seq, first,
                        "{context}: target holds a version never written"
                    ),
                }
                if info.seq >= first {
                    assert_eq!(
                        info.len, size,
                        "{context}: this child's version has the wrong size"
                    );
                }
                if Some(info.seq) != out.acks.last().copied() && info.seq >= first {
                    unacked_publish += 1; // killed between rename and acknowledgement
                }
                on_disk = Some(info.seq);
            }
            Err(e) if e.kind() == ErrorKind::NotFound => assert_eq!(
                floor, None,
                "{context}: target vanished after a version was acknowledged"
            ),
            Err(e) => panic!("{context}: read_atomic: {e}"),
        }

        assert!(
            out.litter.len() <= 1,
            "{context}: one killed writer left more than one temp file"
        );
        if !out.litter.is_empty() {
            with_litter += 1;
        }
        if !out.acks.is_empty() {
            with_acks += 1;
        }
        // The first write of a process in the directory sweeps the dead
        // writer's temp file.
        common::sweeping_write(&d.path().join("sweeper"), b"sweep").unwrap();
        assert!(
            leftovers(d.path()).is_empty(),
            "{context}: litter survived a write in the same directory: {:?}",
            leftovers(d.path())
        );
    }
    println!(
        "{cycles} kills in {:?}: {with_litter} left litter, {with_acks} after at least one \
         acknowledged write, {unacked_publish} after a rename but before its acknowledgement \
         (directory fsync or print); last seq {on_disk:?}",
        start.elapsed()
    );
    if cycles >= 100 {
        assert!(
            with_litter > 0,
            "no kill landed mid-write: the litter path was never exercised"
        );
        assert!(with_acks > 0, "no kill came after an acknowledged write");
    }
    no_leftovers(d.path());
}

// ------------------------------------------------------------ create race

#[test]
fn of_sixteen_racing_creator_processes_exactly_one_wins_and_the_rest_read_its_content() {
    const RACERS: usize = 16;
    const ROUNDS: usize = 5;
    let d = tempdir();
    for round in 0..ROUNDS {
        let path = d.path().join(format!("init-{round}.bin"));
        let go = d.path().join(format!("go-{round}"));
        let tags: Vec<String> = (0..RACERS).map(|k| format!("racer-{round}-{k}")).collect();
        let mut racers: Vec<(ChildGuard, AckReader)> = tags
            .iter()
            .map(|tag| {
                let mut c = ChildGuard::spawn(&mut sa_child(&[
                    "create",
                    path_arg(&path),
                    tag,
                    path_arg(&go),
                ]));
                let r = AckReader::new(c.take_stdout());
                (c, r)
            })
            .collect();
        for (_, r) in &racers {
            r.expect_line("ready", STEP_TIMEOUT);
        }
        assert!(
            !path.exists(),
            "round {round}: created before the start signal"
        );
        fs::write(&go, b"go").unwrap();

        let outcomes: Vec<(Option<i32>, Vec<String>)> = racers
            .iter_mut()
            .map(|(c, _)| c.wait_timeout(STEP_TIMEOUT).code())
            .collect::<Vec<_>>()
            .into_iter()
            .zip(racers.into_iter().map(|(_, r)| r.finish()))
            .collect();
        let winners: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, (code, _))| *code == Some(exit::OK))
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: winners {winners:?}; outcomes {outcomes:?}"
        );
        let winner = &tags[winners[0]];
        for (k, (code, lines)) in outcomes.iter().enumerate() {
            let expected = if k == winners[0] {
                format!("won {winner}")
            } else {
                assert_eq!(
                    *code,
                    Some(exit::EXISTS),
                    "round {round}: racer {k} neither won nor saw AlreadyExists: {lines:?}"
                );
                format!("exists {winner}")
            };
            assert_eq!(lines, &[expected], "round {round}: racer {k}");
        }
        assert_eq!(
            fs::read(&path).unwrap(),
            make_payload(0, winner, CREATE_PAYLOAD_SIZE),
            "round {round}: the file is not the winner's payload"
        );
        no_leftovers(d.path());
    }
}

// ------------------------------------------------------------ live and dead writers

/// Starts `sa-child hold-writer` on `path` and waits until its temp file is written.
fn start_held_writer(path: &Path) -> (ChildGuard, AckReader) {
    let mut child = ChildGuard::spawn(&mut sa_child(&["hold-writer", path_arg(path)]));
    let lines = AckReader::new(child.take_stdout());
    lines.expect_line("ready", STEP_TIMEOUT);
    (child, lines)
}

/// The one temp file in `dir`, with its inode number.
#[track_caller]
fn only_temp(dir: &Path) -> (String, u64) {
    let temps = leftovers(dir);
    assert_eq!(
        temps.len(),
        1,
        "expected the writer's one temp file, found {temps:?}"
    );
    let ino = fs::symlink_metadata(dir.join(&temps[0])).unwrap().ino();
    (temps[0].clone(), ino)
}

#[test]
fn a_live_writers_temp_file_survives_sweeps_and_writes_beside_it() {
    let d = tempdir();
    let path = d.path().join("held.bin");
    let (mut child, lines) = start_held_writer(&path);
    let (temp, ino) = only_temp(d.path());

    assert_eq!(
        cleanup_litter(d.path()).unwrap(),
        0,
        "swept a live writer's temp file"
    );
    // Every other point where a sweep runs: a write beside it (the
    // process's first in the directory, and a later one), another
    // process's first write, a store opened there, a process's first lock
    // there, and a write that finds the disk full (the sweep of its retry:
    // `realfs.rs` shows it on a full tmpfs).
    common::sweeping_write(&d.path().join("other.bin"), b"first").unwrap();
    write_atomic(d.path().join("other.bin"), b"neighbour").unwrap();
    let status = sa_child(&["write", path_arg(&d.path().join("third.bin")), "x"])
        .status()
        .unwrap();
    assert!(status.success(), "sa-child write: {status}");
    Store::<CheckedCounter>::open(d.path().join("store.json")).unwrap();
    let (guard, _) = fault::record(|| acquire_lock(d.path().join("third.bin"), None));
    drop(guard.unwrap());
    let (full, trace) = fault::inject(
        Plan::fail_named("write", Errno::NOSPC.raw_os_error()),
        || write_atomic(d.path().join("third.bin"), b"after a full disk"),
    );
    // Nothing dead to remove: no retry, the disk is full.
    assert_eq!(full.unwrap_err().kind(), ErrorKind::StorageFull);
    assert!(
        trace.names().windows(2).any(|w| w == ["lseek", "readdir"]),
        "the write that found the disk full did not sweep: {:?}",
        trace.names()
    );
    assert_eq!(
        only_temp(d.path()),
        (temp.clone(), ino),
        "the live writer's temp file was removed or replaced"
    );
    assert_eq!(
        fs::metadata(d.path().join(&temp)).unwrap().len(),
        HOLD_WRITER_SIZE as u64,
        "the live writer's bytes are not all in its temp file"
    );
    assert!(!path.exists(), "published before commit");

    child.take_stdin().write_all(b"commit\n").unwrap();
    lines.expect_line("committed", STEP_TIMEOUT);
    let status = child.wait_timeout(STEP_TIMEOUT);
    assert!(status.success(), "hold-writer failed: {status}");
    assert_eq!(
        fs::read(&path).unwrap(),
        make_payload(0, HOLD_WRITER_TAG, HOLD_WRITER_SIZE)
    );
    assert_eq!(fs::read(d.path().join("other.bin")).unwrap(), b"neighbour");
    no_leftovers(d.path());
}

/// A process lists a directory for litter once, not on every write: the
/// cost of a write does not grow with its directory (issue #17). A dead
/// writer's temp file that appears after that is left for `cleanup_litter`,
/// `Store::open` or another process.
#[test]
fn a_process_sweeps_a_directory_once_not_on_every_write() {
    let d = tempdir();
    let path = d.path().join("state.bin");
    let dead = d.path().join(common::temp_name(0xdead));
    let ((), trace) = fault::record(|| {
        write_atomic(&path, b"one").unwrap();
        fs::write(&dead, b"a dead writer's").unwrap();
        write_atomic(&path, b"two").unwrap();
        write_atomic(&path, b"three").unwrap();
    });
    let listings = trace
        .names()
        .windows(2)
        .filter(|w| *w == ["lseek", "readdir"])
        .count();
    assert_eq!(listings, 1, "listings in {:?}", trace.names());
    assert!(dead.exists(), "a later write swept after all");
    assert_eq!(cleanup_litter(d.path()).unwrap(), 1);
}

/// A dead writer's temp file is removed by another process's first write
/// in the directory, by `Store::open` there, and by a process's first lock
/// there (before it waits for the lock).
#[test]
fn a_dead_writers_temp_file_goes_with_another_process_write_a_store_open_or_a_first_lock() {
    let d = tempdir();
    let dead = d.path().join(common::temp_name(0xdead));
    fs::write(&dead, b"a dead writer's").unwrap();
    let status = sa_child(&["write", path_arg(&d.path().join("x")), "x"])
        .status()
        .unwrap();
    assert!(status.success(), "sa-child write: {status}");
    assert!(!dead.exists(), "another process's first write left it");

    fs::write(&dead, b"a dead writer's").unwrap();
    Store::<CheckedCounter>::open(d.path().join("store.json")).unwrap();
    assert!(!dead.exists(), "Store::open left it");

    fs::write(&dead, b"a dead writer's").unwrap();
    let (guard, _) = fault::record(|| acquire_lock(d.path().join("x"), None));
    drop(guard.unwrap());
    assert!(!dead.exists(), "a process's first lock left it");
    no_leftovers(d.path());
}

#[test]
fn a_killed_writers_temp_file_is_swept_and_nothing_is_published() {
    let d = tempdir();
    let path = d.path().join("held.bin");
    let (mut child, _lines) = start_held_writer(&path);
    only_temp(d.path());

    assert_killed(child.kill());
    assert_eq!(
        cleanup_litter(d.path()).unwrap(),
        1,
        "the dead writer's temp file was not swept"
    );
    no_leftovers(d.path());
    assert!(!path.exists(), "a killed writer published");
    assert_eq!(cleanup_litter(d.path()).unwrap(), 0);
}
