use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", validate = check)]
struct Config {
    name: String,
}

#[derive(Debug)]
struct Empty;

fn check(config: &Config) -> Result<(), Empty> {
    if config.name.is_empty() { Err(Empty) } else { Ok(()) }
}

fn main() {}
