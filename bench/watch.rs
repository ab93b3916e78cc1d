//! Watching a store (issue #18): how long after another process's
//! `Store::update` returns its watcher delivers the value (median and p99
//! per debounce), and what an idle watcher costs in CPU.

use crate::{BoxResult, Config, Opts, config, cpu_time, machine, mono_ns, workdir};
use safeatomic::{Origin, Store, WatchOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Child side: `n` updates of the store at `path`, one at a time; after
/// each, prints the counter and when the update returned (CLOCK_MONOTONIC
/// ns), then waits for a line on stdin (the watcher has it: no change is
/// coalesced with the next).
pub(crate) fn writer(args: &[String]) -> BoxResult<()> {
    let path = Path::new(args.first().ok_or("path")?);
    let n: u64 = args.get(1).ok_or("n")?.parse()?;
    let store = Store::<Config>::open(path)?;
    let mut stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    let mut line = String::new();
    for _ in 0..n {
        let counter = store.update(|c| {
            c.counter += 1;
            c.counter
        })?;
        let returned = mono_ns();
        writeln!(out, "{counter} {returned}")?;
        out.flush()?;
        line.clear();
        if stdin.read_line(&mut line)? == 0 {
            break;
        }
    }
    Ok(())
}

/// Latencies (µs) of `changes` changes with `debounce`.
fn latencies(path: &Path, changes: u64, debounce: Duration) -> BoxResult<Vec<f64>> {
    let store = Store::<Config>::open(path)?;
    store.replace(config())?;
    let watch = store.watch_with(WatchOptions::new().debounce(debounce))?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("watch-writer")
        .arg(path)
        .arg(changes.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut ack = child.stdin.take().ok_or("stdin")?;
    let mut said = BufReader::new(child.stdout.take().ok_or("stdout")?);
    let first = store.load()?.counter;
    let mut out = Vec::with_capacity(changes as usize);
    let mut line = String::new();
    for _ in 0..changes {
        let change = watch
            .recv_timeout(Duration::from_secs(10))
            .ok_or("no change within 10 s")??;
        let delivered = mono_ns();
        line.clear();
        said.read_line(&mut line)?;
        let mut fields = line.split_whitespace();
        let counter: u64 = fields.next().ok_or("counter")?.parse()?;
        let returned: u128 = fields.next().ok_or("time")?.parse()?;
        if change.value.counter != counter || change.origin != Origin::Elsewhere {
            return Err(format!(
                "watch delivered {} ({:?}) for update {counter}",
                change.value.counter, change.origin
            )
            .into());
        }
        // Signed: the watcher can see the rename before the writer's
        // directory fsync (the last step of its update) returns.
        out.push((delivered as f64 - returned as f64) / 1000.0);
        writeln!(ack, "next")?;
    }
    drop(ack);
    if !child.wait()?.success() {
        return Err("watch-writer failed".into());
    }
    if store.load()?.counter != first + changes {
        return Err("the count is off".into());
    }
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// `safeatomic-bench watch [--rounds CHANGES]`: latency per debounce, and
/// the idle watcher's CPU over `--seconds`.
pub(crate) fn watch(o: &Opts) -> BoxResult<()> {
    let dir = workdir(o)?;
    let path = dir.path().join("watched.json");
    let changes = o.rounds as u64;
    println!(
        "### Watch latency: another process's `update` returning → the watcher's item, {changes} changes each\n"
    );
    println!("{}\n", machine());
    println!("| debounce | median | p99 | max | min |\n|---|---|---|---|---|");
    for debounce in [
        Duration::ZERO,
        WatchOptions::DEFAULT_DEBOUNCE,
        Duration::from_millis(50),
    ] {
        let mut v = latencies(&path, changes, debounce)?;
        v.sort_by(f64::total_cmp);
        let default = if debounce == WatchOptions::DEFAULT_DEBOUNCE {
            " (default)"
        } else {
            ""
        };
        println!(
            "| {} ms{default} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            debounce.as_millis(),
            percentile(&v, 0.5) / 1000.0,
            percentile(&v, 0.99) / 1000.0,
            v[v.len() - 1] / 1000.0,
            v[0] / 1000.0
        );
    }
    // Idle: a watch of a file nobody writes, while neighbours are written.
    let store = Store::<Config>::open(&path)?;
    let watch = store.watch()?;
    let idle = Duration::from_secs_f64(o.seconds.max(0.2));
    let cpu0 = cpu_time();
    std::thread::sleep(idle);
    let cpu = cpu_time() - cpu0;
    if watch.try_recv().is_some() {
        return Err("an idle watch delivered something".into());
    }
    drop(watch);
    println!(
        "\nIdle watcher: {:.3} ms of CPU (all threads of the process) in {:.1} s",
        cpu.as_secs_f64() * 1e3,
        idle.as_secs_f64()
    );
    Ok(())
}
