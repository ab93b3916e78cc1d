//! A TOML configuration file in the platform's config directory, as a
//! derived, checksummed, validated store.
//!
//! Run with `cargo run --example typed_config`. It uses
//! `$XDG_CONFIG_HOME/safeatomic-example/config.toml` (or
//! `~/.config/...`); set `XDG_CONFIG_HOME` to try it somewhere else.

use safeatomic::{Persisted, Store};
use serde::{Deserialize, Serialize};

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
    println!("config file: {}", store.path().display());

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
        Err(e) if e.kind() == safeatomic::ErrorKind::Validation => println!("refused:     {e}"),
        other => return Err(format!("expected a validation error, got {other:?}").into()),
    }

    println!("on disk:\n{}", std::fs::read_to_string(store.path())?);
    println!(
        "checksum ok: {}",
        safeatomic::verify_checksum(store.path())?
    );
    Ok(())
}
