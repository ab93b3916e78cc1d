//! The quickstart: write a file atomically and durably, read it back, stream
//! a larger one, and ask what the filesystem under it guarantees.
//!
//! Run with `cargo run --example quickstart [DIR]` (default: a fresh
//! temporary directory). File names are printed without their directory;
//! the filesystem line and the CrashDurability level depend on the machine.

use safeatomic::{
    AtomicWriter, ErrorKind, Guarantee, Persisted, Store, create_atomic, inspect_guarantees,
    read_atomic_to_string, write_atomic,
};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A typed value with its own file: JSON, with a checksum sidecar.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum)]
struct State {
    runs: u64,
    last_user: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temp;
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_owned()
        }
    };
    let config = dir.join("config.json");

    // 1. Replace a file: a reader sees the old or the new file, never a mix;
    //    when this returns, the new content survives a power cut.
    write_atomic(&config, r#"{"theme":"dark","volume":7}"#)?;
    println!("wrote     {}", name(&config));

    // 2. Read it back: one consistent version.
    let text = read_atomic_to_string(&config)?;
    println!("read back {text}");

    // 3. Stream a larger file; nothing is visible until commit.
    let log = dir.join("events.csv");
    let mut writer = AtomicWriter::create(&log)?;
    for i in 0..10_000 {
        writeln!(writer, "{i},event-{i}")?;
    }
    writer.commit()?;
    println!(
        "streamed  {} ({} bytes)",
        name(&log),
        std::fs::metadata(&log)?.len()
    );

    // 4. Publish only if absent: the second attempt is told it lost.
    let init = dir.join("init.json");
    create_atomic(&init, b"first")?;
    match create_atomic(&init, b"second") {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            println!("create    {} kept the first writer's content", name(&init));
        }
        other => return Err(format!("expected AlreadyExists, got {other:?}").into()),
    }

    // 5. A typed store: load (default when absent), update under the lock,
    //    committed atomically with its checksum sidecar.
    let store = Store::<State>::open(dir.join("state.json"))?;
    let runs = store.update(|s| {
        s.runs += 1;
        s.last_user = "quickstart".into();
        s.runs
    })?;
    println!(
        "store     {} now says runs = {runs} ({:?})",
        name(store.path()),
        store.load()?
    );

    // 6. What does this filesystem guarantee?
    let report = inspect_guarantees(&config)?;
    let env = report.environment();
    println!(
        "\nfilesystem {} ({}), mounted on {}",
        env.filesystem(),
        env.filesystem_class(),
        env.mount_point().unwrap_or("?")
    );
    for g in Guarantee::ALL {
        println!("  {:<22}{}", g.name(), report.level(g));
    }
    Ok(())
}

/// The file name only: the directory differs from run to run.
fn name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
