use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml")]
enum Mode {
    Fast,
    Careful { retries: u32 },
}

fn main() {}
