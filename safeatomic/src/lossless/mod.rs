//! Lossless updates: a store's commit changes only what changed in the
//! value, in the file's own document, so that comments, key order,
//! formatting and keys the program does not know survive, and an update
//! that changes nothing writes nothing (docs/design.md, "Store protocol",
//! step *plan*).
//!
//! The old value (as read from the document) and the new one are
//! captured as serde sees them ([`node`]), written in the format and read
//! back as [`view::View`]s: exactly what the format makes of each. Their
//! [`diff::diff`] is a list of ops, which a format's editor applies to
//! the document ([`diff::apply_with`]: the ops' meaning is defined once,
//! on views). The patched text is only used when it reads back as
//! expected: its data is the document's with the ops applied, and the
//! type reads from it exactly the new value. Otherwise the document's
//! data with the ops applied is written afresh (unknown keys and key
//! order kept, comments lost), and if even that does not read back as
//! the new value (a type whose `Deserialize` does not accept what its
//! `Serialize` wrote, a key spelled by an alias), the new value is written
//! whole. Each fallback is logged at `warn` level.
//!
//! RON has no format-preserving editor; [`ron`] merges the new value into
//! the document's structure instead.

pub(crate) mod diff;
pub(crate) mod migrate;
pub(crate) mod node;
pub(crate) mod view;

#[cfg(feature = "fuzzing")]
pub mod fuzz;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "ron")]
mod ron;
#[cfg(feature = "toml")]
mod toml;
#[cfg(feature = "yaml")]
mod yaml;

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::format::{self, Format};
use node::Node;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use view::View;

/// What a commit writes.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The new value is the old one: nothing to write.
    Unchanged,
    /// Write these bytes, made this way; the memo describes them (`None`
    /// when they were not read back as views).
    Write(Vec<u8>, How, Option<Memo>),
}

/// How the bytes of a commit were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    /// No document yet: the value in the format's canonical style.
    Fresh,
    /// The document, edited where the value changed.
    Patched,
    /// The document's data with the changes, written afresh: unknown keys
    /// and key order kept, comments and layout not.
    Merged,
    /// The new value written whole (nothing of the document kept).
    Replaced,
}

/// What a commit learned about the bytes it wrote, so that the next
/// commit from them need not read them again: the views of its value and
/// of its document. Only valid together with those bytes and that value
/// (a store keeps it with them, in its cache).
#[derive(Debug)]
pub(crate) struct Memo {
    /// The view of the value committed: the next commit's old value.
    value: View,
    /// The view of the bytes written (checked: they read back as it).
    doc: View,
}

/// A schema version every whole-document write carries: the top-level key
/// and the version (docs/decisions/0012-schema-versions-and-migrations.md).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    pub(crate) key: &'static str,
    pub(crate) version: u32,
}

/// The file a commit starts from: its bytes, the value read from them,
/// and the memo of the commit that wrote them, when this process did.
pub(crate) struct Base<'a, T> {
    pub(crate) doc: &'a [u8],
    pub(crate) value: &'a T,
    pub(crate) memo: Option<&'a Memo>,
    /// What the document was read as, when that was not `value`: a file
    /// of an older schema version, read as that version's type (the fields
    /// it knew that the new value lacks are dropped, as a type's own are).
    pub(crate) read_as: Option<&'a Node>,
    /// The document is a migration not on disk yet: it is written even
    /// when the value is unchanged.
    pub(crate) migrated: bool,
}

