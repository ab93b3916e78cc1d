//! What changed between two views ([`diff`]), as a list of [`Op`]s, and
//! what the ops mean, on a view ([`apply`]): the reference that every
//! format's patcher follows and is checked against.
//!
//! An op names a place by its path and takes the value to put there from
//! the new view, so that an op can always grow to a larger place: when the
//! document lacks the mapping an entry belongs in (its type's default was
//! never written down), the whole mapping is set instead.

use super::view::{Seg, View, show_path};

/// One change, applied in order.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// Put the new view's value at this path (ending in a key: replaced
    /// in place, or inserted next to its siblings; ending in an index:
    /// that element replaced; empty: the whole document).
    Set(Vec<Seg>),
    /// Insert the new view's element at this path (ending in an index).
    Insert(Vec<Seg>),
    /// Remove this entry (a key from its mapping, an index from its
    /// sequence) if the document has it.
    Remove(Vec<Seg>),
}

/// The ops that turn `old` into `new`. Values equal in both give none;
/// mappings are compared key by key, sequences element by element where
/// their shapes line up (after their common beginning and end, a run of
/// removed or inserted elements is removed or inserted; two runs of
/// different lengths are compared pairwise and the rest removed or
/// inserted at the end of the run).
pub(crate) fn diff(old: &View, new: &View) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut path = Vec::new();
    walk(&mut path, old, new, &mut ops);
    ops
}

fn walk(path: &mut Vec<Seg>, old: &View, new: &View, ops: &mut Vec<Op>) {
    match (old, new) {
        (View::Map(a), View::Map(b)) => {
            let index = KeyIndex::new(a);
            for (key, after) in b {
                path.push(Seg::Key(key.clone()));
                match index.find(a, key) {
                    Some(at) => walk(path, &a[at].1, after, ops),
                    None => ops.push(Op::Set(path.clone())),
                }
                path.pop();
            }
            let index = KeyIndex::new(b);
            for (key, _) in a {
                if index.find(b, key).is_none() {
                    let mut gone = path.clone();
                    gone.push(Seg::Key(key.clone()));
                    ops.push(Op::Remove(gone));
                }
            }
        }
        (View::Seq(a), View::Seq(b)) => walk_seq(path, a, b, ops),
        _ if old == new => {}
        _ => ops.push(Op::Set(path.clone())),
    }
}

fn walk_seq(path: &mut Vec<Seg>, a: &[View], b: &[View], ops: &mut Vec<Op>) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let room = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    let old_run = &a[prefix..a.len() - suffix];
    let new_run = &b[prefix..b.len() - suffix];
    // Pairwise where both runs have elements (the whole run when they are
    // as long as each other), then the rest of the longer one.
    let paired = if old_run.is_empty() || new_run.is_empty() {
        0
    } else {
        old_run.len().min(new_run.len())
    };
    for (i, (x, y)) in old_run.iter().zip(new_run).take(paired).enumerate() {
        path.push(Seg::Index(prefix + i));
        walk(path, x, y, ops);
        path.pop();
    }
    let at = prefix + paired;
    for _ in paired..old_run.len() {
        let mut gone = path.clone();
        gone.push(Seg::Index(at));
        ops.push(Op::Remove(gone));
    }
    for i in paired..new_run.len() {
        let mut added = path.clone();
        added.push(Seg::Index(prefix + i));
        ops.push(Op::Insert(added));
    }
}

/// Finds keys in a mapping: by hashing when it has many string keys.
pub(crate) struct KeyIndex<'a> {
    strings: Option<std::collections::HashMap<&'a str, usize>>,
}

impl<'a> KeyIndex<'a> {
    pub(crate) fn new(entries: &'a [(View, View)]) -> Self {
        const SMALL: usize = 16;
        let strings = (entries.len() > SMALL).then(|| {
            let mut index = std::collections::HashMap::with_capacity(entries.len());
            for (i, (k, _)) in entries.iter().enumerate() {
                if let View::Str(s) = k {
                    index.entry(s.as_str()).or_insert(i);
                }
            }
            index
        });
        Self { strings }
    }

    pub(crate) fn find(&self, entries: &[(View, View)], key: &View) -> Option<usize> {
        match (&self.strings, key) {
            (Some(index), View::Str(s)) => index.get(s.as_str()).copied(),
            _ => View::position(entries, key),
        }
    }
}

