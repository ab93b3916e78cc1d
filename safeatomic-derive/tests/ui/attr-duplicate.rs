use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum, format = "toml")]
struct Config {
    name: String,
}

fn main() {}
