// Only `format`: no checksum, every value valid, and `default_value()`
// follows whether the type implements `Default`.
use safeatomic::{Format, Persisted};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
struct Identity {
    id: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
struct Visits {
    count: u64,
}

// A hand-written `Default` counts as much as a derived one.
impl Default for Visits {
    fn default() -> Self {
        Visits { count: 1 }
    }
}

fn main() {
    assert_eq!(Identity::FORMAT, Format::Json);
    assert_eq!(Identity::CHECKSUM, None);
    assert_eq!(Identity { id: 7 }.validate(), Ok(()));
    assert_eq!(Identity::default_value(), None);

    assert_eq!(Visits::default_value(), Some(Visits { count: 1 }));
}
