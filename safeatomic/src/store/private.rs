//! Items the `#[derive(Persisted)]` expansion names. Not public API: they
//! may change in any release.

pub use crate::checksum::digest::Algorithm;
pub use crate::error::Error;
pub use crate::format::Format;
pub use crate::store::persisted::{MigrationStep, OldValue, Persisted, Schema};
pub use core::marker::PhantomData;
pub use core::option::Option;
pub use core::result::Result;
pub use serde::Serialize;
pub use serde::de::DeserializeOwned;
pub use std::path::Path;
pub use std::string::{String, ToString};

/// Autoref specialisation: `(&&DefaultProbe::<T>(PhantomData)).__safeatomic_default()`
/// is `Some(T::default())` when `T: Default` and `None` otherwise, decided
/// at the derive site where `T` is a concrete type. (Two `&`: the methods
/// take `&self`, so `ViaDefault`'s receiver is `&&DefaultProbe<T>` and is
/// tried before `ViaNone`'s `&DefaultProbe<T>`.)
pub struct DefaultProbe<T>(pub PhantomData<T>);

/// Picked when `T: Default` (its receiver is `&&DefaultProbe<T>`).
pub trait ViaDefault<T> {
    /// `Some(T::default())`.
    fn __safeatomic_default(&self) -> Option<T>;
}

impl<T: Default> ViaDefault<T> for &DefaultProbe<T> {
    fn __safeatomic_default(&self) -> Option<T> {
        Some(T::default())
    }
}

/// The fallback, one auto-deref further.
pub trait ViaNone<T> {
    /// `None`.
    fn __safeatomic_default(&self) -> Option<T>;
}

impl<T> ViaNone<T> for DefaultProbe<T> {
    fn __safeatomic_default(&self) -> Option<T> {
        None
    }
}

/// Adapts a validation function's error to the trait's `String`.
pub fn validation_message<E: core::fmt::Display>(result: Result<(), E>) -> Result<(), String> {
    result.map_err(|e| e.to_string())
}

/// A file of an older version read as that version's type `V` and
/// converted to `T` (the derive's `migrate_from`), with what `V` read.
///
/// # Errors
///
/// The format's error when the file is not a `V`.
pub fn read_as<V, T>(
    format: Format,
    bytes: &[u8],
    path: &Path,
    convert: fn(V) -> T,
) -> Result<(T, OldValue), Error>
where
    V: DeserializeOwned + Serialize,
{
    let op = crate::error::Operation::Store;
    let old: V = crate::format::decode(format, bytes, path, op)?;
    let node = crate::lossless::node::capture(&old).map_err(|e| {
        Error::new(crate::error::ErrorKind::Schema, op, "migrate", path).with_detail(e.to_string())
    })?;
    Ok((convert(old), OldValue(node)))
}
