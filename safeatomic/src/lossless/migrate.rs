//! A file's data on its way from an older schema version to the type's
//! (docs/decisions/0012-schema-versions-and-migrations.md): what a
//! migration step edits, with one-line operations for the common changes.

use super::view::View;
use crate::format::Format;
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use std::fmt;

/// The data of a file being migrated, as one step of
/// `#[persisted(version = N, migrate = [...])]` sees it: the document's
/// keys and values (every key, those the type no longer knows included),
/// without its comments or layout, which the store keeps where the data is
/// unchanged when it writes the migrated file.
///
/// Paths are dotted keys from the top level: `"display.page_size"`. Every
/// operation is idempotent where it can be: renaming or moving a key that
/// is no longer there does nothing, so that a step can run again on data it
/// already changed.
///
/// # Examples
///
/// ```
/// use safeatomic::{Migration, MigrationError, Persisted, Store};
/// # use serde::{Deserialize, Serialize};
/// #[derive(Clone, Debug, Default, Serialize, Deserialize, Persisted)]
/// #[persisted(format = "toml", version = 2, migrate = [v1_to_v2])]
/// struct Config {
///     level: u8,
///     display: Display,
/// }
/// # #[derive(Clone, Debug, Default, Serialize, Deserialize)]
/// # struct Display { page_size: u32, theme: String }
///
/// /// Version 1 had `volume` and a top-level `page_size`.
/// fn v1_to_v2(m: &mut Migration) -> Result<(), MigrationError> {
///     m.rename("volume", "level")?;
///     m.move_to("page_size", "display.page_size")?;
///     m.set_default("display.theme", "dark")?;
///     Ok(())
/// }
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("config.toml");
/// std::fs::write(&path, "volume = 3\npage_size = 20\n")?; // a version 1 file
/// let config = Store::<Config>::open(&path)?.load()?;
/// assert_eq!((config.level, config.display.page_size), (3, 20));
/// assert_eq!(config.display.theme, "dark");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Migration {
    data: View,
    format: Format,
    /// The renames made, in order: the document's editor makes them as
    /// renames (keeping the keys' comments), not as removals and
    /// insertions.
    renames: Vec<Rename>,
}

/// A key renamed in its table.
#[derive(Debug, Clone)]
pub(crate) struct Rename {
    /// The table's path from the top level.
    pub(crate) table: Vec<String>,
    pub(crate) from: String,
    pub(crate) to: String,
}

/// Why a migration step failed: the store then loads nothing and writes
/// nothing ([`ErrorKind::Schema`](crate::ErrorKind::Schema), naming the
/// file and the step).
///
/// # Examples
///
/// ```
/// use safeatomic::{Migration, MigrationError};
/// fn v1_to_v2(m: &mut Migration) -> Result<(), MigrationError> {
///     let Some(port) = m.get::<u16>("port")? else {
///         return Err(MigrationError::new("version 1 files always have a port"));
///     };
///     m.set("listen", format!("0.0.0.0:{port}"))?;
///     m.remove("port")?;
///     Ok(())
/// }
/// # let _ = v1_to_v2;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationError {
    message: String,
}

impl MigrationError {
    /// An error with this message.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = safeatomic::MigrationError::new("no port");
    /// assert_eq!(e.to_string(), "no port");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MigrationError {}

/// A dotted path's keys.
fn keys(path: &str) -> Result<Vec<&str>, MigrationError> {
    let keys: Vec<&str> = path.split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(MigrationError::new(format!(
            "`{path}` is not a dotted path of keys"
        )));
    }
    Ok(keys)
}

fn entries_mut<'v>(
    view: &'v mut View,
    path: &str,
) -> Result<&'v mut Vec<(View, View)>, MigrationError> {
    match view {
        View::Map(entries) => Ok(entries),
        _ => Err(MigrationError::new(format!("`{path}` is not a table"))),
    }
}

fn position(entries: &[(View, View)], key: &str) -> Option<usize> {
    entries
        .iter()
        .position(|(k, _)| matches!(k, View::Str(s) if s == key))
}

