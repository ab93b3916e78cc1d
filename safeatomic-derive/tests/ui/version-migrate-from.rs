use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
struct V1 {
    volume: u8,
}

// One older type for version 3: one short.
#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", version = 3, migrate_from = [V1])]
struct Short {
    level: u8,
}

// No `From<V1>` for it.
#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", version = 2, migrate_from = [V1])]
struct NoFrom {
    level: u8,
}

fn main() {}
