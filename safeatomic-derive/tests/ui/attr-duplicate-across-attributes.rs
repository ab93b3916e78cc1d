use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum)]
#[persisted(checksum = "sha512")]
struct Config {
    name: String,
}

fn main() {}
