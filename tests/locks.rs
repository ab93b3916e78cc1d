//! Cooperative locks: exclusion between threads and with `flock(1)`, the
//! payload, inspection, stale recovery and bad input.

use common::child::{AckReader, ChildGuard, exit};
use common::types::JsonCounter;
use common::{mounts, no_leftovers, snapshot, tempdir};
use safeatomic::fault::{self, Plan, Trace};
use safeatomic::{
    AtomicWriter, ErrorKind, LockOptions, Store, WriteOptions, acquire_lock, acquire_lock_with,
    acquire_shared_lock, force_release_lock, inspect_lock, is_locked, is_stale_lock, lock_age,
    lock_file_path, read_atomic_to_string, release_stale_lock, try_acquire_lock,
    try_acquire_lock_with, try_acquire_shared_lock, write_atomic, write_atomic_locked,
    write_atomic_with,
};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Increments the counter at `path` under the lock (read, +1, locked write).
fn increment(path: &Path) {
    let guard = acquire_lock(path, None).unwrap();
    let n: u64 = read_atomic_to_string(path).unwrap().trim().parse().unwrap();
    write_atomic_locked(&guard, (n + 1).to_string()).unwrap();
    guard.release().unwrap();
}

#[test]
fn eight_threads_times_250_increments_lose_no_update() {
    let d = tempdir();
    let path = d.path().join("counter");
    write_atomic(&path, "0").unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || (0..250).for_each(|_| increment(&path)))
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(read_atomic_to_string(&path).unwrap(), "2000");
    no_leftovers(d.path());
    assert!(!is_locked(&path).unwrap());
}

#[test]
fn threads_of_one_process_exclude_each_other() {
    let d = tempdir();
    let path = d.path().join("f");
    let inside = Arc::new(AtomicBool::new(false));
    let entries = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (path, inside, entries) = (path.clone(), inside.clone(), entries.clone());
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let g = acquire_lock(&path, None).unwrap();
                    assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                    entries.fetch_add(1, Ordering::SeqCst);
                    std::thread::yield_now();
                    inside.store(false, Ordering::SeqCst);
                    drop(g);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(entries.load(Ordering::SeqCst), 600);
}

#[test]
fn contention_is_none_not_an_error() {
    let d = tempdir();
    let path = d.path().join("f");
    let held = try_acquire_lock(&path).unwrap().expect("free at first");
    assert!(try_acquire_lock(&path).unwrap().is_none());
    assert!(is_locked(&path).unwrap());
    held.release().unwrap();
    assert!(!is_locked(&path).unwrap());
    assert!(try_acquire_lock(&path).unwrap().is_some());
}

#[test]
fn a_short_timeout_against_a_held_lock_is_lock_timeout() {
    let d = tempdir();
    let path = d.path().join("f");
    let _held = acquire_lock(&path, None).unwrap();
    let e = acquire_lock(&path, Some(Duration::from_millis(30))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LockTimeout);
    assert_eq!(e.path(), path);
    // A locked write with a timeout fails the same way and writes nothing.
    let opts = WriteOptions::new().lock_timeout(Some(Duration::from_millis(30)));
    let e = write_atomic_with(&path, b"x", &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LockTimeout);
    assert!(!path.exists());
    no_leftovers(d.path());
}

#[test]
fn a_blocking_acquire_gets_the_lock_when_released() {
    let d = tempdir();
    let path = d.path().join("f");
    let held = acquire_lock(&path, None).unwrap();
    let p2 = path.clone();
    let waiter =
        std::thread::spawn(move || acquire_lock(&p2, Some(Duration::from_secs(20))).map(drop));
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished(), "the waiter must wait");
    drop(held);
    waiter.join().unwrap().unwrap();
}

