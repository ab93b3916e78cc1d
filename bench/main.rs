//! Side-by-side benchmarks: contenders run interleaved (A B A B …) in one
//! process run, and results are reported as medians with min/max and ratios,
//! as markdown ready for `docs/benchmarks.md`.
//!
//! ```text
//! cargo run --release -p safeatomic-bench -- hash [--mib 1024] [--rounds 5] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- lock-wait [--seconds 1] [--rounds 3] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- lock-costs [--rounds 20] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- store [--rounds 200] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- writes [--rounds 40] [--syscalls] [--svg docs/benchmarks.svg] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- ablation [--rounds 400] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- sqlite [--rounds 30] [--big] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- compare --baseline OLD_BINARY [--rounds 5] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- watch [--rounds 1000] [--seconds 5] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- async [--rounds 5] [--seconds 1] [--dir DIR]
//! cargo run --release -p safeatomic-bench -- smoke        # a few seconds, for CI
//! ```

use safeatomic::{Algorithm, Persisted, Store, acquire_lock, compute_hash_file, write_atomic};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod ablation;
mod asynchronous;
mod compare;
mod lossless;
mod sqlite;
mod watch;
mod writes;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A named contender: runs once and returns its time or rate.
type Contender<'a> = (&'static str, Box<dyn Fn() -> BoxResult<f64> + 'a>);

/// Command-line options shared by the benchmarks.
struct Opts {
    dir: Option<PathBuf>,
    /// Count syscalls per operation with strace (`writes --syscalls`).
    syscalls: bool,
    /// Operations per strace run when counting syscalls.
    syscall_ops: usize,
    /// Where `writes` draws its SVG chart (`--svg FILE`).
    svg: Option<PathBuf>,
    mib: u64,
    rounds: usize,
    seconds: f64,
}

fn parse_opts(args: &[String]) -> BoxResult<Opts> {
    let mut o = Opts {
        dir: None,
        syscalls: false,
        syscall_ops: 200,
        svg: None,
        mib: 1024,
        rounds: 5,
        seconds: 1.0,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--dir" => o.dir = Some(PathBuf::from(val()?)),
            "--mib" => o.mib = val()?.parse()?,
            "--rounds" => o.rounds = val()?.parse()?,
            "--seconds" => o.seconds = val()?.parse()?,
            "--syscalls" => o.syscalls = true,
            "--svg" => o.svg = Some(PathBuf::from(val()?)),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(o)
}

fn workdir(o: &Opts) -> BoxResult<tempfile::TempDir> {
    Ok(match &o.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => {
            tempfile::tempdir_in(std::env::var_os("TMPDIR").unwrap_or_else(|| "/var/tmp".into()))?
        }
    })
}

