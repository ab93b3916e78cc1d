use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", version = 1)]
struct Tuple(u8, u8);

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", version = 1)]
#[serde(deny_unknown_fields)]
struct Strict {
    level: u8,
}

fn main() {}
