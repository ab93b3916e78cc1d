use safeatomic::Store;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
struct Config {
    volume: u8,
}

fn main() {
    let _ = Store::<Config>::open("config.json");
}