/// Where a new entry goes among the entries a document already has.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Place<'a> {
    /// Right after this key.
    After(&'a View),
    /// Right before this key.
    Before(&'a View),
    /// After the last entry.
    End,
}

impl Place<'_> {
    /// The index this place means among `len` entries, where `find` gives
    /// a key's index (`None`: the key is not there).
    pub(crate) fn index(&self, len: usize, find: impl Fn(&View) -> Option<usize>) -> Option<usize> {
        match self {
            Place::After(k) => find(k).map(|i| i + 1),
            Place::Before(k) => find(k),
            Place::End => Some(len),
        }
    }
}

/// The index among a mapping's keys `names` (in the document's order;
/// `None` for a key that is not a string) at which the entry
/// `order[index]` goes, by [`place`].
#[cfg(any(feature = "json", feature = "yaml"))]
pub(crate) fn index_among(
    order: &[(View, View)],
    index: usize,
    names: &[Option<String>],
) -> Result<usize, Mismatch> {
    let find = |k: &View| match k {
        View::Str(k) => names.iter().position(|n| n.as_deref() == Some(k.as_str())),
        _ => None,
    };
    place(order, index, |k| find(k).is_some())
        .index(names.len(), find)
        .ok_or_else(|| Mismatch("a sibling vanished".to_owned()))
}

/// Where the entry `order[index]` goes: after the nearest key before it in
/// `order` (the new value's order: a struct's fields in declaration
/// order, a map's keys sorted) that the document `has`, else before the
/// nearest one after it, else at the end.
pub(crate) fn place<'a>(
    order: &'a [(View, View)],
    index: usize,
    has: impl Fn(&View) -> bool,
) -> Place<'a> {
    if let Some((k, _)) = order[..index].iter().rev().find(|(k, _)| has(k)) {
        return Place::After(k);
    }
    if let Some((k, _)) = order[index + 1..].iter().find(|(k, _)| has(k)) {
        return Place::Before(k);
    }
    Place::End
}

/// Why ops do not fit a document: it is not shaped like the old value
/// where an op needs it to be (a sequence shorter than an index).
#[derive(Debug)]
pub(crate) struct Mismatch(pub(crate) String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How far a path goes into a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// The whole path exists.
    Whole,
    /// The first `n` steps exist, and the container there lacks step
    /// `n + 1`'s key or index.
    Missing(usize),
    /// The first `n` steps exist, and what is there is not a container of
    /// the kind step `n + 1` needs (a scalar where a mapping was).
    WrongKind(usize),
}

/// How the op at `path` lands on a document that `reach`es that far: the
/// place to set instead (its first missing or ill-kinded step), or the
/// path itself.
pub(crate) fn effective(path: &[Seg], reach: Reach) -> Effective<'_> {
    match reach {
        Reach::Whole => Effective::Exists(path),
        // The parent is there: the entry itself is new.
        Reach::Missing(n) if n + 1 == path.len() => Effective::Absent(path),
        // An ancestor is missing: set it whole, from the new value.
        Reach::Missing(n) => Effective::Grown(&path[..=n]),
        // Something else is where a container should be: replace it.
        Reach::WrongKind(n) => Effective::Replace(&path[..n]),
    }
}