#[test]
fn the_payload_names_the_holder_and_hashes_the_session() {
    let d = tempdir();
    let path = d.path().join("f");
    let g = acquire_lock_with(&path, &LockOptions::new().session("deploy-42")).unwrap();
    let raw = fs::read_to_string(lock_file_path(&path)).unwrap();
    assert!(raw.ends_with('\n') && raw.lines().count() == 1, "{raw:?}");
    assert!(
        !raw.contains("deploy-42"),
        "the raw session string reached the disk"
    );
    let info = inspect_lock(&path).unwrap();
    assert!(
        info.exists && info.held && info.corrupt.is_none(),
        "{info:?}"
    );
    assert_eq!(info.pid, Some(std::process::id()));
    assert_eq!(info.hostname.as_deref(), Some(hostname().as_str()));
    // printf 'deploy-42' | sha256sum
    assert_eq!(
        info.session_hash.as_deref(),
        Some("8f3e39850c0f5251fc6d36845f3d69a4cb12963e96e9ee95c935b33b68d893f6")
    );
    assert!(info.age.unwrap() < Duration::from_secs(60));
    assert!(lock_age(&path).unwrap().is_some());
    drop(g);
    // Released: the payload is cleared (a blank record), the file is kept.
    let cleared = fs::read(lock_file_path(&path)).unwrap();
    assert!(cleared.iter().all(u8::is_ascii_whitespace), "{cleared:?}");
    let info = inspect_lock(&path).unwrap();
    assert!(info.exists && !info.held && info.pid.is_none() && !info.is_stale());
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn inspection_creates_no_file() {
    let d = tempdir();
    let path = d.path().join("f");
    assert!(!is_locked(&path).unwrap());
    let info = inspect_lock(&path).unwrap();
    assert!(!info.exists && !info.held && !info.is_stale());
    assert!(!is_stale_lock(&path).unwrap());
    assert_eq!(lock_age(&path).unwrap(), None);
    assert!(!release_stale_lock(&path).unwrap());
    assert!(
        fs::read_dir(d.path()).unwrap().next().is_none(),
        "inspection created a file"
    );
}

#[test]
fn a_payload_left_behind_is_stale_until_cleared() {
    // What a holder killed mid-lock leaves: a valid payload, no flock.
    let d = tempdir();
    let path = d.path().join("f");
    let g = acquire_lock(&path, None).unwrap();
    let payload = fs::read(lock_file_path(&path)).unwrap();
    drop(g);
    fs::write(lock_file_path(&path), &payload).unwrap();
    assert!(is_stale_lock(&path).unwrap());
    let info = inspect_lock(&path).unwrap();
    assert!(!info.held && info.pid.is_some() && info.is_stale());
    // A stale lock blocks no one.
    drop(
        try_acquire_lock(&path)
            .unwrap()
            .expect("a stale lock is free"),
    );
    fs::write(lock_file_path(&path), &payload).unwrap();
    assert!(release_stale_lock(&path).unwrap());
    assert!(!is_stale_lock(&path).unwrap());
    assert!(
        fs::read(lock_file_path(&path))
            .unwrap()
            .iter()
            .all(u8::is_ascii_whitespace)
    );
    // A held lock is never "released" as stale.
    let _g = acquire_lock(&path, None).unwrap();
    assert!(!release_stale_lock(&path).unwrap());
    assert!(inspect_lock(&path).unwrap().pid.is_some());
}

#[test]
fn corrupt_payloads_are_reported_never_trusted() {
    let d = tempdir();
    let path = d.path().join("f");
    let good = {
        let g = acquire_lock(&path, None).unwrap();
        let s = fs::read_to_string(lock_file_path(&path)).unwrap();
        drop(g);
        s
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"hello world\n".to_vec()),
        (
            "truncated",
            good.trim_end().as_bytes()[..good.trim_end().len() / 3].to_vec(),
        ),
        ("non-utf8", vec![0xc3, 0x28, 0xff, b'\n']),
        (
            "unknown version",
            good.replace("\"version\":1", "\"version\":7").into_bytes(),
        ),
        ("python O_EXCL style", b"12345\n".to_vec()),
        ("enormous", vec![b'{'; 5 * 1024 * 1024]),
    ];
    for (what, bytes) in cases {
        fs::write(lock_file_path(&path), &bytes).unwrap();
        let info = inspect_lock(&path).unwrap();
        assert!(
            info.corrupt.is_some(),
            "{what}: not reported as corrupt: {info:?}"
        );
        assert_eq!(
            info.pid, None,
            "{what}: a corrupt payload must not name a pid"
        );
        assert!(
            info.raw_payload.as_ref().is_some_and(|r| r.len() <= 4096),
            "{what}"
        );
        assert!(
            info.is_stale(),
            "{what}: a corrupt payload without holder is stale"
        );
        // A corrupt payload never blocks the lock.
        drop(try_acquire_lock(&path).unwrap().expect(what));
    }
}

#[test]
fn a_payload_that_stays_corrupt_under_a_holder_is_reported() {
    let d = tempdir();
    let path = d.path().join("f");
    let g = acquire_lock(&path, None).unwrap();
    fs::write(lock_file_path(&path), b"not a payload\n").unwrap();
    let info = inspect_lock(&path).unwrap();
    assert!(info.held);
    assert!(info.corrupt.is_some(), "{info:?}");
    assert_eq!(info.pid, None);
    drop(g);
}

