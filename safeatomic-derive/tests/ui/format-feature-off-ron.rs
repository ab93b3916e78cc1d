// The UI tests build safeatomic without its `ron` feature.
use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "ron", checksum)]
enum Mode {
    Fast,
    Careful { retries: u32 },
}

fn main() {}
