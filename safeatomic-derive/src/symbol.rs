//! The attribute names the derive recognises, as constants.

use std::fmt::{self, Display};
use syn::Path;

/// An attribute name: the `persisted` in `#[persisted(...)]` or a key inside it.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Symbol(&'static str);

/// `#[persisted(...)]`, the derive's one attribute.
pub(crate) const PERSISTED: Symbol = Symbol("persisted");
/// `format = "json"`: the file format.
pub(crate) const FORMAT: Symbol = Symbol("format");
/// `checksum` or `checksum = "sha512"`: the checksum sidecar.
pub(crate) const CHECKSUM: Symbol = Symbol("checksum");
/// `validate = path::to::fn`: checked before every write.
pub(crate) const VALIDATE: Symbol = Symbol("validate");
/// `crate = "path"`: where the safeatomic facade is.
pub(crate) const CRATE: Symbol = Symbol("crate");
/// `version = N`: the schema version of the type's files.
pub(crate) const VERSION: Symbol = Symbol("version");
/// `version_key = "…"`: the key holding it (default `schema_version`).
pub(crate) const VERSION_KEY: Symbol = Symbol("version_key");
/// `migrate = [v1_to_v2, …]`: the steps from version 1 up.
pub(crate) const MIGRATE: Symbol = Symbol("migrate");
/// `migrate_from = [v1::T, …]`: the types of the older versions.
pub(crate) const MIGRATE_FROM: Symbol = Symbol("migrate_from");

/// Every key of `#[persisted(...)]`, in the order error messages list them.
pub(crate) const KEYS: [Symbol; 8] = [
    FORMAT,
    CHECKSUM,
    VALIDATE,
    VERSION,
    VERSION_KEY,
    MIGRATE,
    MIGRATE_FROM,
    CRATE,
];

impl Symbol {
    /// The name as written in the source.
    pub(crate) fn as_str(self) -> &'static str {
        self.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl PartialEq<Symbol> for &Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl Display for Symbol {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.0)
    }
}
