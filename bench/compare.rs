//! This build of the store against another build of the same benchmark
//! (an older revision of the library), side by side in one run (issue #17:
//! "today's" figures are the revision before the change, measured
//! beside it, not remembered from another day).
//!
//! ```text
//! safeatomic-bench compare --baseline OLD_BINARY [--rounds 5] [--dir DIR]
//! ```
//!
//! `OLD_BINARY` is `safeatomic-bench` built from the older revision with
//! this file and its `store-workload` subcommand (the bench uses only the
//! public API). Rounds alternate between the two binaries, in a fresh
//! random order each round, for three workloads on a 4 KiB JSON state:
//! one thread's update latency, 8 threads sharing clones of one store, and
//! 4 processes. Every count is checked exactly.

use crate::{BoxResult, Opts, machine, stats, workdir};
use safeatomic::{Persisted, Store};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The state every workload updates: a counter and 4 KiB of payload.
#[derive(Clone, Default, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
struct State {
    n: u64,
    payload: String,
}

fn count(path: &Path) -> BoxResult<u64> {
    Ok(Store::<State>::open(path)?.load()?.n)
}

/// `safeatomic-bench store-workload latency|threads|process PATH N`: runs
/// one workload of this build and prints its figure (latency: the median
/// µs of N updates; threads: updates/s of 8 threads × N; process: nothing,
/// N updates, one process of the 4).
pub(crate) fn store_workload(args: &[String]) -> BoxResult<()> {
    let [mode, path, n] = args else {
        return Err("usage: store-workload latency|threads|process PATH N".into());
    };
    let n: usize = n.parse()?;
    let store = Store::<State>::open(path)?;
    match mode.as_str() {
        "latency" => {
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                store.update(|s| s.n += 1)?;
                samples.push(t.elapsed().as_secs_f64() * 1e6);
            }
            println!("{}", stats(samples).0);
        }
        "threads" => {
            let start = Instant::now();
            std::thread::scope(|s| {
                let workers: Vec<_> = (0..8)
                    .map(|_| {
                        let store = store.clone();
                        s.spawn(move || -> Result<(), String> {
                            for _ in 0..n {
                                store.update(|s| s.n += 1).map_err(|e| e.to_string())?;
                            }
                            Ok(())
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .try_for_each(|w| w.join().expect("a workload thread panicked"))
            })?;
            println!("{}", (8 * n) as f64 / start.elapsed().as_secs_f64());
        }
        "process" => {
            for _ in 0..n {
                store.update(|s| s.n += 1)?;
            }
        }
        other => return Err(format!("unknown workload {other}").into()),
    }
    Ok(())
}

/// Runs `bin store-workload mode path n` and parses what it prints.
fn figure(bin: &Path, mode: &str, path: &Path, n: usize) -> BoxResult<f64> {
    let out = Command::new(bin)
        .args(["store-workload", mode])
        .arg(path)
        .arg(n.to_string())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "{} store-workload {mode}: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?.trim().parse()?)
}

/// 4 processes of `bin`, `n` updates each: updates/s.
fn processes(bin: &Path, path: &Path, n: usize) -> BoxResult<f64> {
    let start = Instant::now();
    let children = (0..4)
        .map(|_| {
            Command::new(bin)
                .args(["store-workload", "process"])
                .arg(path)
                .arg(n.to_string())
                .spawn()
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    for mut c in children {
        let status = c.wait()?;
        if !status.success() {
            return Err(format!("{}: a process failed: {status}", bin.display()).into());
        }
    }
    Ok((4 * n) as f64 / start.elapsed().as_secs_f64())
}

pub(crate) fn compare(o: &Opts, baseline: &Path) -> BoxResult<()> {
    let this = std::env::current_exe()?;
    let bins = [("baseline", baseline), ("this build", this.as_path())];
    let rounds = o.rounds.max(1);
    let (latency_n, threads_n, process_n) = (50, 50, 50);
    println!("### This build against `{}`\n", baseline.display());
    println!("Machine: {}\n", machine());
    let dir = workdir(o)?;
    // results[workload][binary]: one figure per round.
    let mut results = vec![vec![Vec::new(); 2]; 3];
    let mut seed = std::process::id() as u64 | 1;
    for round in 0..rounds {
        // Which binary goes first this round.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let order = if seed & 1 == 0 { [0, 1] } else { [1, 0] };
        for &b in &order {
            let (_, bin) = bins[b];
            let path = dir.path().join(format!("state-{round}-{b}.json"));
            Store::<State>::open(&path)?.replace(State {
                n: 0,
                payload: "x".repeat(4000),
            })?;
            let mut expected = 0;
            results[0][b].push(figure(bin, "latency", &path, latency_n)?);
            expected += latency_n as u64;
            results[1][b].push(figure(bin, "threads", &path, threads_n)?);
            expected += 8 * threads_n as u64;
            results[2][b].push(processes(bin, &path, process_n)?);
            expected += 4 * process_n as u64;
            let n = count(&path)?;
            if n != expected {
                return Err(format!("{}: {n} updates counted of {expected}", bins[b].0).into());
            }
        }
    }
    println!("| workload | baseline | this build | ratio |");
    println!("|---|---|---|---|");
    for (w, (name, unit, higher_is_better)) in [
        ("one thread, latency of an update", "µs", false),
        (
            "8 threads × 50 updates (clones of one store)",
            "updates/s",
            true,
        ),
        ("4 processes × 50 updates", "updates/s", true),
    ]
    .into_iter()
    .enumerate()
    {
        let old = stats(results[w][0].clone()).0;
        let new = stats(results[w][1].clone()).0;
        let ratio = new / old;
        let better = if higher_is_better {
            "faster"
        } else {
            "of the time"
        };
        println!("| {name} | {old:.0} {unit} | {new:.0} {unit} | {ratio:.2}× ({better}) |");
    }
    println!(
        "\nMedians of {rounds} rounds, the two builds in a random order each round; every \
         count checked exactly."
    );
    Ok(())
}
