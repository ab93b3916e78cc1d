//! The `Persisted` trait: what a type stored in a [`Store`](crate::Store) declares.

use crate::checksum::digest::Algorithm;
use crate::error::Result as StoreResult;
use crate::format::Format;
use crate::lossless::migrate::{Migration, MigrationError};
use crate::lossless::node::Node;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

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

    /// The schema version of the type's files and the steps that bring an
    /// older file up to it (`#[persisted(version = N, migrate = [...])]`);
    /// `None`: the files carry no version.
    const SCHEMA: Option<Schema> = None;

    /// For a schema whose older versions are Rust types
    /// ([`Schema::typed`], `#[persisted(migrate_from = [...])]`): a file
    /// at version `from`, read as that version's type and converted to
    /// `Self`, with the old value. `None` for any other `from`. Written by
    /// the derive.
    #[doc(hidden)]
    fn migrate_from(from: u32, bytes: &[u8], path: &Path) -> Option<StoreResult<(Self, OldValue)>> {
        let _ = (from, bytes, path);
        None
    }

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

/// One migration step: the data of a file at version `n`, edited in place
/// to version `n + 1` (see [`Migration`]).
pub type MigrationStep = fn(&mut Migration) -> Result<(), MigrationError>;

/// A type's schema version, the key that holds it at the top level of its
/// files, and the steps from version 1 up
/// (docs/decisions/0012-schema-versions-and-migrations.md). Usually made by
/// the derive: `#[persisted(version = 3, migrate = [v1_to_v2, v2_to_v3])]`.
///
/// # Examples
///
/// ```
/// use safeatomic::{Format, Migration, MigrationError, Persisted, Schema};
/// # use serde::{Deserialize, Serialize};
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Config { level: u8 }
///
/// fn v1_to_v2(m: &mut Migration) -> Result<(), MigrationError> {
///     m.rename("volume", "level")
/// }
///
/// impl Persisted for Config {
///     const FORMAT: Format = Format::Json;
///     const SCHEMA: Option<Schema> = Some(Schema::new(2, "schema_version", &[v1_to_v2]));
/// }
/// assert_eq!(Config::SCHEMA.unwrap().version(), 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    version: u32,
    key: &'static str,
    steps: &'static [MigrationStep],
    /// The older versions are Rust types ([`Persisted::migrate_from`]).
    typed: bool,
}

/// What an older version's type read from a file, as the store compares
/// it with the new value (the fields it knew and the new one lacks are
/// dropped; the others the file has are kept). Made by the derive.
#[doc(hidden)]
#[derive(Debug)]
pub struct OldValue(pub(crate) Node);

impl Schema {
    /// The schema at `version` (1 or more), written under `key`, with the
    /// `version - 1` steps from version 1 up, in order.
    ///
    /// # Panics
    ///
    /// When `version` is 0, `key` is empty, or there are not exactly
    /// `version - 1` steps: in a `const`, a compile error.
    ///
    /// # Examples
    ///
    /// See [`Schema`].
    pub const fn new(version: u32, key: &'static str, steps: &'static [MigrationStep]) -> Self {
        assert!(version >= 1, "schema versions start at 1");
        assert!(!key.is_empty(), "the schema version key is empty");
        assert!(
            steps.len() as u64 == version as u64 - 1,
            "a schema at version N has N - 1 migration steps"
        );
        Self {
            version,
            key,
            steps,
            typed: false,
        }
    }

    /// A schema at `version` whose older versions are Rust types, each
    /// converted to the next with `From` (for RON, whose data read without
    /// its type cannot be migrated as data): see the derive's
    /// `migrate_from`.
    ///
    /// # Panics
    ///
    /// As [`Schema::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let schema = safeatomic::Schema::typed(2, "schema_version");
    /// assert_eq!(schema.version(), 2);
    /// ```
    pub const fn typed(version: u32, key: &'static str) -> Self {
        assert!(version >= 1, "schema versions start at 1");
        assert!(!key.is_empty(), "the schema version key is empty");
        Self {
            version,
            key,
            steps: &[],
            typed: true,
        }
    }

    /// Whether the older versions are Rust types.
    pub(crate) fn is_typed(&self) -> bool {
        self.typed
    }

    /// The current version: what new files are written at.
    ///
    /// # Examples
    ///
    /// See [`Schema`].
    pub const fn version(&self) -> u32 {
        self.version
    }

    /// The top-level key holding the version.
    ///
    /// # Examples
    ///
    /// ```
    /// let schema = safeatomic::Schema::new(1, "schema_version", &[]);
    /// assert_eq!(schema.key(), "schema_version");
    /// ```
    pub const fn key(&self) -> &'static str {
        self.key
    }

    /// The step from version `from` to `from + 1`.
    pub(crate) fn step(&self, from: u32) -> Option<MigrationStep> {
        let index = usize::try_from(from.checked_sub(1)?).ok()?;
        self.steps.get(index).copied()
    }
}
