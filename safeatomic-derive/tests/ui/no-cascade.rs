// After an attribute error the type still implements `Persisted` (a stub),
// so code that uses it as one adds no "trait not implemented" error.
use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, Persisted)]
#[persisted(format = "xml")]
struct Config {
    name: String,
}

fn format_of<T: Persisted>() -> safeatomic::Format {
    T::FORMAT
}

fn main() {
    let _ = format_of::<Config>();
}
