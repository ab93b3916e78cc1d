//! SQLite as the yardstick (issue #17): `Store::update` of a 4 KiB value
//! side by side with SQLite (`rusqlite`, bundled) doing the same
//! read-modify-write of one row, in WAL mode and with the rollback
//! journal, both `synchronous=FULL`: one update at a time (latency), 8
//! threads at once (throughput, exact counts checked for every
//! contender), and with 0 to 10,000 (100,000 with `--big`) other files in
//! the directory.

use crate::{BoxResult, Opts, interleaved, machine, stats, workdir};
use rusqlite::{Connection, params};
use safeatomic::{Persisted, Store};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// The state every contender updates: a counter and 4 KiB of payload.
#[derive(Clone, Default, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
struct State {
    n: u64,
    payload: String,
}

fn state() -> State {
    State {
        n: 0,
        payload: "x".repeat(4000),
    }
}

/// SQLite in `journal` mode (`wal` or `delete`) with `synchronous=FULL`,
/// holding one row like [`State`].
fn sqlite(path: &Path, journal: &str) -> BoxResult<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(60))?;
    c.pragma_update(None, "journal_mode", journal)?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.execute_batch("CREATE TABLE IF NOT EXISTS kv (k INTEGER PRIMARY KEY, n INTEGER, v BLOB)")?;
    c.execute(
        "INSERT OR IGNORE INTO kv (k, n, v) VALUES (1, 0, ?1)",
        params![state().payload],
    )?;
    Ok(c)
}

/// One read-modify-write of the row in a write transaction: what
/// `Store::update` does to the file.
fn sqlite_update(c: &mut Connection) -> BoxResult<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (n, v): (u64, String) = tx.query_row("SELECT n, v FROM kv WHERE k = 1", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    tx.execute(
        "UPDATE kv SET n = ?1, v = ?2 WHERE k = 1",
        params![n + 1, v],
    )?;
    tx.commit()?;
    Ok(())
}

/// `safeatomic-bench sqlite-child store|wal|delete PATH N`: N updates of
/// the state at PATH, one at a time, by one process of the 4-process run.
pub(crate) fn sqlite_child(args: &[String]) -> BoxResult<()> {
    let [kind, path, n] = args else {
        return Err("usage: sqlite-child store|wal|delete PATH N".into());
    };
    let n: usize = n.parse()?;
    if kind == "store" {
        let store = Store::<State>::open(path)?;
        for _ in 0..n {
            store.update(|s| s.n += 1)?;
        }
    } else {
        let mut c = Connection::open(path)?;
        c.busy_timeout(std::time::Duration::from_secs(60))?;
        c.pragma_update(None, "synchronous", "FULL")?;
        for _ in 0..n {
            sqlite_update(&mut c)?;
        }
    }
    Ok(())
}

fn sqlite_count(c: &Connection) -> BoxResult<u64> {
    Ok(c.query_row("SELECT n FROM kv WHERE k = 1", [], |r| r.get(0))?)
}

/// The three contenders set up in `dir` (the store, SQLite WAL, the
/// rollback journal), and the timed samples of `rounds` interleaved rounds
/// of one update at a time each.
#[allow(clippy::type_complexity)]
fn one_at_a_time(
    dir: &Path,
    rounds: usize,
) -> BoxResult<(Store<State>, Connection, Connection, Vec<Vec<f64>>)> {
    let store = Store::<State>::open(dir.join("state.json"))?;
    store.replace(state())?;
    let mut wal = sqlite(&dir.join("wal.db"), "wal")?;
    let mut journal = sqlite(&dir.join("journal.db"), "delete")?;
    let samples = interleaved(3, rounds, 3, |i| {
        match i {
            0 => store.update(|s| s.n += 1)?,
            1 => sqlite_update(&mut wal)?,
            _ => sqlite_update(&mut journal)?,
        }
        Ok(())
    })?;
    Ok((store, wal, journal, samples))
}

