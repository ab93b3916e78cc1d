//! Derived store types shared by the tests and `sa-child`.

use safeatomic::Persisted;
use serde::{Deserialize, Serialize};

/// A counter stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
pub struct JsonCounter {
    /// The count.
    pub n: u64,
}

/// A counter stored as YAML.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "yaml")]
pub struct YamlCounter {
    /// The count.
    pub n: u64,
}

/// A counter stored as TOML.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml")]
pub struct TomlCounter {
    /// The count.
    pub n: u64,
}

/// A counter stored as RON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "ron")]
pub struct RonCounter {
    /// The count.
    pub n: u64,
}

/// A JSON counter with a SHA-256 sidecar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum)]
pub struct CheckedCounter {
    /// The count.
    pub n: u64,
}

/// A TOML settings file with a SHA-256 sidecar, which people also edit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml", checksum)]
pub struct CheckedSettings {
    /// How loud.
    pub volume: u64,
    /// Shown in the title bar.
    pub name: String,
}

/// [`CheckedSettings`] at schema version 2: version 1 called `volume`
/// `vol` ([`rename_vol`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml", checksum, version = 2, migrate = [crate::types::rename_vol])]
pub struct MigratedSettings {
    /// How loud.
    pub volume: u64,
    /// Shown in the title bar.
    pub name: String,
}

/// Version 1 to 2 of [`MigratedSettings`].
///
/// # Errors
///
/// When the file already has a `volume` beside its `vol`.
pub fn rename_vol(m: &mut safeatomic::Migration) -> Result<(), safeatomic::MigrationError> {
    m.rename("vol", "volume")
}

/// [`CheckedCounter`] at schema version 2: a version 1 file is one that
/// `Store::<CheckedCounter>` wrote (no version key); the step only makes
/// sure `n` is there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum, version = 2, migrate = [crate::types::counter_v1_to_v2])]
pub struct VersionedCounter {
    /// The count.
    pub n: u64,
}

/// Version 1 to 2 of [`VersionedCounter`].
///
/// # Errors
///
/// When `n` is there but not a number.
pub fn counter_v1_to_v2(m: &mut safeatomic::Migration) -> Result<(), safeatomic::MigrationError> {
    m.set_default("n", 0).map(drop)
}

/// A RON counter at schema version 2 whose version 1 ([`RonCounterV1`])
/// called `n` `count`: migrated through the old type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "ron", checksum, version = 2, migrate_from = [crate::types::RonCounterV1])]
pub struct RonMigrated {
    /// The count.
    pub n: u64,
}

/// Version 1 of [`RonMigrated`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RonCounterV1 {
    /// The count, as version 1 named it.
    pub count: u64,
}

impl From<RonCounterV1> for RonMigrated {
    fn from(v: RonCounterV1) -> Self {
        RonMigrated { n: v.count }
    }
}

/// A value whose validation refuses `n > 10`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", validate = crate::types::at_most_ten)]
pub struct Limited {
    /// Must stay at most 10.
    pub n: u64,
}

/// The validation hook of [`Limited`].
pub fn at_most_ten(l: &Limited) -> Result<(), String> {
    if l.n > 10 {
        Err(format!("n = {} is more than 10", l.n))
    } else {
        Ok(())
    }
}

/// A type without `Default`: a missing file is an error, not a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml", checksum = "sha512")]
pub struct NoDefault {
    /// Some field.
    pub name: String,
}
