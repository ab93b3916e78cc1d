//! YAML documents through `oneyaml` (docs/decisions/0011-yaml-editor.md):
//! a patch's edits made in place, keeping comments, anchors, quoting and
//! block scalars, read the way the store reads YAML (`<<` merge keys,
//! YAML 1.1 booleans, so that a new string such as `on` or `y` is
//! quoted).
//!
//! Every step down a path stays on the document's own entries: through
//! an alias, or to a key that only a `<<` merge provides, an edit would
//! change the anchored node too, so the editor refuses (the commit then
//! writes the merged data afresh). What it writes is read back before it
//! is used, like every editor's (`lossless::edit`).

use super::diff::{Editor, Mismatch, index_among};
use super::view::{Seg, View, show_path};
use oneyaml::{EditError, NodeId, NodeMut, NodeRef, Settings, Value};

/// A parsed document, being edited.
pub(super) struct Document {
    doc: oneyaml::Document,
}

impl Document {
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let settings = Settings::new().merge_keys(true).yaml11_booleans(true);
        oneyaml::Document::parse_with(text, &settings)
            .map(|doc| Self { doc })
            .map_err(|e| e.to_string())
    }

    pub(super) fn render(&self) -> String {
        self.doc.to_string()
    }

    /// The node at `path` (the root for an empty one), reached through
    /// the document's own entries, no alias and no anchored node that an
    /// alias uses: a change there would show wherever it is used.
    fn node(&self, path: &[Seg]) -> Result<NodeRef<'_>, Mismatch> {
        let mut here = self
            .doc
            .root()
            .ok_or_else(|| Mismatch("the document is empty".to_owned()))?;
        self.unshared(here, &[])?;
        for (n, seg) in path.iter().enumerate() {
            let missing = || {
                Mismatch(format!(
                    "the document has no {} of its own",
                    show_path(&path[..=n])
                ))
            };
            here = match seg {
                Seg::Key(k) => own_entry(here, key_str(k)?).ok_or_else(missing)?.1,
                Seg::Index(i) => here
                    .as_sequence()
                    .and_then(|s| s.get(*i))
                    .ok_or_else(missing)?,
            };
            self.unshared(here, &path[..=n])?;
        }
        Ok(here)
    }

    /// Refuses a node that is an alias or whose anchor an alias uses.
    fn unshared(&self, node: NodeRef<'_>, path: &[Seg]) -> Result<(), Mismatch> {
        let used = node.anchor().is_some()
            && self
                .doc
                .aliases_of(node.id())
                .is_ok_and(|aliases| !aliases.is_empty());
        if node.alias_name().is_some() || used {
            return Err(Mismatch(format!(
                "{} is an alias or anchors one: an edit there would change it wherever it is used",
                show_path(path)
            )));
        }
        Ok(())
    }

    fn node_mut(&mut self, id: NodeId) -> Result<NodeMut<'_>, Mismatch> {
        self.doc.node_mut(id).map_err(refused)
    }

    /// The mapping at `path`: its id and its own keys, in order.
    fn mapping(&self, path: &[Seg]) -> Result<(NodeId, Vec<Option<String>>), Mismatch> {
        let node = self.node(path)?;
        let mapping = node
            .as_mapping()
            .ok_or_else(|| Mismatch(format!("{} is not a mapping", show_path(path))))?;
        let keys = mapping.iter().map(|(k, _)| key_text(k)).collect();
        Ok((node.id(), keys))
    }

    /// The key (as the document means it) of the own entry `key` of the
    /// mapping at `path`, with the mapping's id.
    fn own_key(&self, path: &[Seg], key: &str) -> Result<(NodeId, Option<Value>), Mismatch> {
        let node = self.node(path)?;
        let key = own_entry(node, key).and_then(|(k, _)| k.as_scalar()?.resolved().ok());
        Ok((node.id(), key))
    }
}

/// A key as the store reads it: a scalar's content (`7`, `on`, `'x'`
/// give `7`, `on`, `x`).
fn key_text(key: NodeRef<'_>) -> Option<String> {
    key.as_scalar().map(|s| s.value().into_owned())
}

/// The entry `key` written in `map` itself (not merged in by `<<`).
fn own_entry<'d>(map: NodeRef<'d>, key: &str) -> Option<(NodeRef<'d>, NodeRef<'d>)> {
    map.as_mapping()?
        .iter()
        .find(|(k, _)| key_text(*k).as_deref() == Some(key))
}

fn key_str(key: &View) -> Result<&str, Mismatch> {
    match key {
        View::Str(s) => Ok(s),
        other => Err(Mismatch(format!(
            "a YAML key of the store is a string, not {other:?}"
        ))),
    }
}

