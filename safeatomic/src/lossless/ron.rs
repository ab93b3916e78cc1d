//! RON documents: there is no format-preserving RON editor, so the new
//! value is merged into the document's structure and written afresh.
//! Kept: fields the type does not know (their text, verbatim), and the
//! document's field and map-entry order; new fields go after the field
//! that precedes them in the type. Lost: comments and layout (the file is
//! pretty-printed again).

use super::Fallback;
use super::node::{self, Field, Node};
use ron::value::RawValue;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// `new` merged into the document `doc`, written out; checked to read back
/// as `new` and to keep every field of the document the type lacks.
pub(super) fn merge(
    doc: &str,
    old: &Node,
    new: &Node,
    reads_back_as_new: &dyn Fn(&[u8]) -> bool,
) -> Result<Vec<u8>, Fallback> {
    let doc =
        RawValue::from_ron(doc).map_err(|e| Fallback::new(format!("the RON document: {e}")))?;
    let merged = merged(new, Some(old), Some(doc))?;
    let text = write(&merged, names_structs(doc.get_ron()))?;
    // Read back: the type sees the new value, and merging again changes
    // nothing (every field kept is still there, with the same text).
    let again =
        RawValue::from_ron(&text).map_err(|e| Fallback::new(format!("the merged RON: {e}")))?;
    let stable = merged.same(&self::merged(new, Some(new), Some(again))?);
    if stable && reads_back_as_new(text.as_bytes()) {
        Ok(text.into_bytes())
    } else {
        Err(Fallback::new(
            "the merged RON document does not read back as the new value",
        ))
    }
}

/// Whether a RON text names its structs: `Config(…)`, not `(…)`.
fn names_structs(mut ron: &str) -> bool {
    // Past the comments and `#![enable(…)]` attributes before the value.
    loop {
        ron = ron.trim_start();
        let skip = if ron.starts_with("//") {
            ron.find('\n').unwrap_or(ron.len())
        } else if ron.starts_with("/*") {
            ron.find("*/").map_or(ron.len(), |at| at + 2)
        } else if ron.starts_with("#!") {
            ron.find(']').map_or(ron.len(), |at| at + 1)
        } else {
            break;
        };
        ron = &ron[skip..];
    }
    let name_end = ron
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(ron.len());
    name_end > 0 && ron[name_end..].trim_start().starts_with('(')
}

