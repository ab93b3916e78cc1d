use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", validate = check)]
struct Config {
    name: String,
}

fn check(name: &str) -> Result<(), String> {
    if name.is_empty() { Err("empty".to_owned()) } else { Ok(()) }
}

fn main() {}