/// A key as YAML text: plain when nothing could read it otherwise (a
/// name of letters, digits, `_` and `-` that is no YAML 1.1 word such as
/// `on` or `null`), else double-quoted (JSON's escapes are YAML's).
fn key_text_for(key: &str) -> String {
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<", "=",
    ];
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !WORDS.contains(&key.to_ascii_lowercase().as_str());
    if plain {
        key.to_owned()
    } else {
        serde_json::to_string(key).expect("a string is JSON")
    }
}

fn refused(e: EditError) -> Mismatch {
    Mismatch(format!("the YAML editor refuses: {e}"))
}

impl Editor for Document {
    fn set(&mut self, path: &[Seg], value: &View) -> Result<(), Mismatch> {
        let Some((last, parent)) = path.split_last() else {
            // A new document: nothing of the old one would be kept, and
            // oneyaml keeps what follows a root scalar (a stray BOM, found
            // by the fuzzer) as part of the new one.
            return Err(Mismatch("a new root is a new document".to_owned()));
        };
        match last {
            Seg::Key(k) => {
                let k = key_str(k)?;
                let (map, key) = self.own_key(parent, k)?;
                let node = self.node(parent)?;
                if let Some((_, old)) = own_entry(node, k) {
                    self.unshared(old, path)?;
                }
                let merges = own_entry(node, "<<").is_some();
                let mut map = self.node_mut(map)?;
                // In place, keeping the entry's comments, the value's
                // anchor and a scalar's style where the new text fits it;
                // a key only merged in gets an entry of its own. A key the
                // store reads but the editor does not find otherwise (a
                // key written in a way the two read differently) is not
                // guessed at.
                match key {
                    Some(key) => map.insert(&key, value),
                    None if merges => map.insert(k, value),
                    None => {
                        return Err(Mismatch(format!(
                            "the document has no {} the editor can find",
                            show_path(path)
                        )));
                    }
                }
                .map_err(refused)?;
            }
            Seg::Index(i) => {
                // The element itself is no alias and anchors none in use.
                self.node(path)?;
                let seq = self.node(parent)?.id();
                self.node_mut(seq)?.replace_at(*i, value).map_err(refused)?;
            }
        }
        Ok(())
    }

    fn insert(
        &mut self,
        map: &[Seg],
        order: &[(View, View)],
        index: usize,
        value: &View,
    ) -> Result<(), Mismatch> {
        let (id, keys) = self.mapping(map)?;
        let at = index_among(order, index, &keys)?;
        let key = key_str(&order[index].0)?;
        if keys.iter().any(|k| k.as_deref() == Some(key)) {
            return Err(Mismatch(format!(
                "{} has a key the editor reads as {key:?} where the store reads none",
                show_path(map)
            )));
        }
        let mut node = self.node_mut(id)?;
        // Appended, laid out like its siblings; then moved to its place.
        node.insert(key, value).map_err(refused)?;
        let from = keys.len();
        if at != from {
            node.move_entry(from, at).map_err(refused)?;
        }
        Ok(())
    }

    fn insert_element(&mut self, seq: &[Seg], index: usize, value: &View) -> Result<(), Mismatch> {
        let node = self.node(seq)?;
        let len = node
            .as_sequence()
            .ok_or_else(|| Mismatch(format!("{} is not a sequence", show_path(seq))))?
            .len();
        let id = node.id();
        let mut node = self.node_mut(id)?;
        if index == len {
            node.push(value).map_err(refused)?;
        } else {
            node.insert_at(index, value).map_err(refused)?;
        }
        Ok(())
    }

    /// oneyaml does not replace a key in place, so the key's text is
    /// replaced and the document parsed again: everything else, the
    /// entry's comments included, stays as written.
    fn rename(&mut self, map: &[Seg], from: &str, to: &str) -> Result<(), Mismatch> {
        let parent = self.node(map)?;
        let (key, _) = own_entry(parent, from).ok_or_else(|| {
            Mismatch(format!(
                "no `{from}` of its own to rename at {}",
                show_path(map)
            ))
        })?;
        let text = self.doc.to_string();
        let span = key.span();
        let written = key.text();
        if key.alias_name().is_some()
            || key.anchor().is_some()
            || text.get(span.start..span.end) != Some(written.as_ref())
        {
            return Err(Mismatch(format!(
                "the key `{from}` is not a plain one to rename"
            )));
        }
        let renamed = format!(
            "{}{}{}",
            &text[..span.start],
            key_text_for(to),
            &text[span.end..]
        );
        *self = Document::parse(&renamed).map_err(Mismatch)?;
        Ok(())
    }

