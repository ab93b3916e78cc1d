use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", validate = "not a path")]
struct Config {
    name: String,
}

fn main() {}
