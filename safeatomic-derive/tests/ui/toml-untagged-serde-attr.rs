use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

// `tag` inside another item does not make the enum a table.
#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml")]
#[serde(rename_all = "lowercase", rename(serialize = "tag"))]
enum Mode {
    Fast,
    Careful { retries: u32 },
}

fn main() {}
