use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "xml")]
struct Config {
    name: String,
}

fn main() {}
