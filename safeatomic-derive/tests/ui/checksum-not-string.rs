use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum = true)]
struct Config {
    name: String,
}

fn main() {}
