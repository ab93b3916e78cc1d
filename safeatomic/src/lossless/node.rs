//! A value as serde sees it: the exact sequence of `Serializer` calls a
//! `Serialize` type makes, captured as a tree ([`Node`]) that can be
//! compared, diffed (through [`super::view`]) and replayed into any format's
//! serializer (`impl Serialize for Node`): replaying gives the bytes the
//! value itself would give.
//!
//! Struct, field and variant names are the `&'static str`s serde passes,
//! so a replay needs no allocation tricks; the one exception is a field a
//! RON document has and the type does not, whose name is interned
//! ([`intern`]).

use serde::ser::{self, Serialize};
use std::fmt;

/// One serde value, as its `Serialize` impl described it.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Bool(bool),
    I64(i64),
    I128(i128),
    U64(u64),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    None,
    Some(Box<Node>),
    Unit,
    UnitStruct(&'static str),
    UnitVariant(Variant),
    NewtypeStruct(&'static str, Box<Node>),
    NewtypeVariant(Variant, Box<Node>),
    Seq(Vec<Node>),
    Tuple(Vec<Node>),
    TupleStruct(&'static str, Vec<Node>),
    TupleVariant(Variant, Vec<Node>),
    /// Entries in the order the value gave them; `sized`: whether it
    /// announced its length (`HashMap`, `BTreeMap`, `IndexMap` do; a struct
    /// with `#[serde(flatten)]` does not).
    Map {
        entries: Vec<(Node, Node)>,
        sized: bool,
    },
    Struct(&'static str, Vec<Field>),
    StructVariant(Variant, Vec<Field>),
    /// A RON value kept as its text (a field the type does not know).
    #[cfg(feature = "ron")]
    RawRon(Box<ron::value::RawValue>),
}

/// An enum variant: its enum's name, index and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Variant {
    pub(crate) name: &'static str,
    pub(crate) index: u32,
    pub(crate) variant: &'static str,
}

/// A struct field; `None` value: skipped (`serialize_skip`... or a field
/// the serializer was told to skip).
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) key: &'static str,
    pub(crate) value: Node,
}

impl Node {
    /// The value with `key: version` first among its fields or entries (a
    /// schema version on a whole-document write); anything but a struct
    /// or a map as it is.
    pub(crate) fn stamped(self, key: &'static str, version: u32) -> Node {
        let version = Node::U64(version.into());
        match self {
            Node::Struct(name, mut fields) => {
                fields.retain(|f| f.key != key);
                fields.insert(
                    0,
                    Field {
                        key,
                        value: version,
                    },
                );
                Node::Struct(name, fields)
            }
            Node::Map { mut entries, sized } => {
                entries.retain(|(k, _)| !matches!(k, Node::Str(s) if s == key));
                entries.insert(0, (Node::Str(key.to_owned()), version));
                Node::Map { entries, sized }
            }
            other => other,
        }
    }
}

/// Captures what `value` serializes to.
pub(crate) fn capture<T: Serialize + ?Sized>(value: &T) -> Result<Node, CaptureError> {
    value.serialize(Capture)
}

/// A `Serialize` impl that failed while captured (its own custom error).
#[derive(Debug)]
pub(crate) struct CaptureError(String);

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CaptureError {}

impl ser::Error for CaptureError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CaptureError(msg.to_string())
    }
}

/// Interns a field name that is not one of the type's own (a RON field the
/// type does not know), so that it can be replayed as a `&'static str`.
/// Each distinct name is leaked once; at most [`MAX_INTERNED`] are, after
/// which `None` (the caller then keeps the document's text instead).
#[cfg(feature = "ron")]
pub(crate) fn intern(name: &str) -> Option<&'static str> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(known) = names.get(name) {
        return Some(known);
    }
    if names.len() >= MAX_INTERNED {
        return None;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    Some(leaked)
}

/// How many distinct unknown field names a process interns at most.
#[cfg(feature = "ron")]
const MAX_INTERNED: usize = 4096;

