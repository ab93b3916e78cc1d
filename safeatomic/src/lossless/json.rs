//! JSON documents through `jsonc-parser`'s concrete syntax tree: a
//! patch's edits made in place, keeping the file's indentation, line
//! layout and key order. The store reads strict JSON (`serde_json`), and
//! a patched document is read back by the same parser before it is
//! written, so a strict file stays strict.

use super::diff::{Editor, Mismatch, index_among};
use super::view::{Seg, View, show_path};
use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstNode, CstObject, CstRootNode};

/// A parsed document, being edited.
pub(super) struct Document {
    root: CstRootNode,
}

impl Document {
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        CstRootNode::parse(text, &ParseOptions::default())
            .map(|root| Self { root })
            .map_err(|e| e.to_string())
    }

    pub(super) fn render(&self) -> String {
        self.root.to_string()
    }

    fn node(&self, path: &[Seg]) -> Result<CstNode, Mismatch> {
        let missing =
            |n: usize| Mismatch(format!("the document has no {}", show_path(&path[..=n])));
        let mut here = self
            .root
            .value()
            .ok_or_else(|| Mismatch("the document is empty".to_owned()))?;
        for (n, seg) in path.iter().enumerate() {
            here = match seg {
                Seg::Key(View::Str(k)) => here
                    .as_object()
                    .and_then(|o| o.get(k))
                    .and_then(|p| p.value())
                    .ok_or_else(|| missing(n))?,
                Seg::Index(i) => here
                    .as_array()
                    .and_then(|a| a.elements().into_iter().nth(*i))
                    .ok_or_else(|| missing(n))?,
                Seg::Key(_) => return Err(missing(n)),
            };
        }
        Ok(here)
    }

    fn object(&self, path: &[Seg]) -> Result<CstObject, Mismatch> {
        self.node(path)?
            .as_object()
            .ok_or_else(|| Mismatch(format!("{} is not an object", show_path(path))))
    }
}

/// A document for `view`, pretty-printed with the indentation of `doc`
/// (two spaces if it has none) and ending as `doc` ends.
pub(super) fn fresh(doc: &str, view: &View) -> Result<String, Mismatch> {
    use serde::Serialize;
    let indent = Document::parse(doc)
        .ok()
        .and_then(|d| d.root.single_indent_text())
        .unwrap_or_else(|| "  ".to_owned());
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    view.serialize(&mut serializer)
        .map_err(|e| Mismatch(format!("JSON cannot hold the value: {e}")))?;
    let mut text = String::from_utf8(out)
        .map_err(|_| Mismatch("serde_json wrote something not UTF-8".to_owned()))?;
    if doc.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// The text of a value as `serde_json` writes it.
fn input(view: &View) -> Result<CstInputValue, Mismatch> {
    Ok(match view {
        View::Null => CstInputValue::Null,
        View::Bool(b) => CstInputValue::Bool(*b),
        View::Int(i) => CstInputValue::Number(i.to_string()),
        View::BigUint(u) => CstInputValue::Number(u.to_string()),
        View::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => CstInputValue::Number(n.to_string()),
            None => CstInputValue::Null, // as serde_json writes NaN and infinities
        },
        View::Str(s) | View::Datetime(s) => CstInputValue::String(s.clone()),
        View::Bytes(b) => CstInputValue::Array(
            b.iter()
                .map(|x| CstInputValue::Number(x.to_string()))
                .collect(),
        ),
        View::Seq(items) => {
            CstInputValue::Array(items.iter().map(input).collect::<Result<_, _>>()?)
        }
        View::Map(entries) => CstInputValue::Object(
            entries
                .iter()
                .map(|(k, v)| Ok((key_str(k)?.to_owned(), input(v)?)))
                .collect::<Result<_, Mismatch>>()?,
        ),
    })
}

/// Replaces a value node, whatever its kind.
fn replace(node: CstNode, value: CstInputValue) -> Result<(), Mismatch> {
    let replaced = if let Some(n) = node.as_object() {
        n.replace_with(value)
    } else if let Some(n) = node.as_array() {
        n.replace_with(value)
    } else if let Some(n) = node.as_string_lit() {
        n.replace_with(value)
    } else if let Some(n) = node.as_number_lit() {
        n.replace_with(value)
    } else if let Some(n) = node.as_boolean_lit() {
        n.replace_with(value)
    } else if let Some(n) = node.as_null_keyword() {
        n.replace_with(value)
    } else if let Some(n) = node.as_word_lit() {
        n.replace_with(value)
    } else {
        None
    };
    replaced
        .map(drop)
        .ok_or_else(|| Mismatch("a value the syntax tree cannot replace".to_owned()))
}

fn key_str(key: &View) -> Result<&str, Mismatch> {
    match key {
        View::Str(s) => Ok(s),
        other => Err(Mismatch(format!(
            "a JSON key must be a string, not {other:?}"
        ))),
    }
}

