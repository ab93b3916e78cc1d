//! The store from async code (issue #18): the worst gap of a 10 ms ticker
//! on a current-thread tokio runtime while an update waits for a lock that
//! `flock(1)` holds, with `AsyncStore::update` and with the blocking
//! `Store::update` called from the runtime (what a new user writes).

use crate::{BoxResult, Config, Opts, machine, stats, workdir};
use safeatomic::{AsyncStore, Store, is_locked, lock_file_path};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Which API the update goes through.
#[derive(Clone, Copy)]
enum Api {
    Async,
    Blocking,
}

/// One round: `flock(1)` holds the lock for `hold`; the update waits for it
/// while a 10 ms ticker runs on the same current-thread runtime. Returns
/// the ticker's worst gap and the update's wait (ms).
fn round(path: &Path, hold: Duration, api: Api) -> BoxResult<(f64, f64)> {
    let mut flock = Command::new("flock")
        .arg("-o")
        .arg(lock_file_path(path))
        .args(["sleep", &format!("{:.3}", hold.as_secs_f64())])
        .stdout(Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_locked(path)? {
        if Instant::now() > deadline {
            return Err("flock(1) never took the lock".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let result = rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = tokio::spawn({
            let stop = Arc::clone(&stop);
            async move {
                let mut interval = tokio::time::interval(Duration::from_millis(10));
                interval.tick().await;
                let (mut last, mut worst) = (Instant::now(), Duration::ZERO);
                while !stop.load(Ordering::Relaxed) {
                    interval.tick().await;
                    let now = Instant::now();
                    worst = worst.max(now - last);
                    last = now;
                }
                worst
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        let start = Instant::now();
        let updated = match api {
            Api::Async => {
                let store = AsyncStore::<Config>::open(path).await?;
                store.update(|c| c.counter += 1).await
            }
            Api::Blocking => Store::<Config>::open(path)?.update(|c| c.counter += 1),
        };
        let waited = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let worst = ticker.await?;
        updated?;
        BoxResult::Ok((worst.as_secs_f64() * 1e3, waited.as_secs_f64() * 1e3))
    });
    let _ = flock.kill();
    flock.wait()?;
    result
}

/// `safeatomic-bench async [--rounds N] [--seconds HOLD]`.
pub(crate) fn ticker(o: &Opts) -> BoxResult<()> {
    let dir = workdir(o)?;
    let path = dir.path().join("contended.json");
    let hold = Duration::from_secs_f64(o.seconds);
    let apis = [
        ("`AsyncStore::update`", Api::Async),
        ("`Store::update` called on the runtime", Api::Blocking),
    ];
    let mut samples = vec![Vec::new(); apis.len()];
    for _ in 0..o.rounds {
        for (i, (_, api)) in apis.iter().enumerate() {
            samples[i].push(round(&path, hold, *api)?);
        }
    }
    println!(
        "### A current-thread runtime's 10 ms ticker while an update waits {:.1} s for `flock(1)`, {} rounds\n",
        o.seconds, o.rounds
    );
    println!("{}\n", machine());
    println!("| update | worst tick gap (median, max) | update's wait (median) |\n|---|---|---|");
    for ((name, _), s) in apis.iter().zip(samples) {
        let (gap_med, _, gap_max) = stats(s.iter().map(|x| x.0).collect());
        let (wait_med, _, _) = stats(s.iter().map(|x| x.1).collect());
        println!("| {name} | {gap_med:.1} ms ({gap_max:.1} max) | {wait_med:.0} ms |");
    }
    Ok(())
}
