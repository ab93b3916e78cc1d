use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
struct Config {
    name: String,
}

fn main() {}