/// What to write for `new`, given the document it replaces (`None`: there
/// is none, or it could not be read).
///
/// # Errors
///
/// [`ErrorKind::Format`] when `new` cannot be written in `format` at all.
pub(crate) fn plan<T: Serialize + DeserializeOwned>(
    format: Format,
    base: Option<Base<'_, T>>,
    new: &T,
    stamp: Option<Stamp>,
    path: &Path,
) -> Result<Outcome> {
    let whole = |node: &Node| match stamp {
        Some(Stamp { key, version }) => format::encode(
            format,
            &node.clone().stamped(key, version),
            path,
            Operation::Store,
        ),
        None => format::encode(format, node, path, Operation::Store),
    };
    let op = Operation::Store;
    let new_node = match node::capture(new) {
        Ok(mut n) => {
            n.normalize();
            n
        }
        // The type's own error, as the format reports it.
        Err(e) => {
            return Err(match format::encode(format, new, path, op) {
                Err(err) => err,
                Ok(_) => {
                    Error::new(ErrorKind::Format, op, "serialize", path).with_detail(e.to_string())
                }
            });
        }
    };
    let Some(base) = base else {
        return Ok(Outcome::Write(whole(&new_node)?, How::Fresh, None));
    };
    let old_node = match base.read_as {
        Some(read_as) => Ok(read_as.clone()),
        None => node::capture(base.value),
    }
    .map(|mut n| {
        n.normalize();
        n
    });
    if let Ok(old) = &old_node
        && old.same(&new_node)
        && !base.migrated
    {
        return Ok(Outcome::Unchanged);
    }
    let read_back = |text: &str| read_back::<T>(format, text, &new_node, path);
    let doc = std::str::from_utf8(base.doc).map_err(|_| Fallback::new("the document is not UTF-8"));
    let attempt = doc.and_then(|doc| {
        let old = old_node
            .map_err(|e| Fallback::new(format!("the old value cannot be captured: {e}")))?;
        let edit = Edit {
            memo: base.memo,
            stamp,
            migrated: base.migrated,
        };
        edit.run(format, doc, &old, &new_node, path, &read_back)
    });
    match attempt {
        Ok(outcome) => Ok(outcome),
        Err(fallback) => {
            log::warn!(
                "{}: {}; writing the new value whole (the file's comments, layout and unknown keys are not kept)",
                path.display(),
                fallback.reason
            );
            Ok(Outcome::Write(whole(&new_node)?, How::Replaced, None))
        }
    }
}

/// Why the document could not be kept.
#[derive(Debug)]
struct Fallback {
    reason: String,
}

impl Fallback {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

impl From<diff::Mismatch> for Fallback {
    fn from(m: diff::Mismatch) -> Self {
        Fallback::new(m.0)
    }
}

/// A text read back: `Some` of its view when the type reads from it
/// exactly the value `new`, `None` otherwise.
type ReadBack<'a> = dyn Fn(&str) -> Option<View> + 'a;

fn read_back<T: Serialize + DeserializeOwned>(
    format: Format,
    text: &str,
    new: &Node,
    path: &Path,
) -> Option<View> {
    let is_new = |value: &T| {
        node::capture(value).is_ok_and(|mut n| {
            n.normalize();
            n.same(new)
        })
    };
    match format {
        // One parse for both: what `toml::from_str` does, and the view.
        #[cfg(feature = "toml")]
        Format::Toml => {
            let (view, de) = toml::read(text).ok()?;
            T::deserialize(de).ok().filter(is_new).map(|_| view)
        }
        _ => {
            let value =
                format::decode::<T>(format, text.as_bytes(), path, Operation::Store).ok()?;
            is_new(&value).then(|| view_of(format, text, path).ok())?
        }
    }
}

/// The view of a text in `format`, in the text's order.
fn view_of(format: Format, text: &str, path: &Path) -> std::result::Result<View, Fallback> {
    let failed = |e: String| Fallback::new(format!("the {format} text cannot be read back: {e}"));
    match format {
        #[cfg(feature = "toml")]
        Format::Toml => toml::read(text).map(|(view, _)| view).map_err(failed),
        _ => format::decode::<View>(format, text.as_bytes(), path, Operation::Store)
            .map_err(|e| failed(e.to_string())),
    }
}

fn text_of(format: Format, node: &Node, path: &Path) -> std::result::Result<String, Fallback> {
    let bytes = format::encode(format, node, path, Operation::Store)
        .map_err(|e| Fallback::new(e.to_string()))?;
    String::from_utf8(bytes)
        .map_err(|_| Fallback::new(format!("the {format} serializer wrote something not UTF-8")))
}

/// How a document is edited: with the memo that describes it and `old`,
/// the schema version whole writes carry, and whether it is a migration
/// not written yet.
struct Edit<'a> {
    memo: Option<&'a Memo>,
    /// Only RON's merge writes the version itself.
    #[cfg_attr(not(feature = "ron"), allow(dead_code))]
    stamp: Option<Stamp>,
    migrated: bool,
}

