//! The `Persisted` trait: what a type stored in a [`Store`](crate::Store) declares.

use crate::checksum::digest::Algorithm;
use crate::format::Format;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A type that can live in a file managed by a [`Store`](crate::Store).
///
/// Usually derived: `#[derive(Persisted)]` with
/// `#[persisted(format = "toml", checksum, validate = path::to::fn)]` (see
/// the [derive's documentation](derive@crate::Persisted) for every
/// attribute). Implementing it by hand is fine too.
///
/// # Examples
///
/// ```
/// use safeatomic::{Format, Persisted};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Counter { n: u64 }
///
/// impl Persisted for Counter {
///     const FORMAT: Format = Format::Json;
///     fn validate(&self) -> Result<(), String> {
///         if self.n > 1_000_000 { Err("too large".into()) } else { Ok(()) }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a store's type: it does not implement `Persisted`",
    label = "a `Store` needs a `Persisted` type",
    note = "add `#[derive(Persisted)]` and `#[persisted(format = \"json\")]` (or \"yaml\", \"toml\", \"ron\") to `{Self}`, beside `Serialize`, `Deserialize` and `Clone`"
)]
pub trait Persisted: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The file format.
    const FORMAT: Format;

    /// The checksum sidecar algorithm, if the file has one: written with every
    /// update and verified on every read.
    const CHECKSUM: Option<Algorithm> = None;

    /// Checks a value before it is written: `Err` with a message refuses it
    /// (the update writes nothing and fails with
    /// [`ErrorKind::Validation`](crate::ErrorKind::Validation)).
    ///
    /// # Errors
    ///
    /// Whatever the type considers invalid, as a message.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// #[persisted(format = "json", validate = Self::check)]
    /// struct Limits { max: u32 }
    /// impl Limits {
    ///     fn check(&self) -> Result<(), String> {
    ///         if self.max == 0 { Err("max must be positive".into()) } else { Ok(()) }
    ///     }
    /// }
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::<Limits>::open(dir.path().join("limits.json"))?;
    /// let err = store.replace(Limits { max: 0 }).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Validation);
    /// assert!(!store.path().exists()); // nothing written
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// The value a store starts from when the file does not exist: the
    /// type's `Default`, if it has one (the derive provides this), else
    /// `None`, and loading a missing file fails with
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Persisted;
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// #[persisted(format = "json")]
    /// struct Visits { count: u64 }
    ///
    /// assert_eq!(Visits::default_value().map(|v| v.count), Some(0));
    /// ```
    fn default_value() -> Option<Self> {
        None
    }
}
