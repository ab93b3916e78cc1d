//! Items the `#[derive(Persisted)]` expansion names. Not public API: they
//! may change in any release.

pub use crate::checksum::digest::Algorithm;
pub use crate::format::Format;
pub use crate::store::persisted::{MigrationStep, Persisted, Schema};
pub use core::marker::PhantomData;
pub use core::option::Option;
pub use core::result::Result;
pub use serde::Serialize;
pub use serde::de::DeserializeOwned;
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