/// See [`effective`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Effective<'a> {
    /// The place exists.
    Exists(&'a [Seg]),
    /// Its container exists, the entry does not.
    Absent(&'a [Seg]),
    /// A missing ancestor, to be set whole (it is absent from its
    /// container, which exists).
    Grown(&'a [Seg]),
    /// An ancestor of the wrong kind, to be replaced whole (it exists).
    Replace(&'a [Seg]),
}

fn reach(doc: &View, path: &[Seg]) -> Reach {
    let mut here = doc;
    for (n, seg) in path.iter().enumerate() {
        here = match (here, seg) {
            (View::Map(entries), Seg::Key(k)) => match View::position(entries, k) {
                Some(at) => &entries[at].1,
                None => return Reach::Missing(n),
            },
            (View::Seq(items), Seg::Index(i)) => match items.get(*i) {
                Some(item) => item,
                None => return Reach::Missing(n),
            },
            _ => return Reach::WrongKind(n),
        };
    }
    Reach::Whole
}

/// The value the new view has at `path` (every `Set` and `Insert` path is
/// one of the new view's, and so are its prefixes).
pub(crate) fn new_value<'a>(new: &'a View, path: &[Seg]) -> Result<&'a View, Mismatch> {
    new.get(path)
        .ok_or_else(|| Mismatch(format!("the new value has nothing at {}", show_path(path))))
}

/// The edits a format's patcher makes on its document, mirroring what
/// [`apply_with`] does on the document's view. Every path given exists in
/// the document (for `set` and `remove`) or its container does (for the
/// inserts); values come from the new view.
pub(crate) trait Editor {
    /// Replaces the value at `path` (which may be the root).
    fn set(&mut self, path: &[Seg], value: &View) -> Result<(), Mismatch>;
    /// Adds the key `order[index]` with `value` to the mapping at `map`,
    /// which lacks it; `order` is the new view's mapping there, whose
    /// order decides where it goes (see [`place`]).
    fn insert(
        &mut self,
        map: &[Seg],
        order: &[(View, View)],
        index: usize,
        value: &View,
    ) -> Result<(), Mismatch>;
    /// Inserts an element at `index` (at most the length) of the sequence
    /// at `seq`.
    fn insert_element(&mut self, seq: &[Seg], index: usize, value: &View) -> Result<(), Mismatch>;
    /// Removes the entry at `path` (a key of a mapping, an index of a
    /// sequence).
    fn remove(&mut self, path: &[Seg]) -> Result<(), Mismatch>;
    /// Renames the key `from` of the mapping at `map` to `to` (which it
    /// lacks), in its place, keeping its comments: a migration's rename.
    /// An editor that cannot refuses; the rename is then a removal and an
    /// insertion.
    #[cfg_attr(
        not(any(feature = "toml", feature = "json", feature = "yaml")),
        allow(dead_code)
    )]
    fn rename(&mut self, map: &[Seg], from: &str, to: &str) -> Result<(), Mismatch> {
        let _ = (map, from, to);
        Err(Mismatch("this editor cannot rename keys".to_owned()))
    }
}

/// The editor of the view alone.
struct Nothing;

impl Editor for Nothing {
    fn set(&mut self, _: &[Seg], _: &View) -> Result<(), Mismatch> {
        Ok(())
    }
    fn insert(
        &mut self,
        _: &[Seg],
        _: &[(View, View)],
        _: usize,
        _: &View,
    ) -> Result<(), Mismatch> {
        Ok(())
    }
    fn insert_element(&mut self, _: &[Seg], _: usize, _: &View) -> Result<(), Mismatch> {
        Ok(())
    }
    fn remove(&mut self, _: &[Seg]) -> Result<(), Mismatch> {
        Ok(())
    }
}

/// Applies `ops` to `doc` (a document's view), taking values from `new`:
/// the reference semantics of a patch.
///
/// # Errors
///
/// [`Mismatch`] when the document is not shaped like the old value where
/// an op needs it (then the patch does not apply, and nothing else would).
pub(crate) fn apply(doc: &mut View, ops: &[Op], new: &View) -> Result<(), Mismatch> {
    apply_with(doc, ops, new, &mut Nothing)
}

/// Applies `ops` to `doc` as [`apply`] does, making each edit on `editor`
/// too: the view decides where each op lands, the editor repeats it on
/// the document the view was read from.
///
/// # Errors
///
/// As [`apply`], and the editor's.
pub(crate) fn apply_with(
    doc: &mut View,
    ops: &[Op],
    new: &View,
    editor: &mut impl Editor,
) -> Result<(), Mismatch> {
    for op in ops {
        match op {
            Op::Set(path) => set(doc, path, new, editor)?,
            Op::Insert(path) => match effective(path, reach(doc, path)) {
                Effective::Absent(p) | Effective::Exists(p) => {
                    let (Some(Seg::Index(i)), Some(View::Seq(items))) =
                        (p.last(), doc.get_mut(&p[..p.len() - 1]))
                    else {
                        return Err(Mismatch(format!(
                            "no sequence to insert {} into",
                            show_path(p)
                        )));
                    };
                    if *i > items.len() {
                        return Err(Mismatch(format!("{} is past the end", show_path(p))));
                    }
                    let value = new_value(new, p)?;
                    items.insert(*i, value.clone());
                    editor.insert_element(&p[..p.len() - 1], *i, value)?;
                }
                Effective::Grown(p) | Effective::Replace(p) => set(doc, p, new, editor)?,
            },
            Op::Remove(path) => {
                if reach(doc, path) != Reach::Whole {
                    continue;
                }
                let (last, parent) = path.split_last().expect("a removed entry has a path");
                match (doc.get_mut(parent), last) {
                    (Some(View::Map(entries)), Seg::Key(k)) => {
                        let at = View::position(entries, k).expect("reach found it");
                        entries.remove(at);
                    }
                    (Some(View::Seq(items)), Seg::Index(i)) => {
                        items.remove(*i);
                    }
                    _ => unreachable!("reach found the path whole"),
                }
                editor.remove(path)?;
            }
        }
    }
    Ok(())
}