/// A holder writes its payload right after acquiring and blanks it right
/// before releasing; an inspector racing either write must never mistake
/// the half-written record for a corrupt one.
#[test]
fn inspection_while_holders_come_and_go_never_sees_a_torn_payload() {
    const CYCLES: usize = 3000;
    let d = tempdir();
    let path = d.path().join("f");
    let done = Arc::new(AtomicBool::new(false));
    let holders: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                for _ in 0..CYCLES {
                    drop(acquire_lock(&path, None).unwrap());
                }
            })
        })
        .collect();
    let inspectors: Vec<_> = (0..2)
        .map(|_| {
            let (path, done) = (path.clone(), done.clone());
            std::thread::spawn(move || {
                let (mut inspections, mut torn) = (0u64, Vec::new());
                while !done.load(Ordering::SeqCst) {
                    let info = inspect_lock(&path).unwrap();
                    inspections += 1;
                    if info.corrupt.is_some() {
                        torn.push(info);
                    }
                }
                (inspections, torn)
            })
        })
        .collect();
    holders.into_iter().for_each(|t| t.join().unwrap());
    done.store(true, Ordering::SeqCst);
    for t in inspectors {
        let (inspections, torn) = t.join().unwrap();
        assert!(inspections > 0);
        assert!(
            torn.is_empty(),
            "{} of {inspections} inspections saw a torn payload, e.g. {:?}",
            torn.len(),
            torn[0]
        );
    }
}

#[test]
fn a_symlink_at_the_lock_name_is_refused_and_its_victim_untouched() {
    let d = tempdir();
    let victim_dir = tempdir();
    let victim = victim_dir.path().join("victim");
    fs::write(&victim, b"precious data").unwrap();
    let path = d.path().join("state");
    symlink(&victim, lock_file_path(&path)).unwrap();
    for e in [
        try_acquire_lock(&path).map(|_| ()).unwrap_err(),
        acquire_lock(&path, None).map(|_| ()).unwrap_err(),
        write_atomic(&path, b"x").unwrap_err(),
        inspect_lock(&path).map(|_| ()).unwrap_err(),
        release_stale_lock(&path).map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::SymlinkRefused, "{e}");
        assert!(e.to_string().contains(".lock"), "{e}");
    }
    assert_eq!(fs::read(&victim).unwrap(), b"precious data");
    assert!(!path.exists());
}

#[test]
fn a_directory_at_the_lock_name_is_invalid_input() {
    let d = tempdir();
    let path = d.path().join("state");
    fs::create_dir(lock_file_path(&path)).unwrap();
    let e = try_acquire_lock(&path).map(|_| ()).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::IsADirectory | ErrorKind::InvalidInput),
        "{e}"
    );
    // The operator override repairs what is not a lock file any more... but
    // it removes files only, so a directory stays an error.
    assert!(force_release_lock(&path).is_err());
}

#[test]
fn a_missing_parent_is_not_found_and_creates_nothing() {
    let d = tempdir();
    let path = d.path().join("missing").join("f");
    for e in [
        try_acquire_lock(&path).map(|_| ()).unwrap_err(),
        inspect_lock(&path).map(|_| ()).unwrap_err(),
        is_locked(&path).map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.path(), path);
    }
    assert!(fs::read_dir(d.path()).unwrap().next().is_none());
}

#[test]
fn force_release_removes_the_file_and_reports_it() {
    let d = tempdir();
    let path = d.path().join("f");
    assert!(!force_release_lock(&path).unwrap());
    drop(acquire_lock(&path, None).unwrap());
    assert!(force_release_lock(&path).unwrap());
    assert!(!lock_file_path(&path).exists());
}

#[test]
fn the_lock_file_is_kept_after_release() {
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic(&path, b"1").unwrap();
    assert!(
        lock_file_path(&path).exists(),
        "the lock file persists (never unlinked)"
    );
    let meta = fs::metadata(lock_file_path(&path)).unwrap();
    write_atomic(&path, b"2").unwrap();
    let again = fs::metadata(lock_file_path(&path)).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(meta.ino(), again.ino(), "the same inode is reused");
}

#[test]
fn writes_without_the_lock_create_no_lock_file() {
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic_with(&path, b"x", &WriteOptions::new().lock(false)).unwrap();
    assert!(!lock_file_path(&path).exists());
}