    fn remove(&mut self, path: &[Seg]) -> Result<(), Mismatch> {
        let (last, parent) = path
            .split_last()
            .ok_or_else(|| Mismatch("the root cannot be removed".to_owned()))?;
        match last {
            Seg::Key(k) => {
                self.node(path)?;
                // Without it, a `<<` merge could provide the key again.
                if own_entry(self.node(parent)?, "<<").is_some() {
                    return Err(Mismatch(format!(
                        "{} is in a mapping with a `<<` merge",
                        show_path(path)
                    )));
                }
                let (map, key) = self.own_key(parent, key_str(k)?)?;
                let key = key.ok_or_else(|| {
                    Mismatch(format!(
                        "the document has no {} of its own",
                        show_path(path)
                    ))
                })?;
                // With the comment lines above it.
                self.node_mut(map)?
                    .remove(&key)
                    .map_err(refused)
                    .map(drop)?;
            }
            Seg::Index(i) => {
                self.node(path)?;
                let seq = self.node(parent)?.id();
                self.node_mut(seq)?
                    .remove_at(*i)
                    .map_err(refused)
                    .map(drop)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::diff::{apply_with, diff};
    use super::*;

    fn view(text: &str) -> View {
        serde_saphyr::from_str(text).unwrap()
    }

    /// `doc` edited from its own data to `new`'s.
    fn edited(doc: &str, new: &str) -> String {
        let mut editor = Document::parse(doc).unwrap();
        let mut old = view(doc);
        let new = view(new);
        let ops = diff(&old, &new);
        apply_with(&mut old, &ops, &new, &mut editor).unwrap();
        let text = editor.render();
        assert_eq!(view(&text), new, "{text}");
        text
    }

    #[test]
    fn a_changed_scalar_keeps_its_comments_and_quotes() {
        let doc = "# top\nname: 'web' # the name\nport: 80\n";
        assert_eq!(
            edited(doc, "name: api\nport: 80\n"),
            "# top\nname: 'api' # the name\nport: 80\n"
        );
    }

    #[test]
    fn a_new_key_follows_its_sibling_and_a_removed_one_takes_its_comment() {
        let doc = "a: 1\n# about b\nb: 2\nc: 3\n";
        assert_eq!(edited(doc, "a: 1\nx: 9\nc: 3\n"), "a: 1\nx: 9\nc: 3\n");
        let doc = "a: 1\nc: 3\n";
        assert_eq!(edited(doc, "a: 1\nb: 2\nc: 3\n"), "a: 1\nb: 2\nc: 3\n");
    }

    #[test]
    fn new_strings_that_yaml_1_1_reads_otherwise_are_quoted() {
        let text = edited("a: x\n", "a: 'on'\nb: 'y'\n");
        assert_eq!(view(&text), view("a: 'on'\nb: 'y'\n"), "{text}");
        assert!(!text.contains("a: on") && !text.contains("b: y"), "{text}");
    }

    #[test]
    fn sequences_change_element_by_element() {
        let doc = "list:\n  - a # first\n  - b\n";
        assert_eq!(
            edited(doc, "list: [a, c, b]\n"),
            "list:\n  - a # first\n  - c\n  - b\n"
        );
        assert_eq!(edited(doc, "list: [a]\n"), "list:\n  - a # first\n");
    }

    #[test]
    fn nothing_below_an_alias_or_only_merged_in_is_edited() {
        let doc = "base: &b\n  x: 1\nuse: *b\n";
        let mut editor = Document::parse(doc).unwrap();
        let path = [
            Seg::Key(View::Str("use".into())),
            Seg::Key(View::Str("x".into())),
        ];
        assert!(editor.set(&path, &View::Int(2)).is_err());
        let doc = "base: &b\n  x: 1\nown:\n  <<: *b\n  y: 2\n";
        let mut editor = Document::parse(doc).unwrap();
        let path = [
            Seg::Key(View::Str("own".into())),
            Seg::Key(View::Str("x".into())),
        ];
        assert!(editor.remove(&path).is_err());
        assert_eq!(editor.render(), doc);
    }

    #[test]
    fn a_renamed_key_keeps_its_place_and_comments() {
        let doc = "# settings\nvolume: 3 # loud\nother: 1\n";
        let mut editor = Document::parse(doc).unwrap();
        editor.rename(&[], "volume", "level").unwrap();
        assert_eq!(editor.render(), "# settings\nlevel: 3 # loud\nother: 1\n");
        editor.rename(&[], "level", "on").unwrap();
        assert_eq!(editor.render(), "# settings\n\"on\": 3 # loud\nother: 1\n");
        assert!(editor.rename(&[], "missing", "x").is_err());
    }

    #[test]
    fn the_on_key_of_a_workflow_is_found_as_written() {
        let doc = "on:\n  push: {}\njobs: 1 # n\n";
        let text = edited(doc, "on:\n  push: {}\njobs: 2\n");
        assert_eq!(text, "on:\n  push: {}\njobs: 2 # n\n");
        let text = edited(doc, "on:\n  pull: {}\njobs: 1\n");
        assert!(text.starts_with("on:\n"), "{text}");
    }
}