fn write(node: &Node, struct_names: bool) -> Result<String, Fallback> {
    // The style of the format's own writer (format/ron.rs), naming structs
    // if the document did.
    let config = ron::ser::PrettyConfig::default().struct_names(struct_names);
    let mut text = ron::ser::to_string_pretty(node, config)
        .map_err(|e| Fallback::new(format!("RON cannot write the merged value: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// The structure of a RON value, one level deep.
pub(super) enum Shape<'a> {
    /// A struct or a map: its keys (`None`: not a string or identifier)
    /// and their values' text.
    Entries(Vec<(Option<String>, &'a RawValue)>),
    /// A sequence or tuple.
    Items(Vec<&'a RawValue>),
    /// `Some(…)`.
    Some(&'a RawValue),
    Other,
}

pub(super) fn shape(raw: &RawValue) -> Shape<'_> {
    let Ok(mut de) = ron::Deserializer::from_str(raw.get_ron()) else {
        return Shape::Other;
    };
    (&mut de)
        .deserialize_any(ShapeVisitor)
        .unwrap_or(Shape::Other)
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any RON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_i128<E>(self, _: i128) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_u128<E>(self, _: u128) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_char<E>(self, _: char) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_unit<E>(self) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_none<E>(self) -> Result<Shape<'de>, E> {
        Ok(Shape::Other)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shape<'de>, D::Error> {
        <&RawValue>::deserialize(d).map(Shape::Some)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Shape<'de>, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Shape::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&RawValue>()? {
            items.push(item);
        }
        Ok(Shape::Items(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<KeyName>()? {
            entries.push((key.0, map.next_value::<&RawValue>()?));
        }
        Ok(Shape::Entries(entries))
    }
}

/// A struct field's or a map key's name, if it is a string or an
/// identifier.
struct KeyName(Option<String>);

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyName, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyName, E> {
                Ok(KeyName(Some(v.to_owned())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_i128<E>(self, _: i128) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_u128<E>(self, _: u128) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_char<E>(self, _: char) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_unit<E>(self) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_none<E>(self) -> Result<KeyName, E> {
                Ok(KeyName(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<KeyName, D::Error> {
                IgnoredAny::deserialize(d).map(|_| KeyName(None))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<KeyName, D::Error> {
                IgnoredAny::deserialize(d).map(|_| KeyName(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyName, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeyName(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyName, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KeyName(None))
            }
            fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<KeyName, A::Error> {
                Err(de::Error::custom("an enum key"))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

/// `new`, with the document `doc`'s order and the fields the type lacks.
/// `old` (the value the document was read as) tells a field the type
/// knows but no longer writes (an `Option` now `None` and skipped) from
/// one it does not know.
fn merged(new: &Node, old: Option<&Node>, doc: Option<&RawValue>) -> Result<Node, Fallback> {
    let Some(doc) = doc else {
        return Ok(new.clone());
    };
    Ok(match new {
        Node::Struct(name, fields) => match (shape(doc), old) {
            (Shape::Entries(entries), Some(Node::Struct(_, old_fields))) => {
                Node::Struct(name, merged_fields(fields, old_fields, &entries)?)
            }
            (Shape::Entries(entries), _) => {
                Node::Struct(name, merged_fields(fields, &[], &entries)?)
            }
            _ => new.clone(),
        },
        Node::StructVariant(variant, fields) => match (shape(doc), old) {
            (Shape::Entries(entries), Some(Node::StructVariant(v, old_fields))) if v == variant => {
                Node::StructVariant(*variant, merged_fields(fields, old_fields, &entries)?)
            }
            (Shape::Entries(entries), _) => {
                Node::StructVariant(*variant, merged_fields(fields, &[], &entries)?)
            }
            _ => new.clone(),
        },
        Node::Some(inner) => match shape(doc) {
            Shape::Some(raw) => {
                let old = match old {
                    Some(Node::Some(o)) => Some(&**o),
                    _ => None,
                };
                Node::Some(Box::new(merged(inner, old, Some(raw))?))
            }
            _ => new.clone(),
        },
        Node::Seq(items) => match shape(doc) {
            Shape::Items(raws) => {
                let old_items = match old {
                    Some(Node::Seq(o)) => &o[..],
                    _ => &[],
                };
                Node::Seq(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| merged(item, old_items.get(i), raws.get(i).copied()))
                        .collect::<Result<_, _>>()?,
                )
            }
            _ => new.clone(),
        },
        Node::Map { entries, sized } => match shape(doc) {
            Shape::Entries(doc_entries) => Node::Map {
                entries: merged_map(entries, old, &doc_entries)?,
                sized: *sized,
            },
            _ => new.clone(),
        },
        _ => new.clone(),
    })
}

/// A struct's fields: the document's first, in its order (the type's
/// value where it has the field, the document's text where the type does
/// not know it; gone where the type knows it and no longer writes it),
/// then the type's other fields, each after the one before it in the type.
fn merged_fields(
    fields: &[Field],
    old_fields: &[Field],
    doc: &[(Option<String>, &RawValue)],
) -> Result<Vec<Field>, Fallback> {
    let mut out: Vec<Field> = Vec::with_capacity(fields.len().max(doc.len()));
    for (name, raw) in doc {
        let Some(name) = name else { continue };
        let old = old_fields.iter().find(|f| f.key == name).map(|f| &f.value);
        match fields.iter().find(|f| f.key == name) {
            Some(field) => out.push(Field {
                key: field.key,
                value: merged(&field.value, old, Some(raw))?,
            }),
            None if old.is_some() => {} // the type's, and not written now
            None => {
                let key = node::intern(name).ok_or_else(|| {
                    Fallback::new("too many field names the program does not know")
                })?;
                out.push(Field {
                    key,
                    value: Node::RawRon((*raw).to_owned()),
                });
            }
        }
    }
    for (i, field) in fields.iter().enumerate() {
        if out.iter().any(|f| f.key == field.key) {
            continue;
        }
        let after = fields[..i]
            .iter()
            .rev()
            .find_map(|before| out.iter().position(|f| f.key == before.key));
        let at = match after {
            Some(at) => at + 1,
            None => fields[i + 1..]
                .iter()
                .find_map(|next| out.iter().position(|f| f.key == next.key))
                .unwrap_or(out.len()),
        };
        out.insert(at, field.clone());
    }
    Ok(out)
}

/// A map's entries: those the document has, in its order (merged into
/// their text there), then the new ones in the value's (sorted) order.
/// Entries the document has and the value does not are gone: a map's
/// entries are all the program's.
fn merged_map(
    entries: &[(Node, Node)],
    old: Option<&Node>,
    doc: &[(Option<String>, &RawValue)],
) -> Result<Vec<(Node, Node)>, Fallback> {
    let old_entries = match old {
        Some(Node::Map { entries, .. }) => &entries[..],
        _ => &[],
    };
    let name = |k: &Node| match k {
        Node::Str(s) => Some(s.clone()),
        _ => None,
    };
    let mut out = Vec::with_capacity(entries.len());
    let mut used = vec![false; entries.len()];
    for (doc_key, raw) in doc {
        let Some(doc_key) = doc_key else { continue };
        if let Some(i) = entries
            .iter()
            .position(|(k, _)| name(k).as_deref() == Some(doc_key.as_str()))
            .filter(|i| !used[*i])
        {
            used[i] = true;
            let old = old_entries
                .iter()
                .find(|(k, _)| k.same(&entries[i].0))
                .map(|(_, v)| v);
            out.push((entries[i].0.clone(), merged(&entries[i].1, old, Some(raw))?));
        }
    }
    for (i, entry) in entries.iter().enumerate() {
        if !used[i] {
            out.push(entry.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Old {
        volume: u8,
        server: Server,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Server {
        host: String,
    }

    fn captured<T: Serialize>(v: &T) -> Node {
        let mut n = node::capture(v).unwrap();
        n.normalize();
        n
    }

    #[test]
    fn unknown_fields_and_the_document_order_survive() {
        let doc = "// a comment\n(\n    server: (host: \"a\", tls: Some(Required(level: 2))),\n    notify: [\"mail\"],\n    volume: 3,\n)\n";
        let new = Old {
            volume: 4,
            server: Server { host: "b".into() },
        };
        let reads_back = |b: &[u8]| ron::de::from_bytes::<Old>(b).is_ok_and(|v| v == new);
        let old = Old {
            volume: 3,
            server: Server { host: "a".into() },
        };
        let out =
            String::from_utf8(merge(doc, &captured(&old), &captured(&new), &reads_back).unwrap())
                .unwrap();
        let server = out.find("server").unwrap();
        let notify = out.find("notify: [\"mail\"]").unwrap();
        let volume = out.find("volume: 4").unwrap();
        assert!(server < notify && notify < volume, "{out}");
        assert!(out.contains("tls: Some(Required(level: 2))"), "{out}");
        assert!(out.contains("host: \"b\""), "{out}");
    }

    #[test]
    fn a_document_that_names_its_structs_is_written_naming_them() {
        assert!(names_structs(
            "// c\n/* d */ #![enable(implicit_some)]\nScene (a: 1)"
        ));
        assert!(names_structs("Scene(a: 1)"));
        assert!(!names_structs("(a: 1)"));
        assert!(!names_structs("[Scene(a: 1)]"));
    }

    #[test]
    fn a_new_field_follows_its_predecessor() {
        #[derive(Serialize)]
        struct New {
            a: u8,
            b: u8,
            c: u8,
        }
        let out = merged(
            &captured(&New { a: 1, b: 2, c: 3 }),
            None,
            Some(RawValue::from_ron("(c: 3, x: 0, a: 1)").unwrap()),
        )
        .unwrap();
        let Node::Struct(_, fields) = out else {
            panic!()
        };
        let keys: Vec<_> = fields.iter().map(|f| f.key).collect();
        assert_eq!(keys, ["c", "x", "a", "b"]);
    }
}