#[test]
fn a_locked_write_goes_through_a_symlink_to_the_real_files_lock() {
    let d = tempdir();
    let real = d.path().join("real");
    write_atomic(&real, b"0").unwrap();
    symlink("real", d.path().join("alias")).unwrap();
    let g = acquire_lock(d.path().join("alias"), None).unwrap();
    assert_eq!(g.lock_path(), lock_file_path(&real));
    assert!(
        try_acquire_lock(&real).unwrap().is_none(),
        "both names share one lock"
    );
    drop(g);
}

// ---------------------------------------------------------------- flock(1) interop

/// A `flock(1)` process holding a lock; killed and reaped on drop, so a
/// failing assertion never leaves it behind.
struct FlockHolder(Child);

impl FlockHolder {
    /// Runs `flock -o <lockfile> sleep 30` and waits until it holds the lock.
    fn start(lock_file: &Path) -> Self {
        Self::start_with(lock_file, "-o")
    }

    /// Runs `flock -s -o <lockfile> sleep 30`: a shared holder.
    fn start_shared(lock_file: &Path) -> Self {
        Self::start_with(lock_file, "-so")
    }

    fn start_with(lock_file: &Path, flags: &str) -> Self {
        // -o: flock(1) closes its descriptor before running the command, so
        // the lock belongs to the flock process alone and dies with it.
        let holder = FlockHolder(
            Command::new("flock")
                .arg(flags)
                .arg(lock_file)
                .args(["sleep", "30"])
                .stdout(Stdio::null())
                .spawn()
                .expect("flock(1) from util-linux"),
        );
        for _ in 0..500 {
            if is_locked(lock_file.with_extension("")).unwrap_or(false) {
                return holder;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("flock(1) never took the lock");
    }

    fn stop(mut self) {
        self.kill_and_wait();
    }

    fn kill_and_wait(&mut self) {
        let _ = self.0.kill(); // already dead is fine
        let _ = self.0.wait(); // reap; nothing to report
    }
}

impl Drop for FlockHolder {
    fn drop(&mut self) {
        self.kill_and_wait();
    }
}

#[test]
fn while_flock1_holds_the_lock_we_wait_or_time_out() {
    let d = tempdir();
    let path = d.path().join("data");
    let holder = FlockHolder::start(&lock_file_path(&path));
    assert!(try_acquire_lock(&path).unwrap().is_none());
    let session = LockOptions::new().session("cron");
    assert!(try_acquire_lock_with(&path, &session).unwrap().is_none());
    let opts = WriteOptions::new().lock_timeout(Some(Duration::from_millis(50)));
    assert_eq!(
        write_atomic_with(&path, b"x", &opts).unwrap_err().kind(),
        ErrorKind::LockTimeout
    );
    assert!(!path.exists());
    holder.stop();
    write_atomic_with(&path, b"x", &opts).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"x");
}

#[test]
fn while_we_hold_the_lock_flock1_fails() {
    let d = tempdir();
    let path = d.path().join("data");
    let g = acquire_lock(&path, None).unwrap();
    let status = Command::new("flock")
        .args(["-n"])
        .arg(lock_file_path(&path))
        .arg("true")
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "flock -n must fail while we hold the lock"
    );
    drop(g);
    let status = Command::new("flock")
        .args(["-n"])
        .arg(lock_file_path(&path))
        .arg("true")
        .status()
        .unwrap();
    assert!(status.success(), "flock -n must succeed once released");
}

// ---------------------------------------------------------------- lock span of writes

/// `EIO`, injected to find out which call a step of an operation is.
const EIO: i32 = rustix::io::Errno::IO.raw_os_error();

/// An operation under test: it writes into `dir`, and its calls are
/// recorded and failed one at a time.
struct Traced<'a> {
    what: &'a str,
    dir: &'a Path,
    run: &'a dyn Fn() -> safeatomic::Result<()>,
    /// The calls of a clean run.
    clean: Trace,
    /// Temp files that an injected failure left behind (removed again, so
    /// every run starts from the same directory and makes the same calls).
    litter: Vec<String>,
}

impl Traced<'_> {
    /// The index, in the clean trace, of the first call named `name` whose
    /// failure makes the operation fail at `step`: the one way to tell
    /// apart calls that share a name (the parent directory, the lock file
    /// and the temp file are all opened with `openat`; the lock file and
    /// the temp file are both `flock(LOCK_EX)`ed).
    fn call_failing_at(&mut self, name: &str, step: &str) -> usize {
        let names = self.clean.names();
        for (i, n) in names.iter().enumerate() {
            if *n != name {
                continue;
            }
            let (result, trace) = fault::inject(Plan::fail(i, EIO), self.run);
            for left in common::leftovers(self.dir) {
                fs::remove_file(self.dir.join(&left)).unwrap();
                self.litter
                    .push(format!("{left} (call #{i}, {name}, failed)"));
            }
            assert_eq!(
                trace.names()[..i],
                names[..i],
                "{}: the calls before #{i} changed between runs: the classification would be wrong",
                self.what
            );
            if let Err(e) = result
                && e.step() == step
            {
                return i;
            }
        }
        panic!(
            "{}: no `{name}` call makes the operation fail at step {step:?}: {names:?}",
            self.what
        );
    }
}