impl Node {
    /// Puts the entries of every map that announced its length (`HashMap`,
    /// `BTreeMap`, `IndexMap`) in key order, so that the same value always
    /// gives the same bytes: a `HashMap`'s iteration order changes from run
    /// to run. Maps that did not announce a length (a struct with
    /// `#[serde(flatten)]`) keep their order: it is the struct's.
    pub(crate) fn normalize(&mut self) {
        match self {
            Node::Some(v) | Node::NewtypeStruct(_, v) | Node::NewtypeVariant(_, v) => v.normalize(),
            Node::Seq(items)
            | Node::Tuple(items)
            | Node::TupleStruct(_, items)
            | Node::TupleVariant(_, items) => items.iter_mut().for_each(Node::normalize),
            Node::Map { entries, sized } => {
                for (k, v) in entries.iter_mut() {
                    k.normalize();
                    v.normalize();
                }
                if *sized {
                    entries.sort_by(|(a, _), (b, _)| key_order(a, b));
                }
            }
            Node::Struct(_, fields) | Node::StructVariant(_, fields) => {
                fields.iter_mut().for_each(|f| f.value.normalize());
            }
            _ => {}
        }
    }

    /// Whether two captures are the same value: the same calls with the
    /// same arguments (floats compared bit for bit, so NaN is itself).
    pub(crate) fn same(&self, other: &Node) -> bool {
        use Node as N;
        let all =
            |a: &[Node], b: &[Node]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y));
        let fields = |a: &[Field], b: &[Field]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.key == y.key && x.value.same(&y.value))
        };
        match (self, other) {
            (N::Bool(a), N::Bool(b)) => a == b,
            (N::I64(a), N::I64(b)) => a == b,
            (N::I128(a), N::I128(b)) => a == b,
            (N::U64(a), N::U64(b)) => a == b,
            (N::U128(a), N::U128(b)) => a == b,
            (N::F32(a), N::F32(b)) => a.to_bits() == b.to_bits(),
            (N::F64(a), N::F64(b)) => a.to_bits() == b.to_bits(),
            (N::Char(a), N::Char(b)) => a == b,
            (N::Str(a), N::Str(b)) => a == b,
            (N::Bytes(a), N::Bytes(b)) => a == b,
            (N::None, N::None) | (N::Unit, N::Unit) => true,
            (N::Some(a), N::Some(b)) => a.same(b),
            (N::UnitStruct(a), N::UnitStruct(b)) => a == b,
            (N::UnitVariant(a), N::UnitVariant(b)) => a == b,
            (N::NewtypeStruct(n, a), N::NewtypeStruct(m, b)) => n == m && a.same(b),
            (N::NewtypeVariant(n, a), N::NewtypeVariant(m, b)) => n == m && a.same(b),
            (N::Seq(a), N::Seq(b)) | (N::Tuple(a), N::Tuple(b)) => all(a, b),
            (N::TupleStruct(n, a), N::TupleStruct(m, b)) => n == m && all(a, b),
            (N::TupleVariant(n, a), N::TupleVariant(m, b)) => n == m && all(a, b),
            (
                N::Map {
                    entries: a,
                    sized: x,
                },
                N::Map {
                    entries: b,
                    sized: y,
                },
            ) => {
                x == y
                    && a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((k1, v1), (k2, v2))| k1.same(k2) && v1.same(v2))
            }
            (N::Struct(n, a), N::Struct(m, b)) => n == m && fields(a, b),
            (N::StructVariant(n, a), N::StructVariant(m, b)) => n == m && fields(a, b),
            #[cfg(feature = "ron")]
            (N::RawRon(a), N::RawRon(b)) => a.get_ron() == b.get_ron(),
            _ => false,
        }
    }
}

/// The order map keys are written in: strings (and chars) by their text,
/// integers by value, booleans, then unit variants by name; keys of any
/// other kind after those, in the order they came (they compare equal,
/// and the sort is stable).
fn key_order(a: &Node, b: &Node) -> std::cmp::Ordering {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Key<'a> {
        Text(std::borrow::Cow<'a, str>),
        Negative(i128),
        Natural(u128),
        Bool(bool),
        Variant(&'a str),
        Other,
    }
    fn key(n: &Node) -> Key<'_> {
        match n {
            Node::Str(s) => Key::Text(s.as_str().into()),
            Node::Char(c) => Key::Text(c.to_string().into()),
            Node::I64(v) => int(i128::from(*v)),
            Node::I128(v) => int(*v),
            Node::U64(v) => Key::Natural(u128::from(*v)),
            Node::U128(v) => Key::Natural(*v),
            Node::Bool(v) => Key::Bool(*v),
            Node::UnitVariant(v) => Key::Variant(v.variant),
            Node::NewtypeStruct(_, inner) => key(inner),
            _ => Key::Other,
        }
    }
    fn int<'a>(v: i128) -> Key<'a> {
        match u128::try_from(v) {
            Ok(n) => Key::Natural(n),
            Err(_) => Key::Negative(v),
        }
    }
    key(a).cmp(&key(b))
}

