//! A document's data as a tree ([`View`]), the same whatever the format:
//! what the diff compares, what the reference application of a patch
//! edits, and what a patched document is checked against.
//!
//! A view is made from text by the format's own parser (so a value's view
//! is exactly what its file says: a `None` field TOML leaves out is
//! absent, an enum is what the format makes of it), with mappings in the
//! order of the text.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// The key under which `toml` hands a datetime to a visitor.
pub(crate) const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";
/// The key under which `serde_json` (feature `arbitrary_precision`) hands
/// a number to a visitor.
const JSON_NUMBER_KEY: &str = "$serde_json::private::Number";

/// One value of a document.
#[derive(Debug, Clone)]
pub(crate) enum View {
    Null,
    Bool(bool),
    /// Every integer that fits an `i128`.
    Int(i128),
    /// An integer above `i128::MAX`.
    BigUint(u128),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    /// A TOML date, time or datetime, as TOML writes it.
    Datetime(String),
    Seq(Vec<View>),
    /// Entries in the document's order. A document may repeat a key; the
    /// view keeps what the parser gave.
    Map(Vec<(View, View)>),
}

/// A step of a path into a view: a mapping's key or a sequence's index.
#[derive(Debug, Clone)]
pub(crate) enum Seg {
    Key(View),
    Index(usize),
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seg::Key(View::Str(s)) => write!(f, ".{s}"),
            Seg::Key(k) => write!(f, ".{k:?}"),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path shown as `.a.b[2]`.
pub(crate) fn show_path(path: &[Seg]) -> String {
    if path.is_empty() {
        return "the root".to_owned();
    }
    path.iter().map(ToString::to_string).collect()
}

impl View {
    /// The entry `key` of a mapping: its index among the entries.
    pub(crate) fn position(entries: &[(View, View)], key: &View) -> Option<usize> {
        entries.iter().position(|(k, _)| k == key)
    }

    /// The value at `path`, if there is one.
    pub(crate) fn get(&self, path: &[Seg]) -> Option<&View> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        let child = match (self, first) {
            (View::Map(entries), Seg::Key(k)) => &entries[View::position(entries, k)?].1,
            (View::Seq(items), Seg::Index(i)) => items.get(*i)?,
            _ => return None,
        };
        child.get(rest)
    }

