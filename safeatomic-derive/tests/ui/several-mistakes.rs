// Every mistake is reported, each once, in one compilation.
use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "xml", foo, checksum = "md5", validate = 42)]
struct Config {
    name: String,
}

fn main() {}