fn set(doc: &mut View, path: &[Seg], new: &View, editor: &mut impl Editor) -> Result<(), Mismatch> {
    match effective(path, reach(doc, path)) {
        Effective::Exists(p) | Effective::Replace(p) => {
            let value = new_value(new, p)?;
            *doc.get_mut(p).expect("reach found it") = value.clone();
            editor.set(p, value)
        }
        Effective::Absent(p) | Effective::Grown(p) => {
            let (last, parent) = p.split_last().expect("an absent place is not the root");
            let value = new_value(new, p)?;
            match (doc.get_mut(parent), last) {
                (Some(View::Map(entries)), Seg::Key(key)) => {
                    let Some(View::Map(order)) = new.get(parent) else {
                        return Err(Mismatch(format!(
                            "the new value has no mapping at {}",
                            show_path(parent)
                        )));
                    };
                    let index = View::position(order, key).expect("the key is the new value's");
                    let place = place(order, index, |k| View::position(entries, k).is_some());
                    let at = place
                        .index(entries.len(), |k| View::position(entries, k))
                        .expect("place names a key the entries have");
                    entries.insert(at, (key.clone(), value.clone()));
                    editor.insert(parent, order, index, value)
                }
                (Some(View::Seq(items)), Seg::Index(i)) if *i == items.len() => {
                    items.push(value.clone());
                    editor.insert_element(parent, *i, value)
                }
                _ => Err(Mismatch(format!(
                    "the document has no element {}",
                    show_path(p)
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(json: &str) -> View {
        serde_json::from_str(json).unwrap()
    }

    /// diff(old, new) applied to `doc` gives `expected`.
    fn patched(doc: &str, old: &str, new: &str) -> View {
        let (mut doc, old, new) = (v(doc), v(old), v(new));
        let ops = diff(&old, &new);
        apply(&mut doc, &ops, &new).unwrap();
        doc
    }

    #[test]
    fn equal_values_give_no_ops() {
        let a = v(r#"{"a": [1, {"b": 2.5}], "c": null}"#);
        let b = v(r#"{"c": null, "a": [1, {"b": 2.5}]}"#);
        assert!(diff(&a, &b).is_empty());
    }

    #[test]
    fn a_changed_scalar_is_one_set_and_unknown_keys_stay() {
        let ops = diff(&v(r#"{"a": 1, "b": 2}"#), &v(r#"{"a": 1, "b": 3}"#));
        assert_eq!(ops.len(), 1, "{ops:?}");
        let out = patched(
            r#"{"x": "unknown", "a": 1, "b": 2}"#,
            r#"{"a": 1, "b": 2}"#,
            r#"{"a": 1, "b": 3}"#,
        );
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"x":"unknown","a":1,"b":3}"#
        );
    }

    #[test]
    fn a_new_key_goes_after_its_nearest_preceding_sibling_the_document_has() {
        let out = patched(
            r#"{"c": 3, "a": 1, "z": 0}"#,
            r#"{"a": 1, "c": 3}"#,
            r#"{"a": 1, "b": 2, "c": 3}"#,
        );
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"c":3,"a":1,"b":2,"z":0}"#
        );
        // No sibling before it in the document: before the next one.
        let out = patched(
            r#"{"z": 0, "c": 3}"#,
            r#"{"a": 1, "c": 3}"#,
            r#"{"a": 1, "b": 2, "c": 3}"#,
        );
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"z":0,"b":2,"c":3}"#
        );
        // No sibling at all: at the end.
        let out = patched(r#"{"z": 0}"#, r#"{}"#, r#"{"b": 2}"#);
        assert_eq!(serde_json::to_string(&out).unwrap(), r#"{"z":0,"b":2}"#);
    }

    #[test]
    fn a_change_below_a_mapping_the_document_lacks_sets_the_mapping_whole() {
        // The document never wrote the default `inner`.
        let out = patched(
            r#"{"a": 1}"#,
            r#"{"a": 1, "inner": {"p": 1, "q": 2}}"#,
            r#"{"a": 1, "inner": {"p": 5, "q": 2}}"#,
        );
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"a":1,"inner":{"p":5,"q":2}}"#
        );
    }

    #[test]
    fn a_scalar_where_a_mapping_was_is_replaced() {
        let out = patched(r#"{"a": 7}"#, r#"{"a": {"p": 1}}"#, r#"{"a": {"p": 2}}"#);
        assert_eq!(serde_json::to_string(&out).unwrap(), r#"{"a":{"p":2}}"#);
    }

    #[test]
    fn removed_keys_go_and_missing_ones_are_no_error() {
        let out = patched(
            r#"{"a": 1, "b": 2, "x": 0}"#,
            r#"{"a": 1, "b": 2, "c": 3}"#,
            r#"{"a": 1}"#,
        );
        assert_eq!(serde_json::to_string(&out).unwrap(), r#"{"a":1,"x":0}"#);
    }

    #[test]
    fn sequences_change_element_by_element_where_they_line_up() {
        let ops = diff(&v("[1, 2, 3, 4]"), &v("[1, 9, 3, 4]"));
        assert!(
            matches!(&ops[..], [Op::Set(p)] if matches!(p[..], [Seg::Index(1)])),
            "{ops:?}"
        );
        // One removed in the middle: one remove.
        let ops = diff(&v("[1, 2, 3, 4]"), &v("[1, 3, 4]"));
        assert!(
            matches!(&ops[..], [Op::Remove(p)] if matches!(p[..], [Seg::Index(1)])),
            "{ops:?}"
        );
        // One inserted in the middle: one insert.
        let ops = diff(&v("[1, 2, 3]"), &v("[1, 2, 7, 3]"));
        assert!(
            matches!(&ops[..], [Op::Insert(p)] if matches!(p[..], [Seg::Index(2)])),
            "{ops:?}"
        );
        // Element-wise inside elements: a field of the second table.
        let ops = diff(&v(r#"[{"n": 1}, {"n": 2}]"#), &v(r#"[{"n": 1}, {"n": 3}]"#));
        assert_eq!(ops.len(), 1);
        assert_eq!(
            super::show_path(match &ops[0] {
                Op::Set(p) => p,
                other => panic!("{other:?}"),
            }),
            "[1].n"
        );
        for (old, new) in [
            ("[1, 2, 3]", "[]"),
            ("[]", "[1, 2]"),
            ("[1, 2, 3]", "[4, 2, 5, 6]"),
            ("[1, 2, 3, 4, 5]", "[1, 7, 5]"),
            ("[[1], [2]]", "[[1, 2], [2], [3]]"),
            ("[1, 1, 1]", "[1, 1]"),
        ] {
            assert_eq!(patched(old, old, new), v(new), "{old} -> {new}");
        }
    }

    #[test]
    fn the_root_changing_kind_is_set_whole() {
        assert_eq!(patched("[1]", "[1]", r#"{"a": 1}"#), v(r#"{"a": 1}"#));
    }

    #[test]
    fn an_index_past_the_document_end_is_a_mismatch() {
        let (mut doc, old, new) = (v("[1]"), v("[1, 2, 3]"), v("[1, 2, 3, 4]"));
        let ops = diff(&old, &new);
        assert!(apply(&mut doc, &ops, &new).is_err());
    }

    #[test]
    fn place_prefers_the_nearest_preceding_sibling() {
        let order = match v(r#"{"a": 0, "b": 0, "c": 0, "d": 0}"#) {
            View::Map(e) => e,
            _ => unreachable!(),
        };
        let has = |names: &'static [&'static str]| move |k: &View| matches!(k, View::Str(s) if names.contains(&s.as_str()));
        assert_eq!(
            place(&order, 2, has(&["a", "b", "d"])),
            Place::After(&order[1].0)
        );
        assert_eq!(place(&order, 2, has(&["d"])), Place::Before(&order[3].0));
        assert_eq!(place(&order, 2, has(&[])), Place::End);
    }
}