    /// The value at `path`, for editing.
    pub(crate) fn get_mut(&mut self, path: &[Seg]) -> Option<&mut View> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        let child = match (self, first) {
            (View::Map(entries), Seg::Key(k)) => {
                let at = View::position(entries, k)?;
                &mut entries[at].1
            }
            (View::Seq(items), Seg::Index(i)) => items.get_mut(*i)?,
            _ => return None,
        };
        child.get_mut(rest)
    }

    fn rank(&self) -> u8 {
        match self {
            View::Null => 0,
            View::Bool(_) => 1,
            View::Int(_) | View::BigUint(_) => 2,
            View::Float(_) => 3,
            View::Str(_) => 4,
            View::Bytes(_) => 5,
            View::Datetime(_) => 6,
            View::Seq(_) => 7,
            View::Map(_) => 8,
        }
    }

    /// A total order: by kind, then by value; floats by `total_cmp` (NaN
    /// is equal to itself), mappings by their entries in key order — the
    /// order of a mapping's entries is layout, not data.
    pub(crate) fn total_cmp(&self, other: &View) -> Ordering {
        use View as V;
        match (self, other) {
            (V::Bool(a), V::Bool(b)) => a.cmp(b),
            (V::Int(a), V::Int(b)) => a.cmp(b),
            (V::BigUint(a), V::BigUint(b)) => a.cmp(b),
            (V::Int(_), V::BigUint(_)) => Ordering::Less,
            (V::BigUint(_), V::Int(_)) => Ordering::Greater,
            (V::Float(a), V::Float(b)) => a.total_cmp(b),
            (V::Str(a), V::Str(b)) | (V::Datetime(a), V::Datetime(b)) => a.cmp(b),
            (V::Bytes(a), V::Bytes(b)) => a.cmp(b),
            (V::Seq(a), V::Seq(b)) => {
                for (x, y) in a.iter().zip(b) {
                    match x.total_cmp(y) {
                        Ordering::Equal => {}
                        unequal => return unequal,
                    }
                }
                a.len().cmp(&b.len())
            }
            (V::Map(a), V::Map(b)) => {
                let (a, b) = (sorted_entries(a), sorted_entries(b));
                for ((k1, v1), (k2, v2)) in a.iter().zip(&b) {
                    match k1.total_cmp(k2).then_with(|| v1.total_cmp(v2)) {
                        Ordering::Equal => {}
                        unequal => return unequal,
                    }
                }
                a.len().cmp(&b.len())
            }
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// A mapping's entries in key order (then value order, for repeated keys).
fn sorted_entries(entries: &[(View, View)]) -> Vec<&(View, View)> {
    let mut refs: Vec<&(View, View)> = entries.iter().collect();
    refs.sort_by(|(k1, v1), (k2, v2)| k1.total_cmp(k2).then_with(|| v1.total_cmp(v2)));
    refs
}

impl PartialEq for View {
    /// The same data: equal scalars (NaN equals NaN), equal sequences,
    /// mappings with the same entries in any order.
    fn eq(&self, other: &View) -> bool {
        use View as V;
        match (self, other) {
            (V::Map(a), V::Map(b)) => {
                // The common case, cheaply: the same keys in the same order.
                if a.len() != b.len() {
                    return false;
                }
                if a.iter().zip(b).all(|((k1, _), (k2, _))| k1 == k2) {
                    return a.iter().zip(b).all(|((_, v1), (_, v2))| v1 == v2);
                }
                self.total_cmp(other) == Ordering::Equal
            }
            (V::Seq(a), V::Seq(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y),
            (V::Float(a), V::Float(b)) => a.total_cmp(b) == Ordering::Equal,
            _ => self.rank() == other.rank() && self.total_cmp(other) == Ordering::Equal,
        }
    }
}

impl<'de> Deserialize<'de> for View {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<View, D::Error> {
        d.deserialize_any(ViewVisitor)
    }
}

struct ViewVisitor;

impl<'de> Visitor<'de> for ViewVisitor {
    type Value = View;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<View, E> {
        Ok(View::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<View, E> {
        Ok(View::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<View, E> {
        Ok(View::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<View, E> {
        Ok(View::Int(v.into()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<View, E> {
        Ok(i128::try_from(v).map_or(View::BigUint(v), View::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<View, E> {
        Ok(View::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<View, E> {
        Ok(View::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<View, E> {
        Ok(View::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<View, E> {
        Ok(View::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<View, E> {
        Ok(View::Bytes(v))
    }
    fn visit_unit<E>(self) -> Result<View, E> {
        Ok(View::Null)
    }
    fn visit_none<E>(self) -> Result<View, E> {
        Ok(View::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<View, D::Error> {
        View::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<View, D::Error> {
        View::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<View, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(View::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<View, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            // A format's private encoding of a scalar, as the first key.
            if entries.is_empty()
                && let View::Str(k) = &key
            {
                if k == TOML_DATETIME_KEY {
                    return Ok(View::Datetime(map.next_value()?));
                }
                if k == JSON_NUMBER_KEY {
                    let text: String = map.next_value()?;
                    return number(&text).ok_or_else(|| de::Error::custom("a malformed number"));
                }
            }
            entries.push((key, map.next_value()?));
        }
        Ok(View::Map(entries))
    }
}

/// A mapping's key, read as a string where it can be: so do a struct's
/// fields and a `HashMap<String, _>`'s keys, whatever the text looks like
/// (YAML reads a plain `n` or `on` as a boolean otherwise).
struct KeySeed;

impl<'de> de::DeserializeSeed<'de> for KeySeed {
    type Value = View;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<View, D::Error> {
        d.deserialize_string(ViewVisitor)
    }
}

/// A number's text, as an integer when it is one.
fn number(text: &str) -> Option<View> {
    if let Ok(v) = text.parse::<i128>() {
        return Some(View::Int(v));
    }
    if let Ok(v) = text.parse::<u128>() {
        return Some(View::BigUint(v));
    }
    text.parse::<f64>().ok().map(View::Float)
}

impl Serialize for View {
    /// Writes the view through a format's serializer: a datetime as a
    /// string, everything else as itself, mappings in their order.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            View::Null => s.serialize_unit(),
            View::Bool(v) => s.serialize_bool(*v),
            View::Int(v) => match i64::try_from(*v) {
                Ok(small) => s.serialize_i64(small),
                Err(_) => match u64::try_from(*v) {
                    Ok(unsigned) => s.serialize_u64(unsigned),
                    Err(_) => s.serialize_i128(*v),
                },
            },
            View::BigUint(v) => s.serialize_u128(*v),
            View::Float(v) => s.serialize_f64(*v),
            View::Str(v) | View::Datetime(v) => s.serialize_str(v),
            View::Bytes(v) => s.serialize_bytes(v),
            View::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            View::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, View)]) -> View {
        View::Map(
            entries
                .iter()
                .map(|(k, v)| (View::Str((*k).to_owned()), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn mappings_are_equal_in_any_order_and_nan_is_itself() {
        let a = map(&[("x", View::Int(1)), ("y", View::Float(f64::NAN))]);
        let b = map(&[("y", View::Float(f64::NAN)), ("x", View::Int(1))]);
        assert_eq!(a, b);
        assert_ne!(a, map(&[("x", View::Int(1))]));
        assert_ne!(View::Int(1), View::Float(1.0));
        assert_ne!(
            View::Seq(vec![View::Int(1), View::Int(2)]),
            View::Seq(vec![View::Int(2), View::Int(1)])
        );
    }

    #[test]
    fn a_json_text_gives_its_view_in_document_order() {
        let v: View =
            serde_json::from_str(r#"{"b": [1, -2, 2.5, null], "a": {"s": "x"}}"#).unwrap();
        let View::Map(entries) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(entries[0].0, View::Str("b".into()));
        assert_eq!(
            v.get(&[Seg::Key(View::Str("b".into())), Seg::Index(1)]),
            Some(&View::Int(-2))
        );
        assert_eq!(
            v.get(&[
                Seg::Key(View::Str("a".into())),
                Seg::Key(View::Str("s".into()))
            ]),
            Some(&View::Str("x".into()))
        );
        let back = serde_json::to_string(&v).unwrap();
        assert_eq!(back, r#"{"b":[1,-2,2.5,null],"a":{"s":"x"}}"#);
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn yaml_keys_are_strings_as_a_struct_reads_them() {
        let v: View = serde_saphyr::from_str("n: 1\n\"y\": 2\non: 3\n7: 4\n").unwrap();
        let View::Map(entries) = v else { panic!() };
        let keys: Vec<_> = entries.into_iter().map(|(k, _)| k).collect();
        let strings: Vec<View> = ["n", "y", "on", "7"]
            .iter()
            .map(|k| View::Str((*k).to_owned()))
            .collect();
        assert_eq!(keys, strings);
    }

    #[test]
    fn show_path_names_keys_and_indexes() {
        let path = [
            Seg::Key(View::Str("servers".into())),
            Seg::Index(2),
            Seg::Key(View::Int(7)),
        ];
        assert_eq!(show_path(&path), ".servers[2].Int(7)");
        assert_eq!(show_path(&[]), "the root");
    }
}
