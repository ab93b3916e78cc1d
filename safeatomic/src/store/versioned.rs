//! Schema versions in a store's files
//! (docs/decisions/0012-schema-versions-and-migrations.md): a file's
//! version read from its data, an older file's data migrated in memory,
//! and what a commit owes to each.

use super::persisted::{Persisted, Schema};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::format;
use crate::lossless::migrate::Migration;
use crate::lossless::node::Node;
use crate::lossless::{self, Stamp};
use std::path::Path;
use std::sync::Arc;

/// Where a value read from a file stands against the type's schema.
#[derive(Clone, Debug)]
pub(super) enum Lineage {
    /// At the type's version (or unversioned).
    Current,
    /// Migrated in memory from version `from`: `original` is the file as
    /// it is on disk, kept as `<file>.v<from>.bak` when the migrated
    /// document is first written; `read_as`, for a schema whose older
    /// versions are Rust types, what that version's type read.
    Migrated {
        from: u32,
        original: Arc<[u8]>,
        read_as: Option<Arc<Node>>,
    },
    /// At a version above the type's: read, not written unless allowed.
    Newer(u32),
}

/// A file's value, the document a commit edits (the migrated one for an
/// older file) and its lineage.
pub(super) fn decode<T: Persisted>(bytes: Vec<u8>, path: &Path) -> Result<(T, Vec<u8>, Lineage)> {
    let op = Operation::Store;
    let Some(schema) = T::SCHEMA else {
        return Ok((
            format::decode(T::FORMAT, &bytes, path, op)?,
            bytes,
            Lineage::Current,
        ));
    };
    // Data that does not parse: the format's own error, with its location.
    let Some(data) = lossless::data_of(T::FORMAT, &bytes, path) else {
        let value = format::decode(T::FORMAT, &bytes, path, op)?;
        return Ok((value, bytes, Lineage::Current));
    };
    let mut migration = Migration::new(data, T::FORMAT);
    let version = match migration.version(schema.key()) {
        None => 1,
        Some(Some(version)) => version,
        Some(None) => {
            return Err(
                schema_error(path, "read the schema version").with_detail(format!(
                    "`{}` is not a schema version (an integer from 1)",
                    schema.key()
                )),
            );
        }
    };
    if version >= schema.version() {
        let value = format::decode(T::FORMAT, &bytes, path, op)?;
        let lineage = if version > schema.version() {
            Lineage::Newer(version)
        } else {
            Lineage::Current
        };
        return Ok((value, bytes, lineage));
    }
    if schema.is_typed() {
        let (value, old) = T::migrate_from(version, &bytes, path).unwrap_or_else(|| {
            Err(schema_error(path, "migrate")
                .with_detail(format!("the type has no migration from version {version}")))
        })?;
        // The document the commit edits carries the new version: RON's
        // merge writes it; the other formats' editors get it here, where
        // the data is edited like a migration's.
        let doc = if T::FORMAT == crate::format::Format::Ron {
            bytes.clone()
        } else {
            migration.stamp(schema.key(), schema.version());
            let (data, renames) = migration.into_parts();
            lossless::rewrite(T::FORMAT, &bytes, &data, &renames, path)?
        };
        let lineage = Lineage::Migrated {
            from: version,
            original: bytes.into(),
            read_as: Some(Arc::new(old.0)),
        };
        return Ok((value, doc, lineage));
    }
    migrate(&mut migration, schema, version, path)?;
    let (data, renames) = migration.into_parts();
    let migrated = lossless::rewrite(T::FORMAT, &bytes, &data, &renames, path)?;
    let value = format::decode(T::FORMAT, &migrated, path, op).map_err(|e| {
        let detail = format!("after migrating from version {version}: {e}");
        e.with_detail(detail)
    })?;
    let original = bytes.into();
    Ok((
        value,
        migrated,
        Lineage::Migrated {
            from: version,
            original,
            read_as: None,
        },
    ))
}

/// Runs the steps from `from` up to the schema's version.
fn migrate(migration: &mut Migration, schema: Schema, from: u32, path: &Path) -> Result<()> {
    for version in from..schema.version() {
        let step = schema
            .step(version)
            .expect("a schema has every step below its version");
        step(migration).map_err(|e| {
            schema_error(path, "migrate").with_detail(format!(
                "migrating from version {version} to {}: {e}",
                version + 1
            ))
        })?;
    }
    migration.stamp(schema.key(), schema.version());
    Ok(())
}

fn schema_error(path: &Path, step: &'static str) -> Error {
    Error::new(ErrorKind::Schema, Operation::Store, step, path)
}

/// The version a whole-document write of a file of this lineage carries:
/// the type's, or a newer file's own.
pub(super) fn stamp<T: Persisted>(lineage: &Lineage) -> Option<Stamp> {
    T::SCHEMA.map(|schema| Stamp {
        key: schema.key(),
        version: match lineage {
            Lineage::Newer(version) => *version,
            _ => schema.version(),
        },
    })
}
