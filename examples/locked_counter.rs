//! Read-modify-write without lost updates: four threads increment a counter
//! file under the cooperative lock; the result is exact.
//!
//! Run with `cargo run --example locked_counter`. Run it from several
//! terminals at once with a shared path (`cargo run --example locked_counter
//! /tmp/counter`) to see processes exclude each other too.

use safeatomic::{
    acquire_lock, inspect_lock, read_atomic_to_string, write_atomic, write_atomic_locked,
};
use std::path::{Path, PathBuf};

fn increment(path: &Path) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    let guard = acquire_lock(path, None)?;
    let n: u64 = match read_atomic_to_string(path) {
        Ok(text) => text.trim().parse()?,
        Err(e) if e.kind() == safeatomic::ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    write_atomic_locked(&guard, (n + 1).to_string())?;
    guard.release()?;
    Ok(n + 1)
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let temp = tempfile::tempdir()?;
    let path: PathBuf = match std::env::args_os().nth(1) {
        Some(p) => p.into(),
        None => {
            let p = temp.path().join("counter");
            write_atomic(&p, "0")?;
            p
        }
    };
    let start: u64 = read_atomic_to_string(&path).map_or(0, |t| t.trim().parse().unwrap_or(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(
                move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                    for _ in 0..250 {
                        increment(&path)?;
                    }
                    Ok(())
                },
            )
        })
        .collect();
    for t in threads {
        t.join().expect("thread panicked")?;
    }
    let end: u64 = read_atomic_to_string(&path)?.trim().parse()?;
    println!(
        "counter went from {start} to {end} ({} increments)",
        end - start
    );
    let info = inspect_lock(&path)?;
    println!(
        "lock file {} held now: {}",
        info.lock_path.display(),
        info.held
    );
    Ok(())
}