impl Editor for Document {
    fn set(&mut self, path: &[Seg], value: &View) -> Result<(), Mismatch> {
        let value = input(value)?;
        let Some((last, parent)) = path.split_last() else {
            self.root.set_value(value);
            return Ok(());
        };
        match last {
            Seg::Key(k) => {
                let k = key_str(k)?;
                let prop = self
                    .object(parent)?
                    .get(k)
                    .ok_or_else(|| Mismatch(format!("the document has no {}", show_path(path))))?;
                prop.set_value(value);
            }
            Seg::Index(_) => replace(self.node(path)?, value)?,
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
        let object = self.object(map)?;
        let names: Vec<Option<String>> = object
            .properties()
            .iter()
            .map(|p| p.decoded_name())
            .collect();
        let at = index_among(order, index, &names)?;
        object.insert(at, key_str(&order[index].0)?, input(value)?);
        Ok(())
    }

    fn insert_element(&mut self, seq: &[Seg], index: usize, value: &View) -> Result<(), Mismatch> {
        let array = self
            .node(seq)?
            .as_array()
            .ok_or_else(|| Mismatch(format!("{} is not an array", show_path(seq))))?;
        if index > array.elements().len() {
            return Err(Mismatch(format!(
                "{} is not an array this long",
                show_path(seq)
            )));
        }
        array.insert(index, input(value)?);
        Ok(())
    }

    fn rename(&mut self, map: &[Seg], from: &str, to: &str) -> Result<(), Mismatch> {
        let prop = self
            .object(map)?
            .get(from)
            .ok_or_else(|| Mismatch(format!("no `{from}` to rename at {}", show_path(map))))?;
        match prop.name() {
            Some(jsonc_parser::cst::ObjectPropName::String(name)) => {
                let quoted = serde_json::to_string(to)
                    .map_err(|e| Mismatch(format!("a JSON key for `{to}`: {e}")))?;
                name.set_raw_value(quoted);
                Ok(())
            }
            _ => Err(Mismatch(format!("`{from}` is not a quoted key"))),
        }
    }

    fn remove(&mut self, path: &[Seg]) -> Result<(), Mismatch> {
        let (last, parent) = path
            .split_last()
            .ok_or_else(|| Mismatch("the root cannot be removed".to_owned()))?;
        match last {
            Seg::Key(k) => {
                let k = key_str(k)?;
                self.object(parent)?
                    .get(k)
                    .ok_or_else(|| Mismatch(format!("the document has no {}", show_path(path))))?
                    .remove();
            }
            Seg::Index(i) => {
                let element = self.node(path)?;
                let hugged = element
                    .previous_sibling()
                    .is_some_and(|n| n.token_char() == Some('['));
                let array = self.node(parent)?;
                element.remove();
                // `[1, 2]` without its first element is `[2]`, not `[ 2]`.
                if *i == 0
                    && hugged
                    && let Some(space) = array
                        .as_array()
                        .and_then(|a| a.children().into_iter().nth(1))
                        .and_then(|n| n.as_whitespace())
                {
                    space.remove();
                }
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
        serde_json::from_str(text).unwrap()
    }

    fn patch(doc: &str, old: &str, new: &str) -> String {
        let (old, new) = (view(old), view(new));
        let ops = diff(&old, &new);
        let mut document = Document::parse(doc).unwrap();
        let mut reference = view(doc);
        apply_with(&mut reference, &ops, &new, &mut document).unwrap();
        let out = document.render();
        assert_eq!(view(&out), reference, "patched:\n{out}");
        out
    }

    const DOC: &str = r#"{
    "editor.fontSize": 14,
    "sync_token": "abc",
    "files.exclude": {
        "**/.git": true
    },
    "recent": [1, 2, 3]
}
"#;

    #[test]
    fn a_changed_scalar_is_one_line() {
        let out = patch(
            DOC,
            r#"{"editor.fontSize": 14}"#,
            r#"{"editor.fontSize": 15.5}"#,
        );
        assert_eq!(out, DOC.replace("14", "15.5"));
        let out = patch(DOC, r#"{"recent": [1, 2, 3]}"#, r#"{"recent": [1, 2, 4]}"#);
        assert_eq!(out, DOC.replace("[1, 2, 3]", "[1, 2, 4]"));
        let tricky = "quote \" backslash \\ newline \n tab \t nul \u{0} é 🎉";
        let new = serde_json::json!({ "editor.fontSize": tricky }).to_string();
        let out = patch(DOC, r#"{"editor.fontSize": 14}"#, &new);
        let key = [Seg::Key(View::Str("editor.fontSize".into()))];
        assert_eq!(view(&out).get(&key), Some(&View::Str(tricky.to_owned())));
    }

    #[test]
    fn new_keys_follow_their_siblings_at_the_file_indentation() {
        let out = patch(
            DOC,
            r#"{"editor.fontSize": 14, "files.exclude": {"**/.git": true}}"#,
            r#"{"editor.fontSize": 14, "editor.tabSize": 4, "files.exclude": {"**/.git": true, "target": true}}"#,
        );
        assert_eq!(
            out,
            DOC.replace("14,\n", "14,\n    \"editor.tabSize\": 4,\n")
                .replace(
                    "\"**/.git\": true\n",
                    "\"**/.git\": true,\n        \"target\": true\n"
                )
        );
    }

    #[test]
    fn removed_keys_and_elements_go() {
        let out = patch(
            DOC,
            r#"{"editor.fontSize": 14, "recent": [1, 2, 3]}"#,
            r#"{"recent": [2, 3]}"#,
        );
        assert_eq!(
            out,
            DOC.replace("    \"editor.fontSize\": 14,\n", "")
                .replace("[1, 2, 3]", "[2, 3]")
        );
    }
}
