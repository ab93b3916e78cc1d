//! `#[derive(Persisted)]`: declares how a type is stored by a
//! [`safeatomic::Store`](https://docs.rs/safeatomic/latest/safeatomic/struct.Store.html).
//!
//! Use it through `safeatomic` (feature `derive`, on by default), not
//! directly: `use safeatomic::Persisted;` brings both the trait and the
//! derive. The type must also implement `Serialize`, `Deserialize`, `Clone`,
//! `Send`, `Sync` and be `'static`, the supertraits of the trait.
//!
//! ```
//! use safeatomic::{Algorithm, Format, Persisted};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
//! #[persisted(format = "toml", checksum, validate = Settings::check)]
//! struct Settings {
//!     port: u16,
//!     name: String,
//! }
//!
//! impl Settings {
//!     fn check(&self) -> Result<(), String> {
//!         if self.port == 0 {
//!             return Err("port 0 is not a port".to_owned());
//!         }
//!         Ok(())
//!     }
//! }
//!
//! assert_eq!(Settings::FORMAT, Format::Toml);
//! assert_eq!(Settings::CHECKSUM, Some(Algorithm::Sha256));
//! assert_eq!(
//!     Settings { port: 0, name: "x".into() }.validate(),
//!     Err("port 0 is not a port".to_owned()),
//! );
//! assert!(Settings::default_value().is_some()); // Settings: Default
//! ```
//!
//! Everything is said in one `#[persisted(...)]` attribute on the type (it
//! may be split over several; a key given twice is an error):
//!
//! | key | value | default | what it sets |
//! |---|---|---|---|
//! | [`format`](#format) | `"json"`, `"yaml"`, `"toml"` or `"ron"` | required | `Persisted::FORMAT` |
//! | [`checksum`](#checksum) | nothing, `"sha256"` or `"sha512"` | no sidecar | `Persisted::CHECKSUM` |
//! | [`validate`](#validate) | a path to a `fn(&Self) -> Result<(), E>`, `E: Display` | accept every value | `Persisted::validate` |
//! | [`version`](#version-version_key-migrate) | an integer from 1 | no version in the files | `Persisted::SCHEMA` |
//! | [`version_key`](#version-version_key-migrate) | a string literal | `"schema_version"` | the key holding it |
//! | [`migrate`](#version-version_key-migrate) | `[step, …]`, `version - 1` paths to `fn(&mut Migration) -> Result<(), MigrationError>` | none | the steps from version 1 up |
//! | [`migrate_from`](#version-version_key-migrate) | `[V1, …]`, the types of versions 1 to `version - 1`, each `From` the one before (`Self: From<last>`) | none | older versions as Rust types (RON) |
//! | [`crate`](#crate) | a path, as a string literal | `"::safeatomic"` | where the generated code finds safeatomic |
//!
//! `Persisted::default_value` is not an attribute: it is
//! `Some(Self::default())` when the type implements `Default`, and `None`
//! otherwise ([below](#default-value)).
//!
//! # `format`
//!
//! `format = "json" | "yaml" | "toml" | "ron"`, required: the file format.
//! Each format is a cargo feature of safeatomic with the same name (`json`
//! is on by default); naming a format whose feature is off is a compile
//! error that points at the format and names the feature to turn on.
//!
//! ```
//! # use safeatomic::{Format, Persisted};
//! # use serde::{Deserialize, Serialize};
//! #[derive(Clone, Serialize, Deserialize, Persisted)]
//! #[persisted(format = "json")]
//! enum Mode {
//!     Fast,
//!     Careful { retries: u32 },
//! }
//!
//! assert_eq!(Mode::FORMAT, Format::Json);
//! ```
//!
//! A TOML document is a table, so `format = "toml"` needs a struct with
//! named fields or an enum serde writes as a table, with its variant under
//! a key (`#[serde(tag = "…")]`, internally or adjacently tagged); on any
//! other enum, a tuple struct or a unit struct it is a compile error.
//!
//! ```
//! # use safeatomic::{Format, Persisted};
//! # use serde::{Deserialize, Serialize};
//! #[derive(Clone, Serialize, Deserialize, Persisted)]
//! #[persisted(format = "toml")]
//! #[serde(tag = "backend")]
//! enum Storage {
//!     Local { path: String },
//!     S3 { bucket: String, region: String },
//! }
//!
//! assert_eq!(Storage::FORMAT, Format::Toml);
//! ```
//!
//! # `checksum`
//!
//! `checksum` alone, or `checksum = "sha256" | "sha512"`: the store writes a
//! checksum sidecar (`<file>.sha256`, `<file>.sha512`, in the format of
//! `sha256sum`) with every update and verifies it on every read. A bare
//! `checksum` is SHA-256. Without the key there is no sidecar.
//!
//! ```
//! # use safeatomic::{Algorithm, Persisted};
//! # use serde::{Deserialize, Serialize};
//! #[derive(Clone, Serialize, Deserialize, Persisted)]
//! #[persisted(format = "json", checksum = "sha512")]
//! struct Ledger {
//!     entries: Vec<i64>,
//! }
//!
//! assert_eq!(Ledger::CHECKSUM, Some(Algorithm::Sha512));
//! ```
//!
//! # `validate`
//!
//! `validate = path::to::check`, where `check` is a
//! `fn(&Self) -> Result<(), E>` and `E` implements `Display`: called before
//! every write, an `Err` refuses the value (nothing is written) and its
//! message becomes the store's validation error. An associated function
//! works (`validate = Self::check`), and so does a free function. The path
//! may also be given as a string literal (`validate = "check"`), as serde
//! does.
//!
//! ```
//! # use safeatomic::Persisted;
//! # use serde::{Deserialize, Serialize};
//! use std::fmt;
//!
//! #[derive(Debug)]
//! struct Inverted;
//!
//! impl fmt::Display for Inverted {
//!     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
//!         f.write_str("min must not exceed max")
//!     }
//! }
//!
//! fn ordered(range: &Range) -> Result<(), Inverted> {
//!     if range.min > range.max { Err(Inverted) } else { Ok(()) }
//! }
//!
//! #[derive(Clone, Serialize, Deserialize, Persisted)]
//! #[persisted(format = "json", validate = ordered)]
//! struct Range {
//!     min: i32,
//!     max: i32,
//! }
//!
//! assert_eq!(Range { min: 1, max: 2 }.validate(), Ok(()));
//! assert_eq!(
//!     Range { min: 2, max: 1 }.validate(),
//!     Err("min must not exceed max".to_owned()),
//! );
//! ```
//!
//! # `version`, `version_key`, `migrate`
//!
//! `version = N` writes the schema version at the top level of every file
//! (under `version_key`, default `schema_version`); a file without it is
//! version 1. `migrate = [v1_to_v2, …]` lists one step per version, from
//! 1 up: a missing or extra step is a compile error on the list, a function
//! of another type an error on the step. A store reads an older file
//! through the steps, in memory, and writes the migrated file with its
//! next update (docs/decisions/0012-schema-versions-and-migrations.md;
//! `safeatomic::Migration` has the one-line operations).
//!
//! ```
//! use safeatomic::{Migration, MigrationError, Persisted};
//! # use serde::{Deserialize, Serialize};
//! #[derive(Clone, Serialize, Deserialize, Persisted)]
//! #[persisted(format = "json", version = 2, migrate = [v1_to_v2])]
//! struct Prefs {
//!     level: u8,
//! }
//!
//! fn v1_to_v2(m: &mut Migration) -> Result<(), MigrationError> {
//!     m.rename("volume", "level")
//! }
//!
//! assert_eq!(Prefs::SCHEMA.unwrap().version(), 2);
//! ```
//!
//! The type must be a struct with named fields or a tagged enum (the
//! version is a key beside its fields) and must not
//! `#[serde(deny_unknown_fields)]` (it would refuse the key).
//!
//! RON's data read without its type does not say which enum variant a value
//! is, so RON files are migrated through the older versions' Rust types
//! instead: `migrate_from = [v1::Scene, v2::Scene]` reads a version 1 file
//! as a `v1::Scene` and converts it with `From` up to `Self`; what the old
//! type knew and the new one lacks is dropped, what neither knows is kept.
//! (`migrate_from` works for every format; `migrate` on a RON type is a
//! compile error that says so.)
//!
//! ```
//! use safeatomic::Persisted;
//! # use serde::{Deserialize, Serialize};
//! #[derive(Clone, Serialize, Deserialize)]
//! struct SceneV1 { volume: u8 }
//!
//! #[derive(Clone, Serialize, Deserialize, Persisted)]
//! #[persisted(format = "json", version = 2, migrate_from = [SceneV1])]
//! struct Scene { level: u8 }
//!
//! impl From<SceneV1> for Scene {
//!     fn from(v: SceneV1) -> Self { Scene { level: v.volume } }
//! }
//! # assert_eq!(Scene::SCHEMA.unwrap().version(), 2);
//! ```
//!
//! # `crate`
//!
//! `crate = "path::to::safeatomic"`: the generated code names everything of
//! safeatomic through `::safeatomic`; when the dependency is renamed in
//! `Cargo.toml` (`store = { package = "safeatomic", … }`) or safeatomic is
//! reached through another crate's re-export, give the path here. A bare
//! path (`crate = store`) is accepted too.
//!
//! ```
//! # use serde::{Deserialize, Serialize};
//! // Stands for `store = { package = "safeatomic", … }` in Cargo.toml.
//! use safeatomic as store;
//! use store::Persisted;
//!
//! #[derive(Clone, Serialize, Deserialize, Persisted)]
//! #[persisted(crate = "store", format = "json")]
//! struct Counter {
//!     n: u64,
//! }
//!
//! assert_eq!(Counter::FORMAT, store::Format::Json);
//! ```
//!
//! # Default value
//!
//! A store whose file does not exist yet starts from
//! `Persisted::default_value()`: the derive makes it `Some(Self::default())`
//! when the type implements `Default`, and `None` when it does not (loading
//! a missing file is then a `NotFound` error). There is nothing to write:
//! implement or derive `Default`, or don't.
//!
//! ```
//! # use safeatomic::Persisted;
//! # use serde::{Deserialize, Serialize};
//! #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
//! #[persisted(format = "json")]
//! struct Visits {
//!     count: u64,
//! }
//!
//! #[derive(Clone, Serialize, Deserialize, Persisted)]
//! #[persisted(format = "json")]
//! struct Identity {
//!     id: u128, // no sensible default: the file must exist
//! }
//!
//! assert_eq!(Visits::default_value().map(|v| v.count), Some(0));
//! assert!(Identity::default_value().is_none());
//! ```
//!
//! # Generic types
//!
//! A generic type gets an impl for the instances that satisfy the trait's
//! supertraits (`Self: Serialize + DeserializeOwned + Clone + Send + Sync +
//! 'static`), and its own `where` clauses are kept; no other bound is
//! added. `default_value()` is `None` unless the impl can prove
//! `Self: Default` from those bounds.
//!
//! # Errors
//!
//! Every mistake in the attributes is reported at once, each as one error
//! on the token at fault: an unknown or duplicate key, a value of the wrong
//! kind, an unknown format or algorithm, a missing `format`, a format whose
//! cargo feature is off, `format = "toml"` on a type that is not a table,
//! `#[persisted]` on a field or variant, and a union (no format stores
//! one). Next to its errors the derive still emits a placeholder impl of
//! the trait, so code that uses the type as `Persisted` does not add
//! "trait not implemented" errors for the same mistake.
//!
//! ```compile_fail
//! # use serde::{Deserialize, Serialize};
//! #[derive(Clone, Serialize, Deserialize, safeatomic::Persisted)]
//! #[persisted(format = "xml")] // unknown format "xml"; expected one of "json", "yaml", "toml", "ron"
//! struct Config {
//!     name: String,
//! }
//! ```

mod ast;
mod attr;
mod ctxt;
mod expand;
mod symbol;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `safeatomic::Persisted` as the type's `#[persisted(...)]`
/// attribute says.
///
/// # Examples
///
/// ```
/// use safeatomic::Persisted;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
/// #[persisted(format = "json", checksum)]
/// struct State {
///     runs: u64,
/// }
///
/// assert_eq!(State::FORMAT, safeatomic::Format::Json);
/// assert_eq!(State::CHECKSUM, Some(safeatomic::Algorithm::Sha256));
/// assert_eq!(State::default_value().map(|s| s.runs), Some(0));
/// ```
///
/// The keys are `format` (required), `checksum`, `validate` and `crate`;
/// the [crate documentation](crate) describes each.
#[proc_macro_derive(Persisted, attributes(persisted))]
pub fn derive_persisted(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
