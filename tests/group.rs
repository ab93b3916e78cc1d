//! Group commit (issue #17): concurrent updates of clones of one store
//! share a write. A group skips a closure that panics, returns `Err` or
//! leaves an invalid value (its caller alone gets that), commits the rest
//! once, and answers nobody before that commit is durable; counts stay
//! exact under threads, processes, both at once, and kills.
//!
//! Power cuts during group commits are in `tests/torture.rs`.
//!
//! Environment: `SAFEATOMIC_GROUP_KILLS` (kills of a 4-thread updater,
//! default 30), `SAFEATOMIC_KILL_SEED` (replays the random choices).

use common::child::{ChildGuard, grouped_updater};
use common::rng::Rng;
use common::types::{CheckedCounter, JsonCounter, Limited};
use common::{no_leftovers, tempdir};
use safeatomic::{ErrorKind, Store, fault, is_locked};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for something that takes milliseconds.
const PATIENCE: Duration = Duration::from_secs(60);

/// Waits until `store` has `n` updates queued behind the one under way.
#[track_caller]
fn wait_queued<T: safeatomic::Persisted>(store: &Store<T>, n: usize) {
    let start = Instant::now();
    while store.queued_updates() < n {
        assert!(
            start.elapsed() < PATIENCE,
            "only {} updates queued",
            store.queued_updates()
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// `renameat` calls among the OS calls `f` makes on this thread: how many
/// files it published.
fn publishing<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let (r, trace) = fault::record(f);
    let renames = trace
        .names()
        .iter()
        .filter(|n| n.starts_with("renameat"))
        .count();
    (r, renames)
}

/// Starts a group's leader on its own thread: `run` makes its update with
/// a closure that calls the `hold` it is given, which returns once `go` is
/// sent. Returns when the leader is in its closure (it holds the lock and
/// has read the file), so every update started now queues behind it.
fn held_leader<R: Send + 'static>(
    run: impl FnOnce(&dyn Fn()) -> R + Send + 'static,
) -> (thread::JoinHandle<R>, mpsc::Sender<()>) {
    let (entered_tx, entered) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let leader = thread::spawn(move || {
        run(&|| {
            entered_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        })
    });
    entered.recv_timeout(PATIENCE).unwrap();
    (leader, go)
}

#[derive(Debug, PartialEq)]
enum Refusal {
    Refused,
    Store(ErrorKind),
}

impl From<safeatomic::Error> for Refusal {
    fn from(e: safeatomic::Error) -> Self {
        Refusal::Store(e.kind())
    }
}

/// One group: the leader's closure holds it open until six more updates
/// queue behind it; one panics, one returns `Err`, one leaves a value its
/// validation refuses, three add one. All are applied in arrival order, the
/// three and the leader's are committed in one write, and each caller gets
/// its own answer.
#[test]
fn a_group_skips_a_panic_an_error_and_an_invalid_value_and_commits_the_rest_once() {
    let d = tempdir();
    let store = Store::<Limited>::open(d.path().join("limited.json")).unwrap();
    store.replace(Limited { n: 0 }).unwrap();
    let (leader, go) = {
        let store = store.clone();
        held_leader(move |hold| {
            publishing(|| {
                store.update(|l| {
                    hold();
                    l.n += 1;
                    l.n
                })
            })
        })
    };

    type Outcome = (Result<u64, Refusal>, usize);
    let mut followers: Vec<(&str, thread::JoinHandle<Outcome>)> = Vec::new();
    let kinds = ["adds", "panics", "refuses", "invalid", "adds", "adds"];
    let leader_store = store.clone();
    for (i, kind) in kinds.into_iter().enumerate() {
        let store = store.clone();
        let handle = thread::spawn(move || {
            let (r, renames) = publishing(|| match kind {
                "adds" => store.try_update(|l| {
                    l.n += 1;
                    Ok(l.n)
                }),
                "panics" => store.try_update(|l| {
                    l.n += 100;
                    panic!("a closure that panics")
                }),
                "refuses" => store.try_update(|l| {
                    l.n += 100;
                    Err(Refusal::Refused)
                }),
                _ => store.try_update(|l| {
                    l.n += 100; // more than Limited allows
                    Ok(l.n)
                }),
            });
            (r, renames)
        });
        followers.push((kind, handle));
        wait_queued(&leader_store, i + 1);
    }
    go.send(()).unwrap();

    let (leader_result, leader_renames) = leader.join().unwrap();
    assert_eq!(leader_result.unwrap(), 1);
    let mut renames = leader_renames;
    let mut added = Vec::new();
    for (kind, handle) in followers {
        match (kind, handle.join()) {
            ("panics", Err(panic)) => {
                assert_eq!(panic.downcast_ref::<&str>(), Some(&"a closure that panics"));
            }
            ("panics", Ok(other)) => panic!("the panicking closure's caller got {other:?}"),
            (kind, Err(_)) => panic!("the {kind} caller panicked"),
            ("refuses", Ok((r, n))) => {
                assert_eq!(r, Err(Refusal::Refused));
                renames += n;
            }
            ("invalid", Ok((r, n))) => {
                assert_eq!(r, Err(Refusal::Store(ErrorKind::Validation)));
                renames += n;
            }
            (_, Ok((r, n))) => {
                added.push(r.unwrap());
                renames += n;
            }
        }
    }
    assert_eq!(
        added,
        [2, 3, 4],
        "applied in arrival order, each on the last"
    );
    assert_eq!(store.load().unwrap().n, 4);
    assert_eq!(renames, 1, "one write for the whole group");
    assert_eq!(store.queued_updates(), 0);
    assert!(!is_locked(store.path()).unwrap());
    // The store goes on: the next update leads a group of its own.
    assert_eq!(
        store
            .update(|l| {
                l.n += 1;
                l.n
            })
            .unwrap(),
        5
    );
    no_leftovers(d.path());
}

/// A group whose write fails: every caller whose change it carried gets the
/// error, nothing is written, and the store goes on.
#[test]
fn a_group_whose_commit_fails_tells_every_caller_in_it() {
    let d = tempdir();
    let store = Store::<Limited>::open(d.path().join("limited.json")).unwrap();
    store.replace(Limited { n: 0 }).unwrap();
    let (leader, go) = {
        let store = store.clone();
        held_leader(move |hold| {
            // The leader's write fails at its temp file's fsync.
            let plan = fault::Plan::fail_named("fsync", rustix::io::Errno::IO.raw_os_error());
            fault::inject(plan, || {
                store.update(|l| {
                    hold();
                    l.n += 1;
                })
            })
            .0
        })
    };
    let followers: Vec<_> = (0..3)
        .map(|i| {
            let clone = store.clone();
            let handle = thread::spawn(move || clone.update(|l| l.n += 1));
            wait_queued(&store, i + 1);
            handle
        })
        .collect();
    go.send(()).unwrap();
    assert_eq!(leader.join().unwrap().unwrap_err().kind(), ErrorKind::Io);
    for f in followers {
        let e = f.join().unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
        assert_eq!(e.path(), store.path());
    }
    assert_eq!(store.load().unwrap().n, 0, "nothing was written");
    store.update(|l| l.n += 1).unwrap();
    assert_eq!(store.load().unwrap().n, 1);
    no_leftovers(d.path());
}

/// While another process holds the lock, callers queue; a lock timeout of
/// the group's leader is every queued caller's answer (they waited for
/// the same lock), and nothing is written.
#[test]
fn a_lock_timeout_of_the_leader_is_the_answer_of_every_caller_queued() {
    let d = tempdir();
    let path = d.path().join("c.json");
    let opts = safeatomic::StoreOptions::new().lock_timeout(Some(Duration::from_millis(300)));
    let store = Store::<JsonCounter>::open_with(&path, opts).unwrap();
    let held = safeatomic::acquire_lock(&path, None).unwrap();
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            thread::spawn(move || store.update(|c| c.n += 1))
        })
        .collect();
    for c in callers {
        let r = c.join().unwrap();
        assert_eq!(r.unwrap_err().kind(), ErrorKind::LockTimeout);
    }
    drop(held);
    assert_eq!(store.load().unwrap().n, 0);
    store.update(|c| c.n += 1).unwrap();
    assert_eq!(store.load().unwrap().n, 1);
}

