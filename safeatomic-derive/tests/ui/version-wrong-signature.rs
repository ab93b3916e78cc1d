use safeatomic::{Migration, Persisted};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", version = 2, migrate = [v1_to_v2])]
struct Config {
    level: u8,
}

fn v1_to_v2(m: &mut Migration) -> Result<(), String> {
    let _ = m;
    Ok(())
}

fn main() {}
