use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(checksum, validate = check)]
struct Config {
    name: String,
}

fn check(_: &Config) -> Result<(), String> {
    Ok(())
}

fn main() {}