impl Edit<'_> {
    /// The document edited from `old` to `new`, or, failing that, its
    /// data with the changes written afresh.
    fn run(
        &self,
        format: Format,
        doc: &str,
        old: &Node,
        new: &Node,
        path: &Path,
        read_back: &ReadBack<'_>,
    ) -> std::result::Result<Outcome, Fallback> {
        #[cfg(feature = "ron")]
        if format == Format::Ron {
            // RON is written afresh from the merge: the version goes in.
            let new = match self.stamp {
                Some(Stamp { key, version }) => new.clone().stamped(key, version),
                None => new.clone(),
            };
            return ron::merge(doc, old, &new, &|text| {
                std::str::from_utf8(text).is_ok_and(|text| read_back(text).is_some())
            })
            .map(|bytes| Outcome::Write(bytes, How::Merged, None));
        }
        self.in_place(format, doc, old, new, path, read_back)
    }

    /// The document edited from `old` to `new` by the format's editor
    /// (`memo`, when given, describes `doc` and `old`; a `migrated`
    /// document is written even unchanged), or, failing that, its data
    /// with the changes written afresh.
    fn in_place(
        &self,
        format: Format,
        doc: &str,
        old: &Node,
        new: &Node,
        path: &Path,
        read_back: &ReadBack<'_>,
    ) -> std::result::Result<Outcome, Fallback> {
        let (memo, migrated) = (self.memo, self.migrated);
        let old_view;
        let old_view = match memo {
            Some(memo) => &memo.value,
            None => {
                old_view = view_of(format, &text_of(format, old, path)?, path)?;
                &old_view
            }
        };
        let new_view = view_of(format, &text_of(format, new, path)?, path)?;
        let ops = diff::diff(old_view, &new_view);
        if ops.is_empty() {
            return Ok(if migrated {
                Outcome::Write(doc.as_bytes().to_vec(), How::Patched, None)
            } else {
                Outcome::Unchanged
            });
        }
        let editor = Patcher::open(format, doc);
        let doc_view = match (memo, &editor) {
            (Some(memo), _) => memo.doc.clone(),
            (None, Ok(Some(editor))) if let Some(view) = editor.view() => view,
            (None, _) => view_of(format, doc, path)?,
        };
        let mut merged = doc_view.clone();
        diff::apply(&mut merged, &ops, &new_view)?;
        let reads_back = |text: &str| read_back(text).is_some_and(|view| view == merged);
        let (text, how) = made(
            format,
            doc,
            editor,
            doc_view,
            &ops,
            &new_view,
            &merged,
            path,
            &reads_back,
        )?;
        let memo = Memo {
            value: new_view,
            doc: merged,
        };
        Ok(Outcome::Write(text.into_bytes(), how, Some(memo)))
    }
}