struct Capture;

impl ser::Serializer for Capture {
    type Ok = Node;
    type Error = CaptureError;
    type SerializeSeq = SeqCapture;
    type SerializeTuple = SeqCapture;
    type SerializeTupleStruct = SeqCapture;
    type SerializeTupleVariant = SeqCapture;
    type SerializeMap = MapCapture;
    type SerializeStruct = StructCapture;
    type SerializeStructVariant = StructCapture;

    fn serialize_bool(self, v: bool) -> Result<Node, CaptureError> {
        Ok(Node::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Node, CaptureError> {
        Ok(Node::I64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Node, CaptureError> {
        Ok(Node::I64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Node, CaptureError> {
        Ok(Node::I64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Node, CaptureError> {
        Ok(Node::I64(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Node, CaptureError> {
        Ok(Node::I128(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Node, CaptureError> {
        Ok(Node::U64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Node, CaptureError> {
        Ok(Node::U64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Node, CaptureError> {
        Ok(Node::U64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Node, CaptureError> {
        Ok(Node::U64(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Node, CaptureError> {
        Ok(Node::U128(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Node, CaptureError> {
        Ok(Node::F32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Node, CaptureError> {
        Ok(Node::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<Node, CaptureError> {
        Ok(Node::Char(v))
    }
    fn serialize_str(self, v: &str) -> Result<Node, CaptureError> {
        Ok(Node::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Node, CaptureError> {
        Ok(Node::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Node, CaptureError> {
        Ok(Node::None)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Node, CaptureError> {
        Ok(Node::Some(Box::new(value.serialize(Capture)?)))
    }
    fn serialize_unit(self) -> Result<Node, CaptureError> {
        Ok(Node::Unit)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Node, CaptureError> {
        Ok(Node::UnitStruct(name))
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<Node, CaptureError> {
        Ok(Node::UnitVariant(Variant {
            name,
            index,
            variant,
        }))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Node, CaptureError> {
        Ok(Node::NewtypeStruct(
            name,
            Box::new(value.serialize(Capture)?),
        ))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Node, CaptureError> {
        Ok(Node::NewtypeVariant(
            Variant {
                name,
                index,
                variant,
            },
            Box::new(value.serialize(Capture)?),
        ))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqCapture, CaptureError> {
        Ok(SeqCapture::new(SeqKind::Seq, len))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqCapture, CaptureError> {
        Ok(SeqCapture::new(SeqKind::Tuple, Some(len)))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<SeqCapture, CaptureError> {
        Ok(SeqCapture::new(SeqKind::TupleStruct(name), Some(len)))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqCapture, CaptureError> {
        let v = Variant {
            name,
            index,
            variant,
        };
        Ok(SeqCapture::new(SeqKind::TupleVariant(v), Some(len)))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapCapture, CaptureError> {
        Ok(MapCapture {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            sized: len.is_some(),
            key: None,
        })
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<StructCapture, CaptureError> {
        Ok(StructCapture {
            kind: StructKind::Struct(name),
            fields: Vec::with_capacity(len),
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<StructCapture, CaptureError> {
        Ok(StructCapture {
            kind: StructKind::Variant(Variant {
                name,
                index,
                variant,
            }),
            fields: Vec::with_capacity(len),
        })
    }
}

enum SeqKind {
    Seq,
    Tuple,
    TupleStruct(&'static str),
    TupleVariant(Variant),
}

struct SeqCapture {
    kind: SeqKind,
    items: Vec<Node>,
}

impl SeqCapture {
    fn new(kind: SeqKind, len: Option<usize>) -> Self {
        SeqCapture {
            kind,
            items: Vec::with_capacity(len.unwrap_or(0)),
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CaptureError> {
        self.items.push(value.serialize(Capture)?);
        Ok(())
    }

    fn done(self) -> Node {
        match self.kind {
            SeqKind::Seq => Node::Seq(self.items),
            SeqKind::Tuple => Node::Tuple(self.items),
            SeqKind::TupleStruct(name) => Node::TupleStruct(name, self.items),
            SeqKind::TupleVariant(v) => Node::TupleVariant(v, self.items),
        }
    }
}

/// The four sequence-like serde traits, all pushing onto a `SeqCapture`.
macro_rules! seq_capture {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for SeqCapture {
            type Ok = Node;
            type Error = CaptureError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CaptureError> {
                self.push(value)
            }
            fn end(self) -> Result<Node, CaptureError> {
                Ok(self.done())
            }
        }
    )*};
}

seq_capture!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

struct MapCapture {
    entries: Vec<(Node, Node)>,
    sized: bool,
    key: Option<Node>,
}

impl ser::SerializeMap for MapCapture {
    type Ok = Node;
    type Error = CaptureError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), CaptureError> {
        self.key = Some(key.serialize(Capture)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CaptureError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| CaptureError("a map value without its key".to_owned()))?;
        self.entries.push((key, value.serialize(Capture)?));
        Ok(())
    }
    fn end(self) -> Result<Node, CaptureError> {
        Ok(Node::Map {
            entries: self.entries,
            sized: self.sized,
        })
    }
}

enum StructKind {
    Struct(&'static str),
    Variant(Variant),
}

struct StructCapture {
    kind: StructKind,
    fields: Vec<Field>,
}

impl StructCapture {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CaptureError> {
        self.fields.push(Field {
            key,
            value: value.serialize(Capture)?,
        });
        Ok(())
    }

    fn done(self) -> Node {
        match self.kind {
            StructKind::Struct(name) => Node::Struct(name, self.fields),
            StructKind::Variant(v) => Node::StructVariant(v, self.fields),
        }
    }
}

impl ser::SerializeStruct for StructCapture {
    type Ok = Node;
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CaptureError> {
        self.field(key, value)
    }
    fn end(self) -> Result<Node, CaptureError> {
        Ok(self.done())
    }
}

impl ser::SerializeStructVariant for StructCapture {
    type Ok = Node;
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CaptureError> {
        self.field(key, value)
    }
    fn end(self) -> Result<Node, CaptureError> {
        Ok(self.done())
    }
}

impl Serialize for Node {
    /// Replays the captured calls: the same bytes the value would give.
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use ser::{
            SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
            SerializeTupleStruct, SerializeTupleVariant,
        };
        match self {
            Node::Bool(v) => s.serialize_bool(*v),
            Node::I64(v) => s.serialize_i64(*v),
            Node::I128(v) => s.serialize_i128(*v),
            Node::U64(v) => s.serialize_u64(*v),
            Node::U128(v) => s.serialize_u128(*v),
            Node::F32(v) => s.serialize_f32(*v),
            Node::F64(v) => s.serialize_f64(*v),
            Node::Char(v) => s.serialize_char(*v),
            Node::Str(v) => s.serialize_str(v),
            Node::Bytes(v) => s.serialize_bytes(v),
            Node::None => s.serialize_none(),
            Node::Some(v) => s.serialize_some(v),
            Node::Unit => s.serialize_unit(),
            Node::UnitStruct(name) => s.serialize_unit_struct(name),
            Node::UnitVariant(v) => s.serialize_unit_variant(v.name, v.index, v.variant),
            Node::NewtypeStruct(name, v) => s.serialize_newtype_struct(name, v),
            Node::NewtypeVariant(var, v) => {
                s.serialize_newtype_variant(var.name, var.index, var.variant, v)
            }
            Node::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Node::Tuple(items) => {
                let mut t = s.serialize_tuple(items.len())?;
                for i in items {
                    t.serialize_element(i)?;
                }
                t.end()
            }
            Node::TupleStruct(name, items) => {
                let mut t = s.serialize_tuple_struct(name, items.len())?;
                for i in items {
                    t.serialize_field(i)?;
                }
                t.end()
            }
            Node::TupleVariant(v, items) => {
                let mut t = s.serialize_tuple_variant(v.name, v.index, v.variant, items.len())?;
                for i in items {
                    t.serialize_field(i)?;
                }
                t.end()
            }
            Node::Map { entries, sized } => {
                let mut m = s.serialize_map(sized.then_some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Node::Struct(name, fields) => {
                let mut st = s.serialize_struct(name, fields.len())?;
                for f in fields {
                    st.serialize_field(f.key, &f.value)?;
                }
                st.end()
            }
            Node::StructVariant(v, fields) => {
                let mut st =
                    s.serialize_struct_variant(v.name, v.index, v.variant, fields.len())?;
                for f in fields {
                    st.serialize_field(f.key, &f.value)?;
                }
                st.end()
            }
            #[cfg(feature = "ron")]
            Node::RawRon(raw) => raw.serialize(s),
        }
    }
}