impl Migration {
    pub(crate) fn new(data: View, format: Format) -> Self {
        Self {
            data,
            format,
            renames: Vec::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn into_data(self) -> View {
        self.data
    }

    /// The migrated data and the renames made on the way.
    pub(crate) fn into_parts(self) -> (View, Vec<Rename>) {
        (self.data, self.renames)
    }

    /// The top-level value of `key`: `None` when absent, `Some(None)` when
    /// it is not a version number (an integer from 1).
    pub(crate) fn version(&self, key: &str) -> Option<Option<u32>> {
        let View::Map(entries) = &self.data else {
            return None;
        };
        let (_, value) = &entries[position(entries, key)?];
        Some(match value {
            View::Int(n) => u32::try_from(*n).ok().filter(|n| *n >= 1),
            _ => None,
        })
    }

    /// Sets the top-level `key` to `version`, in its place, or last (a
    /// file's opening comment stays where it is).
    pub(crate) fn stamp(&mut self, key: &str, version: u32) {
        if let View::Map(entries) = &mut self.data {
            let value = View::Int(version.into());
            match position(entries, key) {
                Some(i) => entries[i].1 = value,
                None => entries.push((View::Str(key.to_owned()), value)),
            }
        }
    }

    /// The file's format.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Format, Migration, MigrationError};
    /// fn step(m: &mut Migration) -> Result<(), MigrationError> {
    ///     if m.format() == Format::Toml { /* TOML has no null */ }
    ///     Ok(())
    /// }
    /// # let _ = step;
    /// ```
    pub fn format(&self) -> Format {
        self.format
    }

    /// The value at `path`, if there is one, as a `T`.
    ///
    /// # Errors
    ///
    /// When the value is there but is not a `T`, or `path` goes through
    /// something that is not a table.
    ///
    /// # Examples
    ///
    /// See [`MigrationError`].
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, MigrationError> {
        let mut here = &self.data;
        for key in keys(path)? {
            let View::Map(entries) = here else {
                return Err(MigrationError::new(format!(
                    "`{path}` is not inside a table"
                )));
            };
            match position(entries, key) {
                Some(i) => here = &entries[i].1,
                None => return Ok(None),
            }
        }
        let value = serde_json::to_value(here)
            .map_err(|e| MigrationError::new(format!("`{path}`: {e}")))?;
        T::deserialize(value)
            .map(Some)
            .map_err(|e| MigrationError::new(format!("`{path}`: {e}")))
    }

    /// Sets the value at `path`, creating the tables on the way; an
    /// existing key keeps its place, a new one goes last in its table.
    ///
    /// # Errors
    ///
    /// When `path` goes through something that is not a table, or `value`
    /// cannot be written as data.
    ///
    /// # Examples
    ///
    /// See [`MigrationError`].
    pub fn set(&mut self, path: &str, value: impl Serialize) -> Result<(), MigrationError> {
        let value = to_view(path, &value)?;
        self.put(path, value, true).map(drop)
    }

    /// Sets the value at `path` if there is none (a new required field's
    /// value for files that predate it); returns whether it did.
    ///
    /// # Errors
    ///
    /// As [`set`](Migration::set).
    ///
    /// # Examples
    ///
    /// See [`Migration`].
    pub fn set_default(
        &mut self,
        path: &str,
        value: impl Serialize,
    ) -> Result<bool, MigrationError> {
        let value = to_view(path, &value)?;
        self.put(path, value, false)
    }

    /// Removes the value at `path`; returns whether there was one.
    ///
    /// # Errors
    ///
    /// When `path` goes through something that is not a table.
    ///
    /// # Examples
    ///
    /// See [`MigrationError`].
    pub fn remove(&mut self, path: &str) -> Result<bool, MigrationError> {
        Ok(self.take(path)?.is_some())
    }

    /// Renames the key at `path` to `new_name`, in its table and at its
    /// place. Nothing happens when the key is not there.
    ///
    /// # Errors
    ///
    /// When the table already has `new_name`.
    ///
    /// # Examples
    ///
    /// See [`Migration`].
    pub fn rename(&mut self, path: &str, new_name: &str) -> Result<(), MigrationError> {
        let keys = keys(path)?;
        let (last, parents) = keys.split_last().expect("a path has a key");
        let Some(table) = self.table_mut(parents, path)? else {
            return Ok(());
        };
        let Some(at) = position(table, last) else {
            return Ok(());
        };
        if position(table, new_name).is_some() {
            return Err(MigrationError::new(format!(
                "cannot rename `{path}`: `{new_name}` is already there"
            )));
        }
        table[at].0 = View::Str(new_name.to_owned());
        self.renames.push(Rename {
            table: parents.iter().map(|k| (*k).to_owned()).collect(),
            from: (*last).to_owned(),
            to: new_name.to_owned(),
        });
        Ok(())
    }

    /// Moves the value at `from` to `to` (creating the tables on the way,
    /// last in its new table). Nothing happens when `from` is not there.
    ///
    /// # Errors
    ///
    /// When `to` already has a value, or a path goes through something that
    /// is not a table.
    ///
    /// # Examples
    ///
    /// See [`Migration`].
    pub fn move_to(&mut self, from: &str, to: &str) -> Result<(), MigrationError> {
        if !self.contains(from)? {
            return Ok(());
        }
        if self.contains(to)? {
            return Err(MigrationError::new(format!(
                "cannot move `{from}` to `{to}`: it already has a value"
            )));
        }
        if let Some(value) = self.take(from)? {
            self.put(to, value, true)?;
        }
        Ok(())
    }

    /// Changes the value at `path` from an `A` to a `B` (a type change:
    /// seconds as a number to a duration string, a string to a list).
    /// Nothing happens when there is no value.
    ///
    /// # Errors
    ///
    /// When the value is not an `A`, or `B` cannot be written as data.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Migration, MigrationError};
    /// fn v2_to_v3(m: &mut Migration) -> Result<(), MigrationError> {
    ///     m.convert("timeout", |seconds: u64| format!("{seconds}s"))
    /// }
    /// # let _ = v2_to_v3;
    /// ```
    pub fn convert<A, B>(
        &mut self,
        path: &str,
        f: impl FnOnce(A) -> B,
    ) -> Result<(), MigrationError>
    where
        A: DeserializeOwned,
        B: Serialize,
    {
        match self.get::<A>(path)? {
            Some(old) => self.set(path, f(old)),
            None => Ok(()),
        }
    }

    fn contains(&self, path: &str) -> Result<bool, MigrationError> {
        Ok(self.get::<serde::de::IgnoredAny>(path)?.is_some())
    }

    /// The table at `parents` (`None`: a key on the way is missing).
    fn table_mut(
        &mut self,
        parents: &[&str],
        path: &str,
    ) -> Result<Option<&mut Vec<(View, View)>>, MigrationError> {
        let mut here = entries_mut(&mut self.data, path)?;
        for key in parents {
            let Some(i) = position(here, key) else {
                return Ok(None);
            };
            here = entries_mut(&mut here[i].1, path)?;
        }
        Ok(Some(here))
    }

    fn take(&mut self, path: &str) -> Result<Option<View>, MigrationError> {
        let keys = keys(path)?;
        let (last, parents) = keys.split_last().expect("a path has a key");
        let Some(table) = self.table_mut(parents, path)? else {
            return Ok(None);
        };
        Ok(position(table, last).map(|i| table.remove(i).1))
    }

    /// Puts `value` at `path` (replacing one there only if `replace`);
    /// returns whether it did.
    fn put(&mut self, path: &str, value: View, replace: bool) -> Result<bool, MigrationError> {
        let keys = keys(path)?;
        let (last, parents) = keys.split_last().expect("a path has a key");
        let mut here = entries_mut(&mut self.data, path)?;
        for key in parents {
            let i = match position(here, key) {
                Some(i) => i,
                None => {
                    here.push((View::Str((*key).to_owned()), View::Map(Vec::new())));
                    here.len() - 1
                }
            };
            here = entries_mut(&mut here[i].1, path)?;
        }
        match position(here, last) {
            Some(i) if replace => here[i].1 = value,
            Some(_) => return Ok(false),
            None => here.push((View::Str((*last).to_owned()), value)),
        }
        Ok(true)
    }
}

fn to_view(path: &str, value: &impl Serialize) -> Result<View, MigrationError> {
    let value =
        serde_json::to_value(value).map_err(|e| MigrationError::new(format!("`{path}`: {e}")))?;
    View::deserialize(value).map_err(|e| MigrationError::new(format!("`{path}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(json: &str) -> Migration {
        Migration::new(serde_json::from_str(json).unwrap(), Format::Json)
    }

    fn json(m: Migration) -> String {
        serde_json::to_string(&m.into_data()).unwrap()
    }

    #[test]
    fn the_common_changes_are_one_line_each_and_idempotent() {
        let mut m = data(r#"{"volume": 3, "page_size": 20, "timeout": 5, "x": 1}"#);
        for _ in 0..2 {
            m.rename("volume", "level").unwrap();
            m.move_to("page_size", "display.page_size").unwrap();
            m.set_default("display.theme", "dark").unwrap();
        }
        m.convert("timeout", |s: u64| format!("{s}s")).unwrap();
        assert_eq!(
            json(m),
            r#"{"level":3,"timeout":"5s","x":1,"display":{"page_size":20,"theme":"dark"}}"#
        );
    }

    #[test]
    fn conflicts_and_wrong_types_are_errors() {
        let mut m = data(r#"{"a": 1, "b": 2, "t": "x"}"#);
        assert!(m.rename("a", "b").is_err());
        assert!(m.move_to("a", "b").is_err());
        assert!(m.get::<u8>("t").is_err());
        assert!(m.set("t.inner", 1).is_err(), "`t` is no table");
        assert_eq!(m.get::<u8>("missing.deep").unwrap(), None);
        assert!(m.get::<u8>("a..b").is_err());
        assert!(m.remove("a").unwrap());
        assert!(!m.remove("a").unwrap());
        assert!(!m.set_default("b", 9).unwrap());
        assert_eq!(m.get::<u8>("b").unwrap(), Some(2));
    }
}
