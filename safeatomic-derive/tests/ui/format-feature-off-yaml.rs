// The UI tests build safeatomic without its `yaml` feature.
use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "yaml")]
struct Config {
    name: String,
}

fn main() {}
