//! Many processes update one derived store; no update is lost.
//!
//! `cargo run --example multi_process_counter` starts 6 copies of itself,
//! each adding 100 to a shared counter, and checks the total is exact. The
//! workers are this same program, started with `worker <path>`.

use safeatomic::{Persisted, Store};
use serde::{Deserialize, Serialize};
use std::process::Command;

#[derive(Debug, Clone, Default, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum)]
struct Counter {
    value: u64,
    updates_by_pid: std::collections::BTreeMap<u32, u64>,
}

const PROCESSES: u64 = 6;
const UPDATES: u64 = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, role, path] = args.as_slice()
        && role == "worker"
    {
        let store = Store::<Counter>::open(path)?;
        for _ in 0..UPDATES {
            store.update(|c| {
                c.value += 1;
                *c.updates_by_pid.entry(std::process::id()).or_default() += 1;
            })?;
        }
        return Ok(());
    }

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("counter.json");
    let exe = std::env::current_exe()?;
    let workers: Vec<_> = (0..PROCESSES)
        .map(|_| Command::new(&exe).arg("worker").arg(&path).spawn())
        .collect::<Result<_, _>>()?;
    for mut w in workers {
        assert!(w.wait()?.success(), "a worker failed");
    }
    let counter = Store::<Counter>::open(&path)?.load()?;
    println!(
        "{PROCESSES} processes x {UPDATES} updates = {} (expected {})",
        counter.value,
        PROCESSES * UPDATES
    );
    // Which process made which update is recorded by pid; pids differ on
    // every run, so only the per-process counts are printed.
    let per_process: Vec<u64> = counter.updates_by_pid.values().copied().collect();
    println!(
        "{} processes recorded their updates: {per_process:?}",
        per_process.len()
    );
    println!(
        "checksum sidecar verifies: {}",
        safeatomic::verify_checksum(&path)?
    );
    assert_eq!(counter.value, PROCESSES * UPDATES, "an update was lost");
    Ok(())
}