/// Median, min and max of a sample.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Runs contender `run(i)` for `i` in `0..n`, `rounds` times, and returns
/// each contender's timed samples (µs).
///
/// Each round visits the contenders in a fresh random order, and runs each
/// one `block` times in a row, timing all but the first. Why: an fsync
/// commits the whole filesystem's journal, so an operation that leaves
/// work behind (a lock payload blanked after the commit, the non-durable
/// reference's dirty data) makes whoever fsyncs next pay for it. A fixed or
/// rotating order always hands that bill to the same neighbour; here the
/// untimed first run of each block pays it, and the timed runs measure the
/// steady state of a program that writes the same way again and again.
fn interleaved(
    n: usize,
    rounds: usize,
    block: usize,
    mut run: impl FnMut(usize) -> BoxResult<()>,
) -> BoxResult<Vec<Vec<f64>>> {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64)
        | 1;
    let mut next = move || {
        // xorshift64*: plenty for shuffling benchmark order.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut samples = vec![Vec::with_capacity(rounds * block); n];
    let mut order: Vec<usize> = (0..n).collect();
    for _ in 0..rounds {
        for k in (1..n).rev() {
            order.swap(k, (next() % (k as u64 + 1)) as usize);
        }
        for &i in &order {
            run(i)?; // pays for whatever the previous contender left behind
            for _ in 1..block.max(2) {
                let start = Instant::now();
                run(i)?;
                samples[i].push(start.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    Ok(samples)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let sha_ni = std::fs::read_to_string("/proc/cpuinfo")
        .is_ok_and(|s| s.split_whitespace().any(|f| f == "sha_ni"));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".into(), |k| k.trim().to_owned());
    format!(
        "{cpu}, {} cores, SHA-NI {}, Linux {kernel}; run on {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if sha_ni { "yes" } else { "no" },
        today()
    )
}

/// Today's date (UTC), `YYYY-MM-DD`, for the reports.
fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

// ---------------------------------------------------------------- hash

/// Seconds taken by an external hashing command on `file`.
fn time_command(program: &str, args: &[&str], file: &Path) -> BoxResult<f64> {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .arg(file)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("{program} failed: {status}").into());
    }
    Ok(start.elapsed().as_secs_f64())
}

fn hash(o: &Opts) -> BoxResult<()> {
    let dir = workdir(o)?;
    let file = dir.path().join("data.bin");
    {
        let mut f = std::fs::File::create(&file)?;
        let mut chunk = vec![0u8; 1 << 20];
        for i in 0..o.mib {
            chunk[..8].copy_from_slice(&i.to_le_bytes());
            f.write_all(&chunk)?;
        }
        f.sync_all()?;
    }
    // Warm the page cache: every contender reads from memory, so the
    // comparison is of hashing, not of the disk.
    time_command("cat", &[], &file)?;
    let contenders: [Contender<'_>; 3] = [
        (
            "safeatomic::compute_hash_file (sha256)",
            Box::new(|| {
                let s = Instant::now();
                compute_hash_file(&file, Algorithm::Sha256)?;
                Ok(s.elapsed().as_secs_f64())
            }),
        ),
        (
            "openssl dgst -sha256",
            Box::new(|| time_command("openssl", &["dgst", "-sha256"], &file)),
        ),
        (
            "sha256sum",
            Box::new(|| time_command("sha256sum", &[], &file)),
        ),
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for _ in 0..o.rounds {
        for (i, (_, run)) in contenders.iter().enumerate() {
            samples[i].push(o.mib as f64 / run()?);
        }
    }
    let results: Vec<_> = samples.into_iter().map(stats).collect();
    let openssl = results[1].0;
    println!(
        "### Hashing a {} MiB file (page cache warm), {} rounds interleaved\n",
        o.mib, o.rounds
    );
    println!("Machine: {}\n", machine());
    println!("| contender | median MiB/s | min | max | ratio to openssl |\n|---|---|---|---|---|");
    for ((name, _), (med, min, max)) in contenders.iter().zip(&results) {
        println!(
            "| {name} | {med:.0} | {min:.0} | {max:.0} | {:.2}× |",
            med / openssl
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- lock wait

/// CPU time (user + system) this process has used so far
/// (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, nanosecond resolution).
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Child side: wait for the lock (with or without a timeout) and print the
/// CPU time the wait cost, in microseconds, and the wall time.
fn lock_wait_child(args: &[String]) -> BoxResult<()> {
    let path = Path::new(&args[0]);
    let timeout: Option<Duration> = match args[1].as_str() {
        "none" => None,
        ms => Some(Duration::from_millis(ms.parse()?)),
    };
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let g = acquire_lock(path, timeout)?;
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    drop(g);
    println!("{} {}", cpu.as_micros(), wall.as_micros());
    Ok(())
}

/// Nanoseconds on CLOCK_MONOTONIC: comparable between processes of one boot.
fn mono_ns() -> u128 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u128 * 1_000_000_000 + t.tv_nsec as u128
}

/// Child side of the hand-off: block on the lock, print when it was granted.
fn handoff_child(args: &[String]) -> BoxResult<()> {
    let path = Path::new(args.first().ok_or("path")?);
    println!("waiting");
    std::io::stdout().flush()?;
    let g = acquire_lock(path, None)?;
    let granted = mono_ns();
    drop(g);
    println!("{granted}");
    Ok(())
}

/// Uncontended acquire + release, and hand-off latency between processes.
fn lock_costs(o: &Opts) -> BoxResult<()> {
    let dir = workdir(o)?;
    let path = dir.path().join("locked");
    let n = 5_000;
    drop(acquire_lock(&path, None)?); // the lock file exists
    let start = Instant::now();
    for _ in 0..n {
        safeatomic::try_acquire_lock(&path)?
            .ok_or("contended")?
            .release()?;
    }
    let uncontended_us = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    let exe = std::env::current_exe()?;
    let mut handoff = Vec::new();
    for _ in 0..o.rounds.max(5) {
        let held = acquire_lock(&path, None)?;
        let mut child = Command::new(&exe)
            .arg("handoff-child")
            .arg(&path)
            .stdout(Stdio::piped())
            .spawn()?;
        let mut out = std::io::BufReader::new(child.stdout.take().ok_or("stdout")?);
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line)?; // "waiting"
        std::thread::sleep(Duration::from_millis(20)); // let it block in flock
        let released = mono_ns();
        drop(held);
        line.clear();
        std::io::BufRead::read_line(&mut out, &mut line)?;
        child.wait()?;
        let granted: u128 = line.trim().parse()?;
        handoff.push((granted.saturating_sub(released)) as f64 / 1000.0);
    }
    let (med, min, max) = stats(handoff);
    println!("### Lock costs\n");
    println!("| measure | value |\n|---|---|");
    println!(
        "| uncontended `try_acquire_lock` + `release` (mean of {n}) | {uncontended_us:.1} µs |"
    );
    println!(
        "| hand-off to a process blocked in `acquire_lock` (median, min–max of {}) | {med:.0} µs ({min:.0}–{max:.0}) |",
        o.rounds.max(5)
    );
    Ok(())
}

fn lock_wait(o: &Opts) -> BoxResult<()> {
    let dir = workdir(o)?;
    let path = dir.path().join("contended");
    let hold = Duration::from_secs_f64(o.seconds);
    let modes = [
        ("blocking, no timeout (kernel wait)", "none"),
        ("blocking with a 60 s timeout (polling back-off)", "60000"),
    ];
    let mut samples: Vec<Vec<(f64, f64)>> = vec![Vec::new(); modes.len()];
    let exe = std::env::current_exe()?;
    for _ in 0..o.rounds {
        for (i, (_, mode)) in modes.iter().enumerate() {
            let held = acquire_lock(&path, None)?;
            let child = Command::new(&exe)
                .arg("lock-wait-child")
                .arg(&path)
                .arg(mode)
                .stdout(Stdio::piped())
                .spawn()?;
            std::thread::sleep(hold);
            drop(held);
            let out = child.wait_with_output()?;
            if !out.status.success() {
                return Err("lock-wait child failed".into());
            }
            let text = String::from_utf8(out.stdout)?;
            let mut nums = text.split_whitespace().map(|n| n.parse::<f64>());
            let cpu_us = nums.next().ok_or("no cpu")??;
            let wall_us = nums.next().ok_or("no wall")??;
            samples[i].push((cpu_us, wall_us));
        }
    }
    println!(
        "### CPU used by a process waiting {:.1} s for a held lock, {} rounds\n",
        o.seconds, o.rounds
    );
    println!("| waiter | median CPU | max CPU | CPU / wall |\n|---|---|---|---|");
    for ((name, _), s) in modes.iter().zip(samples) {
        let (cpu_med, _, cpu_max) = stats(s.iter().map(|x| x.0).collect());
        let (wall_med, _, _) = stats(s.iter().map(|x| x.1).collect());
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.3} % |",
            cpu_med / 1000.0,
            cpu_max / 1000.0,
            100.0 * cpu_med / wall_med
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- store

/// A typical ~4 KiB configuration value.
#[derive(Clone, Default, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
pub(crate) struct Config {
    pub(crate) counter: u64,
    entries: Vec<(String, String)>,
}

pub(crate) fn config() -> Config {
    Config {
        counter: 0,
        entries: (0..56)
            .map(|i| {
                (
                    format!("key-{i:04}"),
                    format!("value-{i:04}-{}", "x".repeat(20)),
                )
            })
            .collect(),
    }
}

fn store(o: &Opts) -> BoxResult<()> {
    let dir = workdir(o)?;
    let path = dir.path().join("config.json");
    let store = Store::<Config>::open(&path)?;
    store.replace(config())?;
    let size = std::fs::metadata(&path)?.len();

    // load(): cache hit (the file is unchanged) — many calls, mean per call.
    let hits = 20_000;
    store.load()?;
    let start = Instant::now();
    for _ in 0..hits {
        std::hint::black_box(store.load()?);
    }
    let hit_us = start.elapsed().as_secs_f64() * 1e6 / hits as f64;

    // The same without the copy.
    let start = Instant::now();
    for _ in 0..hits {
        std::hint::black_box(store.load_shared()?);
    }
    let shared_us = start.elapsed().as_secs_f64() * 1e6 / hits as f64;

    // Its parts: one stat(2) of the path, one clone of the value.
    let start = Instant::now();
    for _ in 0..hits {
        std::hint::black_box(std::fs::metadata(&path)?);
    }
    let stat_us = start.elapsed().as_secs_f64() * 1e6 / hits as f64;
    let value = store.load()?;
    let start = Instant::now();
    for _ in 0..hits {
        std::hint::black_box(value.clone());
    }
    let clone_us = start.elapsed().as_secs_f64() * 1e6 / hits as f64;

    // load(): cache miss — a new store each time reads and parses the file.
    let misses = 2_000;
    let start = Instant::now();
    for _ in 0..misses {
        std::hint::black_box(Store::<Config>::open(&path)?.load()?);
    }
    let miss_us = start.elapsed().as_secs_f64() * 1e6 / misses as f64;

    // update() vs write_atomic of the same bytes, interleaved.
    let bytes = std::fs::read(&path)?;
    let raw = dir.path().join("raw.json");
    let (mut upd, mut wa) = (Vec::new(), Vec::new());
    for _ in 0..o.rounds {
        let s = Instant::now();
        // A real change: an update that changes nothing writes nothing.
        store.update(|c| c.counter = c.counter.wrapping_add(1))?;
        upd.push(s.elapsed().as_secs_f64() * 1e6);
        let s = Instant::now();
        write_atomic(&raw, &bytes)?;
        wa.push(s.elapsed().as_secs_f64() * 1e6);
    }
    let (u, umin, umax) = stats(upd);
    let (w, wmin, wmax) = stats(wa);
    println!(
        "### Store on a {size}-byte JSON value, {} interleaved rounds\n",
        o.rounds
    );
    println!("Machine: {}\n", machine());
    println!("| operation | median | min | max | ratio |\n|---|---|---|---|---|");
    println!(
        "| `write_atomic` (lock on) of the same bytes | {w:.0} µs | {wmin:.0} | {wmax:.0} | 1.00× |"
    );
    println!(
        "| `Store::update` | {u:.0} µs | {umin:.0} | {umax:.0} | {:.2}× |",
        u / w
    );
    println!("| `Store::load`, cache hit (mean of {hits}) | {hit_us:.2} µs | | | |");
    println!("| `Store::load_shared`, cache hit (mean of {hits}) | {shared_us:.2} µs | | | |");
    println!("| — `stat(2)` of the path alone | {stat_us:.2} µs | | | |");
    println!("| — cloning the value alone | {clone_us:.2} µs | | | |");
    println!(
        "| `Store::load`, cache miss: read + parse (mean of {misses}) | {miss_us:.1} µs | | | |"
    );
    Ok(())
}

fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        return Err(
            "usage: safeatomic-bench hash|lock-wait|lock-costs|store|lossless|sqlite|writes|ablation|watch|async|smoke [options]".into(),
        );
    };
    match cmd.as_str() {
        "hash" => hash(&parse_opts(rest)?),
        "lock-wait" => lock_wait(&parse_opts(rest)?),
        "lock-wait-child" => lock_wait_child(rest),
        "lock-costs" => lock_costs(&parse_opts(rest)?),
        "handoff-child" => handoff_child(rest),
        "store" => store(&parse_opts(rest)?),
        "lossless" => lossless::lossless(&parse_opts(rest)?),
        "sqlite-child" => sqlite::sqlite_child(rest),
        "store-workload" => compare::store_workload(rest),
        "compare" => {
            let at = rest
                .iter()
                .position(|a| a == "--baseline")
                .ok_or("compare needs --baseline OLD_BINARY")?;
            let baseline = PathBuf::from(rest.get(at + 1).ok_or("--baseline needs a value")?);
            let mut rest = rest.to_vec();
            rest.drain(at..=at + 1);
            compare::compare(&parse_opts(&rest)?, &baseline)
        }
        "sqlite" => {
            let big = rest.iter().any(|a| a == "--big");
            let rest: Vec<String> = rest.iter().filter(|a| *a != "--big").cloned().collect();
            sqlite::sqlite_bench(&parse_opts(&rest)?, big)
        }
        "writes" => {
            let o = parse_opts(rest)?;
            writes::writes(&o, o.svg.as_deref())
        }
        "write-n" => writes::write_n(rest),
        "ablation" => ablation::ablation(&parse_opts(rest)?),
        "watch" => watch::watch(&parse_opts(rest)?),
        "watch-writer" => watch::writer(rest),
        "async" => asynchronous::ticker(&parse_opts(rest)?),
        "smoke" => {
            let mut o = parse_opts(rest)?;
            (o.mib, o.rounds, o.seconds) = (16, 1, 0.1);
            hash(&o)?;
            lock_wait(&o)?;
            lock_costs(&o)?;
            o.rounds = 5;
            store(&o)?;
            o.rounds = 1;
            lossless::lossless(&o)?;
            sqlite::sqlite_bench(&o, false)?;
            // Against itself: the comparison of two builds runs end to end.
            compare::compare(&o, &std::env::current_exe()?)?;
            o.rounds = 2;
            ablation::ablation(&o)?;
            (o.rounds, o.seconds) = (20, 0.2);
            watch::watch(&o)?;
            (o.rounds, o.seconds) = (1, 0.3);
            asynchronous::ticker(&o)?;
            // The strace count and the chart too, so neither can rot.
            (o.syscalls, o.syscall_ops) = (true, 3);
            let chart = tempfile::NamedTempFile::new()?;
            writes::writes(&o, Some(chart.path()))?;
            let svg = std::fs::read_to_string(chart.path())?;
            if !svg.contains("<svg") || !svg.contains("floor") {
                return Err("smoke: the chart was not drawn".into());
            }
            Ok(())
        }
        other => Err(format!("unknown benchmark {other}").into()),
    }
}