/// Threads of several processes at once: every update counted once.
#[test]
fn four_processes_of_four_threads_lose_no_update() {
    let d = tempdir();
    let path = d.path().join("c.json");
    let children: Vec<ChildGuard> = (0..4)
        .map(|_| {
            ChildGuard::spawn(
                common::sa_child!()
                    .args(["store-increment", "checked"])
                    .arg(&path)
                    .args(["50", "4"]),
            )
        })
        .collect();
    for mut c in children {
        let status = c.wait_timeout(PATIENCE * 5);
        assert!(status.success(), "store-increment: {status}");
    }
    let store = Store::<CheckedCounter>::open(&path).unwrap();
    assert_eq!(store.load().unwrap().n, 4 * 4 * 50);
    assert!(safeatomic::verify_checksum(&path).unwrap());
    no_leftovers(d.path());
}

/// A 4-thread updater killed with SIGKILL at random moments, again and
/// again: the file always verifies and holds at least every value an
/// update returned before the kill, and at most one more per thread (the
/// updates in flight may have landed); the next updater goes on from it.
#[test]
fn a_grouped_updater_killed_at_random_keeps_every_acknowledged_update() {
    const THREADS: u64 = 4;
    let kills: usize = std::env::var("SAFEATOMIC_GROUP_KILLS")
        .map(|s| s.parse().expect("SAFEATOMIC_GROUP_KILLS must be a number"))
        .unwrap_or(30);
    let mut rng = Rng::from_env(
        "SAFEATOMIC_KILL_SEED",
        "a_grouped_updater_killed_at_random_keeps_every_acknowledged_update",
    );
    let d = tempdir();
    let path = d.path().join("c.json");
    let mut on_disk = 0;
    let (mut acked_total, mut landed_unacked) = (0, 0);
    for kill in 0..kills {
        let (mut child, acks) = grouped_updater(common::sa_child!(), &path, THREADS);
        // Let it get going (at least one update), then kill at a random moment.
        let first = acks
            .next_line(PATIENCE)
            .unwrap_or_else(|| panic!("kill {kill}: the updater acknowledged nothing"));
        thread::sleep(Duration::from_micros(rng.below(20_000)));
        child.kill();
        let mut values: Vec<u64> = std::iter::once(first)
            .chain(acks.finish())
            .map(|l| l.split(' ').next().unwrap().parse().unwrap())
            .collect();
        values.sort_unstable();
        let n = Store::<CheckedCounter>::open(&path)
            .and_then(|s| s.load())
            .unwrap_or_else(|e| panic!("kill {kill}: the store does not load: {e}"))
            .n;
        let context = format!("kill {kill}: on disk before {on_disk}, now {n}");
        if let Some(&top) = values.last() {
            assert!(n >= top, "{context}: acknowledged {top} lost");
        }
        let mut distinct = values.clone();
        distinct.dedup();
        assert_eq!(distinct, values, "{context}: a value acknowledged twice");
        assert!(
            values.iter().all(|v| *v > on_disk),
            "{context}: acknowledged a value that was already on disk"
        );
        // One more per thread at most: each thread had one update in flight.
        let committed = n - on_disk;
        let acked = values.len() as u64;
        assert!(
            committed >= acked && committed <= acked + THREADS,
            "{context}: {committed} committed for {acked} acknowledged"
        );
        acked_total += acked;
        landed_unacked += committed - acked;
        on_disk = n;
        assert!(safeatomic::verify_checksum(&path).unwrap(), "{context}");
        assert!(!is_locked(&path).unwrap(), "{context}: still locked");
    }
    safeatomic::cleanup_litter(d.path()).unwrap();
    no_leftovers(d.path());
    println!(
        "{kills} kills of a {THREADS}-thread updater: {acked_total} updates acknowledged, \
         {landed_unacked} more landed unacknowledged, final n = {on_disk}"
    );
}

/// Sanity of the harness above: `publishing` counts a write.
#[test]
fn one_update_alone_publishes_once() {
    let d = tempdir();
    let store = Store::<JsonCounter>::open(d.path().join("c.json")).unwrap();
    let (r, renames) = publishing(|| store.update(|c| c.n += 1));
    r.unwrap();
    assert_eq!(renames, 1);
}
