use safeatomic::{Migration, MigrationError, Persisted};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", version = 3, migrate = [v1_to_v2])]
struct Config {
    level: u8,
}

fn v1_to_v2(m: &mut Migration) -> Result<(), MigrationError> {
    m.rename("volume", "level")
}

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", version = 2)]
struct NoSteps {
    level: u8,
}

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", version = 1, migrate = [v1_to_v2])]
struct ExtraStep {
    level: u8,
}

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", version_key = "v", migrate = [v1_to_v2])]
struct NoVersion {
    level: u8,
}

fn main() {}
