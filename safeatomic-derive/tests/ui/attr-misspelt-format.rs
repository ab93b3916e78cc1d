// A misspelt `format` is reported as unknown, and not also as missing.
use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(fromat = "json")]
struct Config {
    name: String,
}

fn main() {}