/// What a write's lock covers (docs/design.md, write steps *lock* and
/// *unlock*; issue #17).
#[derive(Clone, Copy, PartialEq)]
enum Span {
    /// A blind write: the lock is taken once the temp file is durable.
    Publish,
    /// A read-modify-write: the lock is taken before the temp file exists
    /// (before the read).
    ReadToPublish,
}

/// Checks, from the calls `run` makes, where the target's lock is taken
/// (`span`), that every rename happens under it, and that it is released
/// after the last rename and before the last `fsync` (the directory's),
/// which the call still makes before it returns.
///
/// `run` writes into `dir`; it is called once clean, then once per
/// candidate call with that call failing (which must leave no temp file).
fn assert_lock_spans(what: &str, span: Span, dir: &Path, run: &dyn Fn() -> safeatomic::Result<()>) {
    // Warm-up: per-device caches filled, lock file and target in place, so
    // every later run makes the same calls.
    run().unwrap();
    let (result, clean) = fault::record(run);
    result.unwrap();
    let mut op = Traced {
        what,
        dir,
        run,
        clean,
        litter: Vec::new(),
    };
    let lock = op.call_failing_at("flock(LOCK_EX)", "lock");
    let temp = op.call_failing_at("openat", "create temp file");
    let temp_sync = op.call_failing_at("fsync", "fsync temp file");
    let names = op.clean.names();
    match span {
        Span::ReadToPublish => assert!(
            lock < temp,
            "{what}: the lock (call #{lock}) must be taken before the temp file is created (call #{temp}): {names:?}"
        ),
        Span::Publish => assert!(
            temp_sync < lock,
            "{what}: the lock (call #{lock}) must be taken only once the temp file is durable (call #{temp_sync}): {names:?}"
        ),
    }
    let renames: Vec<usize> = (0..names.len())
        .filter(|&i| names[i].starts_with("renameat"))
        .collect();
    let last_rename = *renames
        .last()
        .unwrap_or_else(|| panic!("{what}: no rename: {names:?}"));
    assert!(
        renames.iter().all(|&r| r > lock),
        "{what}: a rename (calls {renames:?}) before the lock (call #{lock}): {names:?}"
    );
    let last_fsync = names
        .iter()
        .rposition(|n| *n == "fsync")
        .unwrap_or_else(|| panic!("{what}: no fsync: {names:?}"));
    assert_eq!(
        last_fsync,
        names.len() - 1,
        "{what}: the directory fsync is the last call: {names:?}"
    );
    // The lock is released explicitly with LOCK_UN before its descriptor is
    // closed (safeatomic/src/sys/flock.rs: a forked child would otherwise
    // keep it); the temp file's own flock goes with its close.
    let unlocks: Vec<usize> = (lock..names.len())
        .filter(|&i| names[i] == "flock(LOCK_UN)")
        .collect();
    assert_eq!(
        unlocks.len(),
        1,
        "{what}: the lock is released once with LOCK_UN: {names:?}"
    );
    assert!(
        last_rename < unlocks[0] && unlocks[0] < last_fsync,
        "{what}: the lock must be released (call #{}) after the last rename (call #{last_rename}) \
         and before the directory fsync (call #{last_fsync}): {names:?}",
        unlocks[0]
    );
    assert!(
        op.litter.is_empty(),
        "{what}: failed writes left temp files: {:?}",
        op.litter
    );
}

#[test]
fn write_atomic_takes_the_lock_once_its_temp_file_is_durable_and_releases_it_before_the_directory_fsync()
 {
    let d = tempdir();
    let path = d.path().join("f");
    assert_lock_spans("write_atomic", Span::Publish, d.path(), &|| {
        write_atomic(&path, b"new content")
    });
    let with_sidecar = WriteOptions::new().checksum(Some(safeatomic::Algorithm::Sha256));
    assert_lock_spans(
        "write_atomic_with(checksum)",
        Span::Publish,
        d.path(),
        &|| write_atomic_with(&path, b"checked", &with_sidecar),
    );
    no_leftovers(d.path());
}

