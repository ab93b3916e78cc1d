//! The `atomic_<format>_dump` / `atomic_<format>_load` helpers: a serde
//! value written to a file as a whole document through the one write
//! protocol, or read back, in each format whose feature is on. They write
//! whole documents (not the lossless updates a `Store` may make).

// Without any format feature, the plumbing below has no user.
#![cfg_attr(
    not(any(feature = "json", feature = "yaml", feature = "toml", feature = "ron")),
    allow(dead_code, unused_imports)
)]

use crate::error::{Operation, Result};
use crate::format::{Format, decode, encode};
use crate::options::WriteOptions;
use crate::read::{ReadOptions, read_atomic_with};
use crate::write::write_atomic_with;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Writes `value` to `path` in `format`, with `options` (the one write protocol).
pub(crate) fn dump<T: Serialize>(
    format: Format,
    path: &Path,
    value: &T,
    options: &WriteOptions,
) -> Result<()> {
    let bytes = encode(format, value, path, Operation::Write)?;
    write_atomic_with(path, bytes, options)
}

/// Reads and parses `path` in `format`, with `options` (verification etc.).
pub(crate) fn load<T: DeserializeOwned>(
    format: Format,
    path: &Path,
    options: &ReadOptions,
) -> Result<T> {
    let bytes = read_atomic_with(path, options)?;
    decode(format, &bytes, path, Operation::Read)
}

