//! Locks: read-modify-write without lost updates. Four threads increment a
//! counter file under the cooperative lock and the result is exact; then a
//! held lock is shown from the outside: `try_acquire_lock` gets `None`,
//! `inspect_lock` sees the holder, and the holder writes with
//! `write_atomic_locked`.
//!
//! Run with `cargo run --example locked_counter`. Run it from several
//! terminals at once with a shared path (`cargo run --example locked_counter
//! /tmp/counter`) to see processes exclude each other too.

use safeatomic::{
    ErrorKind, LockOptions, acquire_lock, acquire_lock_with, inspect_lock, is_stale_lock,
    read_atomic_to_string, try_acquire_lock, write_atomic, write_atomic_locked,
};
use std::path::{Path, PathBuf};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const THREADS: u64 = 4;
const INCREMENTS: u64 = 250;

/// One read-modify-write: the lock is held from before the read until after
/// the durable write, so no other incrementer can slip in between.
fn increment(path: &Path) -> Result<u64, BoxError> {
    let guard = acquire_lock(path, None)?; // waits (asleep in the kernel) if held
    let n: u64 = match read_atomic_to_string(path) {
        Ok(text) => text.trim().parse()?,
        Err(e) if e.kind() == ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    write_atomic_locked(&guard, (n + 1).to_string())?; // the write under our lock
    guard.release()?; // or let it drop
    Ok(n + 1)
}

fn read_counter(path: &Path) -> Result<u64, BoxError> {
    match read_atomic_to_string(path) {
        Ok(text) => Ok(text.trim().parse()?),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn main() -> Result<(), BoxError> {
    let temp = tempfile::tempdir()?;
    let path: PathBuf = match std::env::args_os().nth(1) {
        Some(p) => p.into(),
        None => {
            let p = temp.path().join("counter");
            write_atomic(&p, "0")?;
            p
        }
    };

    // 1. Contending threads: every increment is kept.
    let start = read_counter(&path)?;
    std::thread::scope(|s| -> Result<(), BoxError> {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| -> Result<(), BoxError> {
                    for _ in 0..INCREMENTS {
                        increment(&path)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().expect("thread panicked")?;
        }
        Ok(())
    })?;
    let end = read_counter(&path)?;
    println!("== {THREADS} threads x {INCREMENTS} increments");
    println!(
        "counter went from {start} to {end} ({} increments)",
        end - start
    );

    // 2. A held lock, seen from the outside. Each acquisition has its own
    //    open file description, so a second attempt in the same process is
    //    excluded exactly like one from another process.
    println!("\n== a held lock");
    let opts = LockOptions::new().session("example-job-42"); // only its hash is stored
    let guard = acquire_lock_with(&path, &opts)?;
    let lock_file = guard.lock_path().to_owned();
    println!("holding {}", name(&lock_file));

    match try_acquire_lock(&path)? {
        None => println!("try_acquire_lock while held: None (it does not wait)"),
        Some(_) => return Err("try_acquire_lock succeeded while the lock was held".into()),
    }

    // inspect_lock reads the holder's payload (pid, host, session hash,
    // when it was taken) and asks the kernel whether the lock is held. The
    // pid, host and time differ on every run, so only their presence is
    // printed here.
    let info = inspect_lock(&path)?;
    println!("inspect_lock: exists {}, held {}", info.exists, info.held);
    println!(
        "  pid is ours: {}; host given: {}; session hash given: {}; age known: {}",
        info.pid == Some(std::process::id()),
        info.hostname.is_some(),
        info.session_hash.is_some(),
        info.age.is_some()
    );

    // The holder writes under the lock it already has.
    let n = read_counter(&path)?;
    write_atomic_locked(&guard, (n + 1000).to_string())?;
    guard.release()?;
    println!("holder added 1000: counter is {}", read_counter(&path)?);

    // After release: free, payload cleared, nothing stale. The lock file
    // itself stays (removing it would break exclusion for waiters).
    let info = inspect_lock(&path)?;
    println!(
        "after release: exists {}, held {}, pid {:?}, stale {}",
        info.exists,
        info.held,
        info.pid,
        is_stale_lock(&path)?
    );
    match try_acquire_lock(&path)? {
        Some(g) => {
            println!("try_acquire_lock when free: acquired");
            g.release()?;
        }
        None => println!("try_acquire_lock when free: held by another process"),
    }
    Ok(())
}

/// The file name only: the temporary directory differs on every run.
fn name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