#[test]
fn atomic_writer_takes_the_lock_only_to_publish() {
    use std::io::Write;
    let d = tempdir();
    let path = d.path().join("f");
    assert_lock_spans("AtomicWriter", Span::Publish, d.path(), &|| {
        let mut w = AtomicWriter::create(&path)?;
        w.write_all(&[b'x'; 100_000]).expect("buffered write");
        w.commit()
    });
    no_leftovers(d.path());
}

#[test]
fn store_update_holds_the_lock_from_before_the_read_until_its_rename() {
    let d = tempdir();
    let path = d.path().join("counter.json");
    let store = Store::<JsonCounter>::open(&path).unwrap();
    assert_lock_spans("Store::update", Span::ReadToPublish, d.path(), &|| {
        store.update(|c| c.n += 1)
    });
    // The injected failures wrote nothing: only the clean runs counted.
    assert_eq!(
        Store::<JsonCounter>::open(&path).unwrap().load().unwrap().n,
        2
    );
    no_leftovers(d.path());
}

/// An `AtomicWriter` streams without the lock (writers of one file write
/// their temp files side by side) and takes it at commit: a holder makes
/// the commit wait, and a commit that cannot get it in time fails with
/// `LockTimeout`, leaving the target and no temp file.
#[test]
fn an_open_atomic_writer_takes_the_lock_at_commit() {
    use std::io::Write;
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic(&path, b"old").unwrap();
    let mut w = AtomicWriter::create(&path).unwrap();
    assert!(!is_locked(&path).unwrap(), "locked while streaming");
    w.write_all(b"streamed").unwrap();
    let held = acquire_lock(&path, None).unwrap();
    let committing = std::thread::spawn(move || w.commit());
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        fs::read(&path).unwrap(),
        b"old",
        "published under another's lock"
    );
    drop(held);
    committing.join().unwrap().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"streamed");
    assert!(!is_locked(&path).unwrap());

    let opts = WriteOptions::new().lock_timeout(Some(Duration::from_millis(20)));
    let mut w = AtomicWriter::create_with(&path, &opts).unwrap();
    w.write_all(b"never").unwrap();
    let held = acquire_lock(&path, None).unwrap();
    assert_eq!(w.commit().unwrap_err().kind(), ErrorKind::LockTimeout);
    drop(held);
    assert_eq!(fs::read(&path).unwrap(), b"streamed");
    no_leftovers(d.path());
}

// ---------------------------------------------------------------- read-only directories

/// The lock API in a directory nobody may write: a clear
/// `PermissionDenied` naming the target (and the lock file) where a lock
/// file would have to be created; inspection works and creates nothing.
#[test]
fn lock_apis_in_a_read_only_directory_fail_clearly_or_inspect_and_create_nothing() {
    const TEST: &str =
        "lock_apis_in_a_read_only_directory_fail_clearly_or_inspect_and_create_nothing";
    let d = tempdir();
    let ro = d.path().join("ro");
    fs::create_dir(&ro).unwrap();
    let fresh = ro.join("fresh"); // no lock file
    let free = ro.join("free"); // a lock file nobody holds
    let held = ro.join("held"); // a lock file we hold
    fs::write(&fresh, b"data").unwrap();
    drop(acquire_lock(&free, None).unwrap());
    let guard = acquire_lock(&held, None).unwrap();
    // Declared after `d` (and `guard`): made writable again before they go.
    let Some(read_only) = mounts::ReadOnlyDir::new(TEST, &ro) else {
        return;
    };
    let before = snapshot(&ro);

    let lock_named = |e: &safeatomic::Error, target: &Path| {
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        assert_eq!(e.path(), target, "{e}");
        let shown = lock_file_path(target).display().to_string();
        assert!(e.to_string().contains(&shown), "{e} should name {shown}");
    };
    lock_named(&try_acquire_lock(&fresh).unwrap_err(), &fresh);
    // Blocking, with and without a timeout: an error at once, never a wait.
    lock_named(&acquire_lock(&fresh, None).unwrap_err(), &fresh);
    let e = acquire_lock(&fresh, Some(Duration::from_millis(10))).unwrap_err();
    lock_named(&e, &fresh);
    // A write fails before it would take the lock: its temp file cannot
    // be created.
    let e = write_atomic(&fresh, b"new").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert_eq!(e.path(), fresh, "{e}");
    assert!(!is_locked(&fresh).unwrap());
    let info = inspect_lock(&fresh).unwrap();
    assert!(!info.exists && !info.held && info.pid.is_none(), "{info:?}");

    // Existing lock files are inspected through read-only descriptors.
    assert!(!is_locked(&free).unwrap());
    let info = inspect_lock(&free).unwrap();
    assert!(info.exists && !info.held && !info.is_stale(), "{info:?}");
    assert!(is_locked(&held).unwrap());
    let info = inspect_lock(&held).unwrap();
    assert!(info.exists && info.held, "{info:?}");
    assert_eq!(info.pid, Some(std::process::id()));
    // Taking an existing lock file: either refused as above, or the
    // read-only fallback of lock.rs (flock on a read-only descriptor,
    // no payload), which must then exclude like any lock.
    for (target, holder) in [(&free, false), (&held, true)] {
        match try_acquire_lock(target) {
            Err(e) => lock_named(&e, target),
            Ok(None) => assert!(holder, "{} is free, yet busy", target.display()),
            Ok(Some(g)) => {
                assert!(!holder, "{} acquired while we hold it", target.display());
                assert!(try_acquire_lock(target).unwrap().is_none());
                drop(g);
            }
        }
    }

    assert_eq!(snapshot(&ro), before, "the read-only directory changed");
    drop(read_only);
    drop(guard);
}