/// The document with `ops` (from its view `doc_view` to `new`) made by
/// `editor`, if it reads back (`reads_back`); else its data with the ops
/// (`merged`) written afresh, if that does.
#[allow(clippy::too_many_arguments)] // one step's inputs, all of them
fn made(
    format: Format,
    doc: &str,
    editor: std::result::Result<Option<Patcher>, Fallback>,
    doc_view: View,
    ops: &[diff::Op],
    new: &View,
    merged: &View,
    path: &Path,
    reads_back: &dyn Fn(&str) -> bool,
) -> std::result::Result<(String, How), Fallback> {
    let patched = editor.and_then(|editor| {
        editor
            .map(|editor| editor.patch(doc_view, ops, new))
            .transpose()
    });
    Ok(match patched {
        Ok(Some(text)) if reads_back(&text) => (text, How::Patched),
        failed => {
            match failed {
                Ok(Some(_)) => log::warn!(
                    "{}: the {format} document, edited in place, does not read back as the new \
                     value; writing its data afresh (comments and layout are not kept)",
                    path.display()
                ),
                Err(e) => log::warn!(
                    "{}: the {format} document cannot be edited in place ({}); \
                     writing its data afresh (comments and layout are not kept)",
                    path.display(),
                    e.reason
                ),
                Ok(None) => {}
            }
            let text = render(format, doc, merged)?;
            if !reads_back(&text) {
                return Err(Fallback::new(format!(
                    "the {format} document with the changes does not read back as the new value"
                )));
            }
            (text, How::Merged)
        }
    })
}

/// Renames `from` to `to` in the mapping at `table` of `view`; whether it
/// could (the key there, the new name not).
fn rename_in_view(view: &mut View, table: &[view::Seg], from: &str, to: &str) -> bool {
    let Some(View::Map(entries)) = view.get_mut(table) else {
        return false;
    };
    let at = |key: &str| {
        entries
            .iter()
            .position(|(k, _)| matches!(k, View::Str(s) if s == key))
    };
    match (at(from), at(to)) {
        (Some(i), None) => {
            entries[i].0 = View::Str(to.to_owned());
            true
        }
        _ => false,
    }
}

/// The data of a document: `None` when it is not UTF-8 or does not parse.
pub(crate) fn data_of(format: Format, doc: &[u8], path: &Path) -> Option<View> {
    view_of(format, std::str::from_utf8(doc).ok()?, path).ok()
}

/// The document `doc` edited so that its data becomes `data` (a
/// migration's result): in place where the format's editor can, keeping
/// comments and layout wherever the data did not change; else the data
/// written afresh.
///
/// # Errors
///
/// [`ErrorKind::Schema`] when neither reads back as `data` (the format
/// cannot hold it).
pub(crate) fn rewrite(
    format: Format,
    doc: &[u8],
    data: &View,
    renames: &[migrate::Rename],
    path: &Path,
) -> Result<Vec<u8>> {
    let failed = |reason: String| {
        Error::new(ErrorKind::Schema, Operation::Store, "migrate", path).with_detail(format!(
            "the migrated data cannot be written in {format}: {reason}"
        ))
    };
    let text = std::str::from_utf8(doc).map_err(|_| failed("the document is not UTF-8".into()))?;
    let mut editor = Patcher::open(format, text);
    let mut doc_view = match &editor {
        Ok(Some(editor)) if let Some(view) = editor.view() => view,
        _ => view_of(format, text, path).map_err(|f| failed(f.reason))?,
    };
    // The renames first, as renames: the keys keep their comments. If the
    // editor cannot make them all, the diff makes them as removals and
    // insertions, on a fresh editor.
    if let Ok(Some(patcher)) = &mut editor
        && !renames.is_empty()
    {
        let mut renamed = doc_view.clone();
        let made = renames.iter().all(|r| {
            let table: Vec<view::Seg> = r
                .table
                .iter()
                .map(|k| view::Seg::Key(View::Str(k.clone())))
                .collect();
            rename_in_view(&mut renamed, &table, &r.from, &r.to)
                && patcher.rename(&table, &r.from, &r.to).is_ok()
        });
        if made {
            doc_view = renamed;
        } else {
            editor = Patcher::open(format, text);
        }
    }
    let ops = diff::diff(&doc_view, data);
    if ops.is_empty() {
        return Ok(doc.to_vec());
    }
    let reads_back = |text: &str| view_of(format, text, path).is_ok_and(|view| view == *data);
    made(
        format,
        text,
        editor,
        doc_view,
        &ops,
        data,
        data,
        path,
        &reads_back,
    )
    .map(|(text, _)| text.into_bytes())
    .map_err(|f| failed(f.reason))
}

