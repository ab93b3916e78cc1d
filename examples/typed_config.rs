//! A TOML configuration file in the platform's config directory, as a
//! derived, checksummed, validated store.
//!
//! Run with `cargo run --example typed_config`. It uses
//! `$XDG_CONFIG_HOME/safeatomic-example/config.toml` (or
//! `~/.config/...`); set `XDG_CONFIG_HOME` to try it somewhere else. Its
//! output is the same on every first run (the test of the examples points
//! `XDG_CONFIG_HOME` at a fresh temporary directory); later runs continue
//! from what the previous one saved.

use safeatomic::{Persisted, Store};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml", checksum, validate = check_config)]
struct AppConfig {
    theme: String,
    volume: u8,
    recent_files: Vec<String>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            theme: "dark".into(),
            volume: 50,
            recent_files: Vec::new(),
        }
    }
}

/// Refuses values the application cannot use: nothing invalid is ever written.
fn check_config(c: &AppConfig) -> Result<(), String> {
    if c.volume > 100 {
        return Err(format!("volume {} is above 100", c.volume));
    }
    if !["dark", "light"].contains(&c.theme.as_str()) {
        return Err(format!("unknown theme {:?}", c.theme));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::<AppConfig>::open_in_config_dir("safeatomic-example", "config.toml")?;
    // Where the config directory is depends on the user: it is printed as
    // `<config dir>`.
    let config_dir = store
        .path()
        .parent()
        .and_then(Path::parent)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let show = |text: String| {
        if config_dir.is_empty() {
            text
        } else {
            text.replace(&config_dir, "<config dir>")
        }
    };
    println!("config file: {}", show(store.path().display().to_string()));

    let before = store.load()?;
    println!("loaded:      {before:?}");

    let volume = store.update(|c| {
        c.volume = (c.volume + 10).min(100);
        c.recent_files
            .push(format!("file-{}.txt", c.recent_files.len() + 1));
        c.recent_files.truncate(5);
        c.volume
    })?;
    println!("updated:     volume is now {volume}");

    // An invalid change is refused and nothing is written.
    match store.update(|c| c.theme = "neon".into()) {
        Err(e) if e.kind() == safeatomic::ErrorKind::Validation => {
            println!("refused:     {}", show(e.to_string()));
        }
        other => return Err(format!("expected a validation error, got {other:?}").into()),
    }

    println!("on disk:\n{}", std::fs::read_to_string(store.path())?);
    println!(
        "checksum ok: {}",
        safeatomic::verify_checksum(store.path())?
    );
    Ok(())
}
