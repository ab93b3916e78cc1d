// Every attribute at once, checked at run time.
use safeatomic::{Algorithm, Format, Persisted};
use serde::{Deserialize, Serialize};
use std::fmt;

// A renamed dependency, as `sa = { package = "safeatomic", … }` would make.
use safeatomic as sa;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml", checksum = "sha512", validate = in_range, crate = "sa")]
struct Settings {
    port: u16,
    name: String,
}

#[derive(Debug)]
struct OutOfRange(u16);

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port {} is reserved", self.0)
    }
}

fn in_range(settings: &Settings) -> Result<(), OutOfRange> {
    if settings.port < 1024 {
        return Err(OutOfRange(settings.port));
    }
    Ok(())
}

// The attribute split over several, a bare `checksum`, `validate` as an
// associated function written in a string literal, and an enum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
#[persisted(checksum, validate = "Self::check")]
enum Mode {
    Fast,
    Careful { retries: u32 },
}

impl Mode {
    fn check(&self) -> Result<(), String> {
        match self {
            Mode::Careful { retries: 0 } => Err("careful with no retries".to_owned()),
            _ => Ok(()),
        }
    }
}

fn main() {
    assert_eq!(Settings::FORMAT, Format::Toml);
    assert_eq!(Settings::CHECKSUM, Some(Algorithm::Sha512));
    assert_eq!(
        Settings { port: 80, name: "web".into() }.validate(),
        Err("port 80 is reserved".to_owned()),
    );
    assert_eq!(Settings { port: 8080, name: "web".into() }.validate(), Ok(()));
    assert_eq!(Settings::default_value(), Some(Settings::default()));

    assert_eq!(Mode::FORMAT, Format::Json);
    assert_eq!(Mode::CHECKSUM, Some(Algorithm::Sha256));
    assert_eq!(Mode::Fast.validate(), Ok(()));
    assert_eq!(
        Mode::Careful { retries: 0 }.validate(),
        Err("careful with no retries".to_owned()),
    );
    assert_eq!(Mode::default_value(), None);
}