/// A format's editor on a document.
enum Patcher {
    #[cfg(feature = "toml")]
    Toml(toml::Document),
    #[cfg(feature = "json")]
    Json(json::Document),
    #[cfg(feature = "yaml")]
    Yaml(yaml::Document),
}

impl Patcher {
    /// The editor of `format` on `doc`; `None` for a format without one.
    fn open(format: Format, doc: &str) -> std::result::Result<Option<Self>, Fallback> {
        let _ = doc; // used only by the enabled editors
        match format {
            #[cfg(feature = "toml")]
            Format::Toml => toml::Document::parse(doc)
                .map(|d| Some(Self::Toml(d)))
                .map_err(Fallback::new),
            #[cfg(feature = "json")]
            Format::Json => json::Document::parse(doc)
                .map(|d| Some(Self::Json(d)))
                .map_err(Fallback::new),
            #[cfg(feature = "yaml")]
            Format::Yaml => yaml::Document::parse(doc)
                .map(|d| Some(Self::Yaml(d)))
                .map_err(Fallback::new),
            _ => Ok(None),
        }
    }

    /// The document's view, when the editor makes one (in the document's
    /// order, as the editor sees it).
    fn view(&self) -> Option<View> {
        match *self {
            #[cfg(feature = "toml")]
            Self::Toml(ref d) => Some(d.view()),
            #[cfg(feature = "json")]
            Self::Json(_) => None,
            #[cfg(feature = "yaml")]
            Self::Yaml(_) => None,
        }
    }

    /// Renames the key `from` of the mapping at `map` to `to`.
    fn rename(
        &mut self,
        map: &[view::Seg],
        from: &str,
        to: &str,
    ) -> std::result::Result<(), diff::Mismatch> {
        let _ = (map, from, to); // used only by the enabled editors
        match *self {
            #[cfg(feature = "toml")]
            Self::Toml(ref mut d) => diff::Editor::rename(d, map, from, to),
            #[cfg(feature = "json")]
            Self::Json(ref mut d) => diff::Editor::rename(d, map, from, to),
            #[cfg(feature = "yaml")]
            Self::Yaml(ref mut d) => diff::Editor::rename(d, map, from, to),
        }
    }

    /// The document with `ops` (from its view `doc` to `new`) made in it.
    fn patch(
        self,
        mut doc: View,
        ops: &[diff::Op],
        new: &View,
    ) -> std::result::Result<String, Fallback> {
        let _ = (&mut doc, ops, new); // used only by the enabled editors
        match self {
            #[cfg(feature = "toml")]
            Self::Toml(mut d) => {
                diff::apply_with(&mut doc, ops, new, &mut d)?;
                Ok(d.render())
            }
            #[cfg(feature = "json")]
            Self::Json(mut d) => {
                diff::apply_with(&mut doc, ops, new, &mut d)?;
                Ok(d.render())
            }
            #[cfg(feature = "yaml")]
            Self::Yaml(mut d) => {
                diff::apply_with(&mut doc, ops, new, &mut d)?;
                Ok(d.render())
            }
        }
    }
}

/// A document for `view`, written afresh in the style of `doc` where the
/// format allows (JSON keeps its indentation).
fn render(format: Format, doc: &str, view: &View) -> std::result::Result<String, Fallback> {
    let _ = (doc, view); // used only by the enabled renderers
    match format {
        #[cfg(feature = "toml")]
        Format::Toml => Ok(toml::fresh(view)?),
        #[cfg(feature = "json")]
        Format::Json => Ok(json::fresh(doc, view)?),
        #[cfg(feature = "yaml")]
        Format::Yaml => serde_saphyr::to_string(view).map_err(|e| Fallback::new(e.to_string())),
        _ => Err(Fallback::new(format!("no {format} writer in this build"))),
    }
}

#[cfg(test)]
mod props;
