//! Where in a file's data a value does not fit its type: the path of the
//! field, found by decoding again through `serde_path_to_error` (only
//! after a decode failed, so that a successful load pays nothing).

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use std::cell::RefCell;

thread_local! {
    /// Where the last [`Tracked`] decode on this thread failed.
    static FAILED_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// `T`, deserialized through `serde_path_to_error`, which notes where it
/// failed (the format's own deserializer does the rest, as for `T`).
pub(super) struct Tracked<T>(#[allow(dead_code)] T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Tracked<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut track = serde_path_to_error::Track::new();
        let result = T::deserialize(serde_path_to_error::Deserializer::new(d, &mut track));
        if result.is_err() {
            let path = track.path().to_string();
            FAILED_AT.with(|at| *at.borrow_mut() = Some(path));
        }
        result.map(Tracked)
    }
}

/// The path (`display.page_size`, `servers[2].port`) at which `decode`,
/// given [`Tracked`], fails; `None` for the root or when it does not fail.
pub(super) fn failed_at<T: DeserializeOwned, E>(
    decode: impl FnOnce() -> Option<Result<Tracked<T>, E>>,
) -> Option<String> {
    FAILED_AT.with(|at| at.borrow_mut().take());
    match decode() {
        Some(Err(_)) => FAILED_AT
            .with(|at| at.borrow_mut().take())
            .filter(|path| path != "."),
        _ => None,
    }
}
