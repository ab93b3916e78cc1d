//! The entry point of the patchers' fuzz targets (`fuzz/`): any document
//! that parses, any edit, never a panic and never an invalid output.

use super::diff::{self, Op};
use super::view::{Seg, View};
use super::{Fallback, Patcher, render, view_of};
use crate::format::Format;
use std::path::Path;

/// A fuzz target's input for `format`: the first byte says how many of the
/// next bytes are the edit, the rest (if UTF-8) is the document; see
/// [`patch_document`].
///
/// # Panics
///
/// When [`patch_document`] finds an invariant broken: the fuzzer's crash.
pub fn run_target(format: Format, data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (edits, doc) = rest.split_at(usize::from(n % 48).min(rest.len()));
    let Ok(doc) = std::str::from_utf8(doc) else {
        return;
    };
    if let Err(e) = patch_document(format, doc, edits) {
        panic!("{e}");
    }
}

/// Parses `doc` in `format`, edits its data as `edits` says, and patches
/// the document with the ops between the two. A document that does not
/// parse, and an edit the format's editor declines (falling back), are
/// fine; a patched or re-rendered text that does not read back as the
/// document's data with the ops applied is not.
///
/// # Errors
///
/// A description of the invariant broken, with the texts involved.
pub fn patch_document(format: Format, doc: &str, edits: &[u8]) -> Result<(), String> {
    let path = Path::new("fuzz");
    let Ok(old) = view_of(format, doc, path) else {
        return Ok(());
    };
    // A mapping that repeats a key has no one meaning for an op on that
    // key (a store's type refuses such a file, or keeps one entry); the
    // commit's read-back check covers those documents.
    if repeats_a_key(&old) {
        return Ok(());
    }
    let mut new = old.clone();
    let mut bytes = Bytes(edits);
    while !bytes.0.is_empty() {
        edit(&mut new, &mut bytes, format);
    }
    #[cfg(feature = "ron")]
    if format == Format::Ron {
        return merge_ron(doc, &old, &new);
    }
    let ops: Vec<Op> = diff::diff(&old, &new);
    let mut reference = old.clone();
    diff::apply(&mut reference, &ops, &new)
        .map_err(|m| format!("the ops do not apply to their own old view ({m}): {ops:?}"))?;
    if reference != new {
        return Err(format!(
            "applying the diff does not give the new view: {ops:?}"
        ));
    }
    let reads_back = |text: &str, what: &str| match view_of(format, text, path) {
        Ok(v) if v == reference => Ok(()),
        Ok(v) => Err(format!(
            "the {what} text reads back as other data\n--- document\n{doc}\n--- {what}\n{text}\n--- expected {reference:?}\n--- got {v:?}"
        )),
        Err(Fallback { reason }) => Err(format!(
            "the {what} text does not parse ({reason})\n--- document\n{doc}\n--- {what}\n{text}"
        )),
    };
    // An editor may decline (the store then falls back); what it writes
    // must be right.
    if let Ok(Some(text)) = Patcher::open(format, doc)
        .and_then(|editor| editor.map(|e| e.patch(old, &ops, &new)).transpose())
    {
        reads_back(&text, "patched")?;
    }
    if let Ok(text) = render(format, doc, &reference) {
        reads_back(&text, "rendered")?;
    }
    Ok(())
}

/// RON's merge of the edited data into the document (it has no editor):
/// what it writes, before the commit's own read-back check, must read back
/// as the edited data.
#[cfg(feature = "ron")]
fn merge_ron(doc: &str, old: &View, new: &View) -> Result<(), String> {
    let (Ok(old_node), Ok(new_node)) = (super::node::capture(old), super::node::capture(new))
    else {
        return Ok(());
    };
    let Ok(bytes) = super::ron::merge(doc, &old_node, &new_node, &|_| true) else {
        return Ok(()); // declined: the commit writes the value whole
    };
    let text = String::from_utf8(bytes).map_err(|_| "the merged RON is not UTF-8".to_owned())?;
    match view_of(Format::Ron, &text, Path::new("fuzz")) {
        Ok(v) if v == *new => Ok(()),
        Ok(v) => Err(format!(
            "the merged RON reads back as other data\n--- document\n{doc}\n--- merged\n{text}\n--- expected {new:?}\n--- got {v:?}"
        )),
        Err(Fallback { reason }) => Err(format!(
            "the merged RON does not parse ({reason})\n--- document\n{doc}\n--- merged\n{text}"
        )),
    }
}

fn repeats_a_key(view: &View) -> bool {
    match view {
        View::Map(entries) => {
            entries
                .iter()
                .enumerate()
                .any(|(i, (k, _))| entries[..i].iter().any(|(j, _)| j == k))
                || entries.iter().any(|(_, v)| repeats_a_key(v))
        }
        View::Seq(items) => items.iter().any(repeats_a_key),
        _ => false,
    }
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
}

/// One edit somewhere in `view`: where and what, from the bytes.
fn edit(view: &mut View, bytes: &mut Bytes<'_>, format: Format) {
    let mut path = Vec::new();
    let mut here: &View = view;
    loop {
        let step = bytes.next();
        let children = match here {
            View::Map(entries) => entries.len(),
            View::Seq(items) => items.len(),
            _ => 0,
        };
        if step.is_multiple_of(4) || children == 0 {
            break;
        }
        let i = usize::from(bytes.next()) % children;
        (path, here) = match here {
            View::Map(entries) => {
                path.push(Seg::Key(entries[i].0.clone()));
                (path, &entries[i].1)
            }
            View::Seq(items) => {
                path.push(Seg::Index(i));
                (path, &items[i])
            }
            _ => unreachable!("a container"),
        };
    }
    let value = scalar(bytes, format);
    let Some(target) = view.get_mut(&path) else {
        return;
    };
    match bytes.next() % 5 {
        0 => *target = value,
        1 => match target {
            View::Map(entries) if !entries.is_empty() => {
                let i = usize::from(bytes.next()) % entries.len();
                entries.remove(i);
            }
            View::Seq(items) if !items.is_empty() => {
                let i = usize::from(bytes.next()) % items.len();
                items.remove(i);
            }
            _ => {}
        },
        2 => match target {
            View::Map(entries) => {
                let key = View::Str(format!("k{}", bytes.next()));
                if View::position(entries, &key).is_none() {
                    let at = usize::from(bytes.next()) % (entries.len() + 1);
                    entries.insert(at, (key, value));
                }
            }
            View::Seq(items) => {
                let at = usize::from(bytes.next()) % (items.len() + 1);
                items.insert(at, value);
            }
            _ => *target = value,
        },
        3 => *target = View::Map(vec![(View::Str(format!("m{}", bytes.next())), value)]),
        _ => *target = View::Seq(vec![value.clone(), value]),
    }
}

fn scalar(bytes: &mut Bytes<'_>, format: Format) -> View {
    match bytes.next() % 5 {
        0 => View::Bool(bytes.next().is_multiple_of(2)),
        1 => View::Int(i128::from(i64::from_le_bytes(std::array::from_fn(|_| {
            bytes.next()
        })))),
        2 if format != Format::Json => View::Float(f64::from(bytes.next()) / 8.0 - 3.0),
        3 => {
            const PIECES: [&str; 12] = [
                "a", " ", "#", "\"", "'", "\n", ":", "yes", "1.5", "é", "\\", "}",
            ];
            let n = usize::from(bytes.next() % 5);
            View::Str(
                (0..n)
                    .map(|_| PIECES[usize::from(bytes.next()) % PIECES.len()])
                    .collect(),
            )
        }
        _ => View::Str(format!("s{}", bytes.next())),
    }
}