// ---------------------------------------------------------------- processes

fn child() -> Command {
    common::sa_child!()
}

#[test]
fn eight_processes_times_250_increments_lose_no_update() {
    let d = tempdir();
    let path = d.path().join("counter");
    write_atomic(&path, "0").unwrap();
    let mut children: Vec<ChildGuard> = (0..8)
        .map(|_| ChildGuard::spawn(child().arg("increment").arg(&path).arg("250")))
        .collect();
    for c in &mut children {
        let status = c.wait_timeout(Duration::from_secs(120));
        assert!(status.success(), "increment child failed: {status}");
    }
    assert_eq!(read_atomic_to_string(&path).unwrap(), "2000");
    no_leftovers(d.path());
    assert!(!is_locked(&path).unwrap());
}

#[test]
fn a_sigkilled_holder_is_released_at_once_and_its_payload_is_stale_until_cleared() {
    let d = tempdir();
    let path = d.path().join("state");
    let mut holder = ChildGuard::spawn(child().arg("hold-lock").arg(&path));
    let acks = AckReader::new(holder.take_stdout());
    assert_eq!(
        acks.next_line(Duration::from_secs(20)).as_deref(),
        Some("ready")
    );
    let pid = holder.id();
    assert!(
        try_acquire_lock(&path).unwrap().is_none(),
        "held by the child"
    );
    let info = inspect_lock(&path).unwrap();
    assert!(
        info.held && info.pid == Some(pid) && !info.is_stale(),
        "{info:?}"
    );
    assert_eq!(info.holder_alive, Some(true), "{info:?}");

    holder.kill();

    let info = inspect_lock(&path).unwrap();
    assert!(!info.held, "the kernel released the dead holder's lock");
    assert_eq!(
        info.pid,
        Some(pid),
        "the dead holder's payload is still there"
    );
    assert_eq!(info.holder_alive, Some(false), "{info:?}");
    assert!(info.is_stale() && is_stale_lock(&path).unwrap());

    // Someone that writes no payload (like flock(1)) takes the lock now: it
    // is held, but not by the process the payload names, which is gone.
    let bare = fs::File::open(safeatomic::lock_file_path(&path)).unwrap();
    rustix::fs::flock(&bare, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let info = inspect_lock(&path).unwrap();
    assert!(info.held && info.pid == Some(pid), "{info:?}");
    assert_eq!(info.holder_alive, Some(false), "{info:?}");
    assert!(
        info.is_stale(),
        "a payload whose writer is gone is stale: {info:?}"
    );
    assert!(
        !release_stale_lock(&path).unwrap(),
        "a held lock is left alone"
    );
    drop(bare);
    let g = try_acquire_lock(&path)
        .unwrap()
        .expect("free at once after SIGKILL");
    drop(g);
    // Our own acquire and release replaced and cleared the payload.
    assert!(!is_stale_lock(&path).unwrap());
    // The same with an explicit clear instead.
    let mut holder = ChildGuard::spawn(child().arg("hold-lock").arg(&path));
    let acks = AckReader::new(holder.take_stdout());
    assert_eq!(
        acks.next_line(Duration::from_secs(20)).as_deref(),
        Some("ready")
    );
    holder.kill();
    assert!(is_stale_lock(&path).unwrap());
    assert!(release_stale_lock(&path).unwrap());
    assert!(!is_stale_lock(&path).unwrap());
}

#[test]
fn waiters_never_split_while_holders_come_and_go() {
    let d = tempdir();
    let path = d.path().join("shared");
    let marker = d.path().join("inside");
    let mut children: Vec<ChildGuard> = (0..8)
        .map(|_| ChildGuard::spawn(child().arg("exclusion").arg(&path).arg(&marker).arg("150")))
        .collect();
    // Meanwhile, holders that die holding the lock (SIGKILL) come and go.
    for _ in 0..10 {
        let mut h = ChildGuard::spawn(child().arg("hold-lock").arg(&path));
        let acks = AckReader::new(h.take_stdout());
        let _ = acks.next_line(Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(2));
        h.kill();
    }
    for c in &mut children {
        let status = c.wait_timeout(Duration::from_secs(120));
        assert_ne!(status.code(), Some(exit::TWO_HOLDERS), "exclusion broken");
        assert!(status.success(), "exclusion child failed: {status}");
    }
    assert!(!marker.exists());
    assert!(
        lock_file_path(&path).exists(),
        "the lock file is never unlinked"
    );
}

// ---------------------------------------------------------------- shared locks

/// Whether `flock(1)` with `flags` (and `-n`: no waiting) gets the lock now.
fn flock_now(lock_file: &Path, flags: &str) -> bool {
    Command::new("flock")
        .arg(flags)
        .arg(lock_file)
        .arg("true")
        .status()
        .unwrap()
        .success()
}

#[test]
fn shared_locks_share_with_each_other_and_exclude_writers() {
    let d = tempdir();
    let path = d.path().join("data");
    let a = acquire_shared_lock(&path, None).unwrap();
    let b = try_acquire_shared_lock(&path)
        .unwrap()
        .expect("readers share");
    assert_eq!(a.lock_path(), lock_file_path(&path));
    assert!(try_acquire_lock(&path).unwrap().is_none());
    let opts = WriteOptions::new().lock_timeout(Some(Duration::from_millis(50)));
    assert_eq!(
        write_atomic_with(&path, b"x", &opts).unwrap_err().kind(),
        ErrorKind::LockTimeout
    );
    assert!(!path.exists());
    // flock(1) sees it too: `-s` shares, exclusive does not.
    assert!(flock_now(&lock_file_path(&path), "-ns"));
    assert!(!flock_now(&lock_file_path(&path), "-n"));
    let info = inspect_lock(&path).unwrap();
    assert!(info.held && info.shared, "{info:?}");
    assert_eq!(info.holder_pid, Some(std::process::id()));
    assert!(info.pid.is_none(), "a shared holder writes no payload");
    assert!(is_locked(&path).unwrap());
    assert!(!is_stale_lock(&path).unwrap());
    a.release().unwrap();
    assert!(inspect_lock(&path).unwrap().shared, "b still holds it");
    drop(b);
    let info = inspect_lock(&path).unwrap();
    assert!(!info.held && !info.shared, "{info:?}");
    assert!(!is_locked(&path).unwrap());
    write_atomic_with(&path, b"x", &opts).unwrap();
}

#[test]
fn a_writer_excludes_shared_locks_until_it_releases() {
    let d = tempdir();
    let path = d.path().join("data");
    let writer = acquire_lock(&path, None).unwrap();
    assert!(try_acquire_shared_lock(&path).unwrap().is_none());
    let err = acquire_shared_lock(&path, Some(Duration::from_millis(30))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LockTimeout);
    assert!(err.to_string().contains("still held by pid"), "{err}");
    let info = inspect_lock(&path).unwrap();
    assert!(info.held && !info.shared, "{info:?}");
    // A blocking shared acquire gets it once the writer is gone.
    let waiter = std::thread::spawn({
        let path = path.clone();
        move || acquire_shared_lock(&path, None).map(drop)
    });
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished());
    drop(writer);
    waiter.join().unwrap().unwrap();
}

#[test]
fn flock_s_is_a_shared_holder_we_share_with_and_inspect() {
    let d = tempdir();
    let path = d.path().join("data");
    let holder = FlockHolder::start_shared(&lock_file_path(&path));
    let info = inspect_lock(&path).unwrap();
    assert!(info.held && info.shared, "{info:?}");
    assert_eq!(info.holder_command.as_deref(), Some("flock"), "{info:?}");
    let ours = try_acquire_shared_lock(&path).unwrap();
    assert!(ours.is_some(), "flock -s shares");
    drop(ours);
    assert!(try_acquire_lock(&path).unwrap().is_none());
    holder.stop();
    assert!(!inspect_lock(&path).unwrap().held);
    assert!(try_acquire_lock(&path).unwrap().is_some());
}
