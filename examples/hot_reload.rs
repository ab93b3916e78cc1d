//! A program that hot-reloads its configuration: a thread watches the
//! config store (`Store::watch`, feature `watch`) and swaps in each new
//! value, whoever wrote it — another process's `update`, a person's editor
//! saving by rename, this process. An invalid edit is reported and the
//! program keeps its last good configuration until the file is fixed.
//!
//! Run with `cargo run --example hot_reload`. It works in a temporary
//! directory, and plays every writer itself (the other process is this
//! program, started again with `set-workers PATH N`), waiting for each
//! reload before the next edit, so its output is always the same.

use safeatomic::{Origin, Persisted, Store, write_atomic};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml", validate = check)]
struct AppConfig {
    log_level: String,
    workers: u32,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            log_level: "info".into(),
            workers: 4,
        }
    }
}

fn check(c: &AppConfig) -> Result<(), String> {
    if c.workers == 0 {
        return Err("workers must be at least 1".into());
    }
    Ok(())
}

fn show(c: &AppConfig) -> String {
    format!("log_level = {}, workers = {}", c.log_level, c.workers)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, path, n] = args.as_slice()
        && command == "set-workers"
    {
        // The other process: one update of the same store.
        let n: u32 = n.parse()?;
        Store::<AppConfig>::open(path)?.update(|c| c.workers = n)?;
        return Ok(());
    }

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("app.toml");
    let store = Store::<AppConfig>::open(&path)?;
    store.replace(AppConfig::default())?;

    // The running configuration, which the program's workers would read.
    let current = Arc::new(RwLock::new(store.load_shared()?));
    println!("running with {}", show(&current.read().unwrap()));

    // The reloader: swaps in every new value, reports every bad edit.
    let watch = store.watch()?;
    let (said, hear) = mpsc::channel::<String>();
    let reloader = std::thread::spawn({
        let current = Arc::clone(&current);
        move || {
            for item in &watch {
                let line = match item {
                    Ok(change) => {
                        let from = match change.origin {
                            Origin::ThisProcess => "this process",
                            Origin::Elsewhere => "elsewhere",
                            _ => "somewhere",
                        };
                        let line = format!("reloaded ({from}): {}", show(&change.value));
                        *current.write().unwrap() = change.value;
                        line
                    }
                    Err(e) => format!(
                        "ignored an invalid edit ({:?}); still running with {}",
                        e.kind(),
                        show(&current.read().unwrap())
                    ),
                };
                if said.send(line).is_err() {
                    return; // main is done
                }
            }
        }
    });
    let wait = |what: &str| -> Result<(), Box<dyn std::error::Error>> {
        println!("{what}");
        let line = hear.recv_timeout(Duration::from_secs(30))?;
        println!("  {line}");
        Ok(())
    };

    // Another process updates the store.
    let me = std::env::current_exe()?;
    let status = std::process::Command::new(me)
        .args(["set-workers", path.to_str().ok_or("path")?, "8"])
        .status()?;
    assert!(status.success());
    wait("another process set workers = 8")?;

    // A person saves in an editor: a new file renamed over the old one.
    save_as_an_editor_does(&path, "log_level = \"debug\"\nworkers = 8\n")?;
    wait("an editor saved log_level = \"debug\"")?;

    // A typo: the program keeps running with what it has.
    save_as_an_editor_does(&path, "log_level = \"debug\"\nworkers = \"eight\"\n")?;
    wait("an editor saved workers = \"eight\"")?;
    save_as_an_editor_does(&path, "log_level = \"debug\"\nworkers = 0\n")?;
    wait("an editor saved workers = 0")?;

    // Fixed; then this process changes it too.
    save_as_an_editor_does(&path, "log_level = \"debug\"\nworkers = 2\n")?;
    wait("an editor saved workers = 2")?;
    store.update(|c| c.log_level = "warn".into())?;
    wait("this process set log_level = \"warn\"")?;

    // The same content again changes nothing: no reload.
    save_as_an_editor_does(&path, &std::fs::read_to_string(&path)?)?;
    match hear.recv_timeout(Duration::from_millis(300)) {
        Err(_) => println!("an editor saved the file unchanged: no reload"),
        Ok(line) => println!("unexpected: {line}"),
    }

    println!("finally running with {}", show(&current.read().unwrap()));
    drop(hear); // the reloader ends at its next item; the program exits anyway
    drop(reloader);
    Ok(())
}

/// Writes `text` to a new file beside `path` and renames it over `path`,
/// as vim and most editors save (here through `write_atomic`, which does
/// just that, durably).
fn save_as_an_editor_does(path: &Path, text: &str) -> Result<(), Box<dyn std::error::Error>> {
    write_atomic(path, text)?;
    Ok(())
}