pub(crate) fn sqlite_bench(o: &Opts, big: bool) -> BoxResult<()> {
    println!("### `Store::update` against SQLite (4 KiB state, synchronous=FULL)\n");
    println!("Machine: {}\n", machine());
    let dir = workdir(o)?;
    let rounds = o.rounds.max(1);
    let (store, wal, journal, samples) = one_at_a_time(dir.path(), rounds)?;
    // Every update counted: 3 runs a round per contender.
    let expected = 3 * rounds as u64;
    let counts = [
        store.load()?.n,
        sqlite_count(&wal)?,
        sqlite_count(&journal)?,
    ];
    if counts != [expected; 3] {
        return Err(format!("lost updates: {counts:?}, expected {expected} each").into());
    }
    let base = stats(samples[0].clone()).0;
    println!("| one update at a time | median | ratio to the store |");
    println!("|---|---|---|");
    for (name, s) in [
        ("`Store::update`", &samples[0]),
        ("SQLite WAL, FULL", &samples[1]),
        ("SQLite rollback journal, FULL", &samples[2]),
    ] {
        let m = stats(s.clone()).0;
        println!("| {name} | {m:.0} µs | {:.2}× |", m / base);
    }

    // Throughput: 8 threads, the same number of updates each.
    let per_thread = (rounds * 10).max(10);
    println!("\n| 8 threads × {per_thread} updates | updates/s | ratio to the store | count |");
    println!("|---|---|---|---|");
    let threads = |f: &(dyn Fn() -> Result<(), String> + Sync)| -> BoxResult<f64> {
        let start = Instant::now();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(f)).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a benchmark thread panicked"))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .collect::<Result<Vec<()>, String>>()
        .map_err(|e| -> Box<dyn std::error::Error> { e.into() })?;
        Ok((8 * per_thread) as f64 / start.elapsed().as_secs_f64())
    };
    let before = store.load()?.n;
    let store_rate = threads(&|| {
        let store = store.clone();
        for _ in 0..per_thread {
            store.update(|s| s.n += 1).map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    let store_count = store.load()?.n - before;
    let mut rates = vec![(
        "`Store::update` (clones of one store: group commit)",
        store_rate,
        store_count,
    )];
    // Separate stores share no queue: each update takes the lock and
    // writes alone, as every update did before group commit.
    let before = store.load()?.n;
    let alone_rate = threads(&|| {
        let own = Store::<State>::open(store.path()).map_err(|e| e.to_string())?;
        for _ in 0..per_thread {
            own.update(|s| s.n += 1).map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    rates.push((
        "`Store::update` (a store a thread: one write an update)",
        alone_rate,
        store.load()?.n - before,
    ));
    for (name, db) in [
        ("SQLite WAL, FULL (a connection a thread)", "wal.db"),
        (
            "SQLite rollback journal, FULL (a connection a thread)",
            "journal.db",
        ),
    ] {
        let path = dir.path().join(db);
        let before = sqlite_count(&Connection::open(&path)?)?;
        let rate = threads(&|| {
            let mut c = Connection::open(&path).map_err(|e| e.to_string())?;
            c.busy_timeout(std::time::Duration::from_secs(60))
                .map_err(|e| e.to_string())?;
            c.pragma_update(None, "synchronous", "FULL")
                .map_err(|e| e.to_string())?;
            for _ in 0..per_thread {
                sqlite_update(&mut c).map_err(|e| e.to_string())?;
            }
            Ok(())
        })?;
        let count = sqlite_count(&Connection::open(&path)?)? - before;
        rates.push((name, rate, count));
    }
    // SQLite's busy handler sleeps between tries; one connection shared
    // under a mutex is how a threaded program uses it best.
    {
        let path = dir.path().join("wal.db");
        let shared = std::sync::Mutex::new(sqlite(&path, "wal")?);
        let before = sqlite_count(&Connection::open(&path)?)?;
        let rate = threads(&|| {
            for _ in 0..per_thread {
                let mut c = shared.lock().map_err(|e| e.to_string())?;
                sqlite_update(&mut c).map_err(|e| e.to_string())?;
            }
            Ok(())
        })?;
        let count = sqlite_count(&Connection::open(&path)?)? - before;
        rates.push(("SQLite WAL, FULL (one shared connection)", rate, count));
    }
    for (name, rate, count) in &rates {
        if *count != 8 * per_thread as u64 {
            return Err(format!("{name}: {count} updates counted of {}", 8 * per_thread).into());
        }
        println!(
            "| {name} | {rate:.0} | {:.2}× | {count} |",
            rate / rates[0].1
        );
    }

    // Processes: 4 of them, each doing its share one update at a time.
    let per_process = (rounds * 10).max(10);
    println!("\n| 4 processes × {per_process} updates | updates/s | ratio to the store | count |");
    println!("|---|---|---|---|");
    let mut prates = Vec::new();
    for (name, kind, path) in [
        ("`Store::update`", "store", dir.path().join("state.json")),
        ("SQLite WAL, FULL", "wal", dir.path().join("wal.db")),
        (
            "SQLite rollback journal, FULL",
            "delete",
            dir.path().join("journal.db"),
        ),
    ] {
        let count = || -> BoxResult<u64> {
            Ok(match kind {
                "store" => store.load()?.n,
                _ => sqlite_count(&Connection::open(&path)?)?,
            })
        };
        let before = count()?;
        let start = Instant::now();
        let children = (0..4)
            .map(|_| {
                std::process::Command::new(std::env::current_exe()?)
                    .args(["sqlite-child", kind])
                    .arg(&path)
                    .arg(per_process.to_string())
                    .spawn()
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        for mut c in children {
            let status = c.wait()?;
            if !status.success() {
                return Err(format!("{name}: a child failed: {status}").into());
            }
        }
        let rate = (4 * per_process) as f64 / start.elapsed().as_secs_f64();
        let n = count()? - before;
        if n != 4 * per_process as u64 {
            return Err(format!("{name}: {n} updates counted of {}", 4 * per_process).into());
        }
        prates.push((name, rate, n));
    }
    for (name, rate, count) in &prates {
        println!(
            "| {name} | {rate:.0} | {:.2}× | {count} |",
            rate / prates[0].1
        );
    }

    // Directory size: the same update with N other files beside the state.
    let sizes: &[usize] = if big {
        &[0, 1_000, 10_000, 100_000]
    } else {
        &[0, 1_000, 10_000]
    };
    println!(
        "\n| other files in the directory | `Store::update` | SQLite WAL, FULL | SQLite rollback journal, FULL |"
    );
    println!("|---|---|---|---|");
    let mut first = None;
    for &n in sizes {
        let d = workdir(o)?;
        for i in 0..n {
            std::fs::write(d.path().join(format!("neighbour-{i:06}")), b"")?;
        }
        let (_, _, _, samples) = one_at_a_time(d.path(), rounds)?;
        let [s, q, j] = [0, 1, 2].map(|i| stats(samples[i].clone()).0);
        let [s0, q0, j0] = *first.get_or_insert([s, q, j]);
        println!(
            "| {n} | {s:.0} µs ({:.2}× empty) | {q:.0} µs ({:.2}× empty) | {j:.0} µs ({:.2}× empty) |",
            s / s0,
            q / q0,
            j / j0
        );
    }
    println!(
        "\nMedians of {rounds} interleaved rounds (3 runs each, the first untimed); every \
         contender's count checked exactly."
    );
    Ok(())
}