/// Generates the four public helpers of one format.
macro_rules! helpers {
    ($feature:literal, $format:expr, $name:literal, $ext:literal,
     $dump:ident, $dump_with:ident, $load:ident, $load_with:ident) => {
        #[doc = concat!("Writes `value` to `path` as ", $name, ", atomically and durably (as [`write_atomic`](crate::write_atomic)).")]
        ///
        /// The whole document is written, replacing the file's comments,
        /// layout and any keys `value` lacks. A [`Store`](crate::Store)
        /// edits the file's document instead, changing only what changed.
        ///
        /// # Errors
        ///
        /// [`ErrorKind::Format`](crate::ErrorKind::Format) when the value
        /// cannot be serialized (nothing written); otherwise as
        /// [`write_atomic`](crate::write_atomic).
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("use safeatomic::{", stringify!($dump), ", ", stringify!($load), "};")]
        /// use std::collections::BTreeMap;
        /// # let dir = tempfile::tempdir()?;
        #[doc = concat!("let path = dir.path().join(\"settings.", $ext, "\");")]
        /// let mut settings = BTreeMap::new();
        /// settings.insert("theme".to_string(), "dark".to_string());
        #[doc = concat!(stringify!($dump), "(&path, &settings)?;")]
        #[doc = concat!("let back: BTreeMap<String, String> = ", stringify!($load), "(&path)?;")]
        /// assert_eq!(back, settings);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        #[cfg(feature = $feature)]
        pub fn $dump<T: Serialize>(path: impl AsRef<Path>, value: &T) -> Result<()> {
            dump($format, path.as_ref(), value, &WriteOptions::new())
        }

        #[doc = concat!("Like [`", stringify!($dump), "`], with explicit [`WriteOptions`](crate::WriteOptions) (lock, checksum, mode …).")]
        ///
        /// # Errors
        ///
        #[doc = concat!("As [`", stringify!($dump), "`].")]
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("use safeatomic::{Algorithm, WriteOptions, ", stringify!($dump_with), "};")]
        /// # let dir = tempfile::tempdir()?;
        /// let opts = WriteOptions::new().checksum(Some(Algorithm::Sha256));
        #[doc = concat!(stringify!($dump_with), "(dir.path().join(\"s.", $ext, "\"), &[(\"a\", 1)].into_iter().collect::<std::collections::BTreeMap<_, _>>(), &opts)?;")]
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        #[cfg(feature = $feature)]
        pub fn $dump_with<T: Serialize>(
            path: impl AsRef<Path>,
            value: &T,
            options: &WriteOptions,
        ) -> Result<()> {
            dump($format, path.as_ref(), value, options)
        }

        #[doc = concat!("Reads and parses `path` as ", $name, " (one consistent version, as [`read_atomic`](crate::read_atomic)).")]
        ///
        /// # Errors
        ///
        /// [`ErrorKind::Format`](crate::ErrorKind::Format) when the content
        /// cannot be parsed (or is not UTF-8), with
        /// [`Error::location`](crate::Error::location) giving the 1-based line
        /// and column (in characters) of the problem; otherwise as
        /// [`read_atomic`](crate::read_atomic).
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("use safeatomic::{ErrorKind, ", stringify!($load), "};")]
        /// use std::collections::BTreeMap;
        /// # let dir = tempfile::tempdir()?;
        #[doc = concat!("let path = dir.path().join(\"settings.", $ext, "\");")]
        #[doc = concat!("let err = ", stringify!($load), "::<BTreeMap<String, String>>(&path).unwrap_err();")]
        /// assert_eq!(err.kind(), ErrorKind::NotFound);
        /// std::fs::write(&path, "{{{{")?; // not valid in any format
        #[doc = concat!("let err = ", stringify!($load), "::<BTreeMap<String, String>>(&path).unwrap_err();")]
        /// assert_eq!(err.kind(), ErrorKind::Format);
        /// assert!(err.location().is_some()); // 1-based (line, column)
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        #[cfg(feature = $feature)]
        pub fn $load<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T> {
            load($format, path.as_ref(), &ReadOptions::new())
        }

        #[doc = concat!("Like [`", stringify!($load), "`], with explicit [`ReadOptions`](crate::ReadOptions) (e.g. checksum verification).")]
        ///
        /// # Errors
        ///
        #[doc = concat!("As [`", stringify!($load), "`], and the checksum kinds of [`read_atomic_verified`](crate::read_atomic_verified) when verifying.")]
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("use safeatomic::{Algorithm, ReadOptions, WriteOptions, ", stringify!($dump_with), ", ", stringify!($load_with), "};")]
        /// # let dir = tempfile::tempdir()?;
        #[doc = concat!("let path = dir.path().join(\"v.", $ext, "\");")]
        /// let value: std::collections::BTreeMap<String, u32> = [("n".to_string(), 7)].into_iter().collect();
        #[doc = concat!(stringify!($dump_with), "(&path, &value, &WriteOptions::new().checksum(Some(Algorithm::Sha256)))?;")]
        #[doc = concat!("let back: std::collections::BTreeMap<String, u32> = ", stringify!($load_with), "(&path, &ReadOptions::new().verify(true))?;")]
        /// assert_eq!(back, value);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        #[cfg(feature = $feature)]
        pub fn $load_with<T: DeserializeOwned>(
            path: impl AsRef<Path>,
            options: &ReadOptions,
        ) -> Result<T> {
            load($format, path.as_ref(), options)
        }
    };
}

helpers!(
    "json",
    Format::Json,
    "pretty-printed JSON",
    "json",
    atomic_json_dump,
    atomic_json_dump_with,
    atomic_json_load,
    atomic_json_load_with
);
helpers!(
    "yaml",
    Format::Yaml,
    "YAML",
    "yaml",
    atomic_yaml_dump,
    atomic_yaml_dump_with,
    atomic_yaml_load,
    atomic_yaml_load_with
);
helpers!(
    "toml",
    Format::Toml,
    "TOML (the value must be a table)",
    "toml",
    atomic_toml_dump,
    atomic_toml_dump_with,
    atomic_toml_load,
    atomic_toml_load_with
);
helpers!(
    "ron",
    Format::Ron,
    "pretty-printed RON",
    "ron",
    atomic_ron_dump,
    atomic_ron_dump_with,
    atomic_ron_load,
    atomic_ron_load_with
);
