//! TOML documents through `toml_edit`, the format-preserving TOML crate
//! cargo uses: a view of a document in its own order, the edits of a
//! patch made in place (comments, blank lines, indentation, quoting and
//! the other keys untouched), and a fresh document for a view.

use super::diff::{Editor, Mismatch, Place, place};
use super::view::{Seg, View, show_path};
use ::toml::de::{DeTable, DeValue};
use toml_edit::{Array, ArrayOfTables, Decor, DocumentMut, InlineTable, Item, Key, Table, Value};

/// The entries of an ordered (inline) table from index `$at` on, taken
/// out, in their order: what goes at `$at` is then inserted, and these put
/// back after it. (Taken from the end, so that each removal is of the
/// map's last entry, O(1).)
macro_rules! take_tail {
    ($table:expr, $at:expr) => {{
        let tail: Vec<String> = $table.iter().skip($at).map(|(k, _)| k.to_owned()).collect();
        let mut moved: Vec<_> = tail
            .iter()
            .rev()
            .filter_map(|k| $table.remove_entry(k))
            .collect();
        moved.reverse();
        moved
    }};
}

/// A parsed document, being edited.
pub(super) struct Document {
    doc: DocumentMut,
}

impl Document {
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        text.parse::<DocumentMut>()
            .map(|doc| Self { doc })
            .map_err(|e| e.to_string())
    }

    /// The document's data, in its order.
    pub(super) fn view(&self) -> View {
        table_view(self.doc.as_table())
    }

    pub(super) fn render(&self) -> String {
        self.doc.to_string()
    }
}

/// A document for a view whose root is a mapping: mappings as `[tables]`,
/// sequences of mappings as `[[arrays of tables]]`, as `toml` writes them.
pub(super) fn fresh(view: &View) -> Result<String, Mismatch> {
    let table = new_table(view)?;
    Ok(DocumentMut::from(table).to_string())
}

fn table_view(table: &Table) -> View {
    View::Map(
        table
            .iter()
            .map(|(k, item)| (View::Str(k.to_owned()), item_view(item)))
            .collect(),
    )
}

fn item_view(item: &Item) -> View {
    match item {
        Item::None => View::Null,
        Item::Value(v) => value_view(v),
        Item::Table(t) => table_view(t),
        Item::ArrayOfTables(a) => View::Seq(a.iter().map(table_view).collect()),
    }
}

fn value_view(value: &Value) -> View {
    match value {
        Value::String(s) => View::Str(s.value().clone()),
        Value::Integer(i) => View::Int((*i.value()).into()),
        Value::Float(f) => View::Float(*f.value()),
        Value::Boolean(b) => View::Bool(*b.value()),
        Value::Datetime(d) => View::Datetime(d.value().to_string()),
        Value::Array(a) => View::Seq(a.iter().map(value_view).collect()),
        Value::InlineTable(t) => View::Map(
            t.iter()
                .map(|(k, v)| (View::Str(k.to_owned()), value_view(v)))
                .collect(),
        ),
    }
}

/// A TOML text as `toml` reads it, parsed once: its view, in the text's
/// order, and the deserializer `toml::from_str` would use on it. `toml`'s
/// parser is about twice as fast as `toml_edit`'s, which only the editor
/// needs.
pub(super) fn read(text: &str) -> Result<(View, ::toml::de::Deserializer<'_>), String> {
    let root = DeTable::parse(text).map_err(|e| e.to_string())?;
    let view = de_table_view(root.get_ref())?;
    Ok((view, ::toml::de::Deserializer::from(root)))
}

fn de_table_view(table: &DeTable<'_>) -> Result<View, String> {
    // `toml` keeps a table's keys sorted; their places in the text give
    // the text's order back.
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
        .into_iter()
        .map(|(key, value)| {
            Ok((
                View::Str(key.get_ref().to_string()),
                de_view(value.get_ref())?,
            ))
        })
        .collect::<Result<_, String>>()
        .map(View::Map)
}

fn de_view(value: &DeValue<'_>) -> Result<View, String> {
    Ok(match value {
        DeValue::String(s) => View::Str(s.to_string()),
        // As `toml` reads them: a 64-bit integer, a float by `FromStr`.
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(|i| View::Int(i.into()))
            .map_err(|e| format!("integer {i}: {e}"))?,
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .map(View::Float)
            .map_err(|e| format!("float {f}: {e}"))?,
        DeValue::Boolean(b) => View::Bool(*b),
        DeValue::Datetime(d) => View::Datetime(d.to_string()),
        DeValue::Array(items) => View::Seq(
            items
                .iter()
                .map(|item| de_view(item.get_ref()))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(table) => de_table_view(table)?,
    })
}

/// `old` under the name `to`, with its comments, indentation and spacing.
fn renamed(old: &Key, to: &str) -> Key {
    let mut key = Key::new(to);
    *key.leaf_decor_mut() = old.leaf_decor().clone();
    *key.dotted_decor_mut() = old.dotted_decor().clone();
    key
}

fn unsupported(what: &str) -> Mismatch {
    Mismatch(format!("TOML cannot hold {what}"))
}

/// An inline value for a view.
fn new_value(view: &View) -> Result<Value, Mismatch> {
    Ok(match view {
        View::Null => return Err(unsupported("a null")),
        View::Bool(b) => Value::from(*b),
        View::Int(i) => {
            Value::from(i64::try_from(*i).map_err(|_| unsupported("an integer beyond 64 bits"))?)
        }
        View::BigUint(_) => return Err(unsupported("an integer beyond 64 bits")),
        View::Float(f) => Value::from(*f),
        View::Str(s) => Value::from(s.as_str()),
        View::Bytes(b) => Value::Array(b.iter().map(|byte| i64::from(*byte)).collect()),
        View::Datetime(d) => Value::from(
            d.parse::<toml_edit::Datetime>()
                .map_err(|e| Mismatch(format!("a datetime TOML does not read back: {e}")))?,
        ),
        View::Seq(items) => {
            let mut array = Array::new();
            for item in items {
                array.push(new_value(item)?);
            }
            Value::Array(array)
        }
        View::Map(entries) => {
            let mut table = InlineTable::new();
            for (k, v) in entries {
                table.insert(key_str(k)?, new_value(v)?);
            }
            Value::InlineTable(table)
        }
    })
}

/// An entry of a standard table for a view: a mapping as a `[table]`, a
/// sequence of mappings as an `[[array of tables]]`, anything else inline.
fn new_item(view: &View) -> Result<Item, Mismatch> {
    Ok(match view {
        View::Map(_) => Item::Table(new_table(view)?),
        View::Seq(items)
            if !items.is_empty() && items.iter().all(|i| matches!(i, View::Map(_))) =>
        {
            let mut array = ArrayOfTables::new();
            for item in items {
                array.push(new_table(item)?);
            }
            Item::ArrayOfTables(array)
        }
        other => Item::Value(new_value(other)?),
    })
}

fn new_table(view: &View) -> Result<Table, Mismatch> {
    let View::Map(entries) = view else {
        return Err(unsupported("anything but a table at this place"));
    };
    let mut table = Table::new();
    for (k, v) in entries {
        table.insert(key_str(k)?, new_item(v)?);
    }
    // A table holding only tables needs no header of its own (`[a.b]`
    // says `a` exists), as `toml` writes it.
    let only_tables = table
        .iter()
        .all(|(_, item)| item.is_table() || item.is_array_of_tables());
    table.set_implicit(!table.is_empty() && only_tables);
    Ok(table)
}

fn key_str(key: &View) -> Result<&str, Mismatch> {
    match key {
        View::Str(s) => Ok(s),
        other => Err(Mismatch(format!(
            "a TOML key must be a string, not {other:?}"
        ))),
    }
}

/// A place in the document.
enum Slot<'a> {
    /// An entry of a standard table.
    Item(&'a mut Item),
    /// An entry of an inline table or an element of an array.
    Value(&'a mut Value),
    /// The root, or a table of an array of tables.
    Table(&'a mut Table),
}

impl<'a> Slot<'a> {
    fn step(self, seg: &Seg) -> Option<Slot<'a>> {
        match (self, seg) {
            (Slot::Table(t) | Slot::Item(Item::Table(t)), Seg::Key(View::Str(k))) => {
                t.get_mut(k).map(Slot::Item)
            }
            (Slot::Item(Item::ArrayOfTables(a)), Seg::Index(i)) => a.get_mut(*i).map(Slot::Table),
            (Slot::Item(Item::Value(v)) | Slot::Value(v), seg) => match (v, seg) {
                (Value::InlineTable(t), Seg::Key(View::Str(k))) => t.get_mut(k).map(Slot::Value),
                (Value::Array(a), Seg::Index(i)) => a.get_mut(*i).map(Slot::Value),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Document {
    fn slot(&mut self, path: &[Seg]) -> Result<Slot<'_>, Mismatch> {
        let mut here = Slot::Table(self.doc.as_table_mut());
        for (n, seg) in path.iter().enumerate() {
            here = here.step(seg).ok_or_else(|| {
                Mismatch(format!("the document has no {}", show_path(&path[..=n])))
            })?;
        }
        Ok(here)
    }
}

impl Editor for Document {
    fn set(&mut self, path: &[Seg], value: &View) -> Result<(), Mismatch> {
        match self.slot(path)? {
            Slot::Item(item) => replace_item(item, value),
            Slot::Value(v) => replace_value(v, value),
            Slot::Table(t) => {
                let mut table = new_table(value)?;
                keep_table_format(t, &mut table);
                *t = table;
                Ok(())
            }
        }
    }

    fn insert(
        &mut self,
        map: &[Seg],
        order: &[(View, View)],
        index: usize,
        value: &View,
    ) -> Result<(), Mismatch> {
        let key = key_str(&order[index].0)?;
        match self.slot(map)? {
            Slot::Table(t) | Slot::Item(Item::Table(t)) => {
                // Inside dotted keys (`a.b = 1`) everything is inline.
                let item = if t.is_dotted() {
                    Item::Value(new_value(value)?)
                } else {
                    new_item(value)?
                };
                // Key-values come before tables whatever the order of the
                // map: a new entry goes next to siblings of its own kind.
                let table_like = |i: &Item| i.is_table() || i.is_array_of_tables();
                let kind = table_like(&item);
                let place = place(order, index, |k| {
                    key_str(k).is_ok_and(|k| t.get(k).is_some_and(|i| table_like(i) == kind))
                });
                insert_in_table(t, key, item, &place)
            }
            Slot::Item(Item::Value(Value::InlineTable(t))) | Slot::Value(Value::InlineTable(t)) => {
                let place = place(order, index, |k| {
                    key_str(k).is_ok_and(|k| t.contains_key(k))
                });
                insert_in_inline_table(t, key, new_value(value)?, &place)
            }
            _ => Err(Mismatch(format!("{} is not a table", show_path(map)))),
        }
    }

    fn insert_element(&mut self, seq: &[Seg], index: usize, value: &View) -> Result<(), Mismatch> {
        match self.slot(seq)? {
            Slot::Item(Item::ArrayOfTables(a)) if index <= a.len() => {
                a.insert(index, new_table(value)?);
                Ok(())
            }
            Slot::Item(Item::Value(Value::Array(a))) | Slot::Value(Value::Array(a))
                if index <= a.len() =>
            {
                insert_in_array(a, index, new_value(value)?);
                Ok(())
            }
            _ => Err(Mismatch(format!(
                "{} is not an array this long",
                show_path(seq)
            ))),
        }
    }

    fn rename(&mut self, map: &[Seg], from: &str, to: &str) -> Result<(), Mismatch> {
        let missing = || Mismatch(format!("no `{from}` to rename at {}", show_path(map)));
        // The entry is taken out with those after it, and put back first,
        // under its new name, with its comments and spacing.
        macro_rules! rename_in {
            ($table:expr) => {{
                let at = $table
                    .iter()
                    .position(|(k, _)| k == from)
                    .ok_or_else(missing)?;
                let mut moved = take_tail!($table, at).into_iter();
                let (old, entry) = moved.next().expect("the entry to rename was taken");
                $table.insert_formatted(&renamed(&old, to), entry);
                for (k, v) in moved {
                    $table.insert_formatted(&k, v);
                }
                Ok(())
            }};
        }
        match self.slot(map)? {
            Slot::Table(t) | Slot::Item(Item::Table(t)) => rename_in!(t),
            Slot::Item(Item::Value(Value::InlineTable(t))) | Slot::Value(Value::InlineTable(t)) => {
                rename_in!(t)
            }
            _ => Err(Mismatch(format!("{} is not a table", show_path(map)))),
        }
    }

    fn remove(&mut self, path: &[Seg]) -> Result<(), Mismatch> {
        let (last, parent) = path
            .split_last()
            .ok_or_else(|| Mismatch("the root cannot be removed".to_owned()))?;
        let removed = match (self.slot(parent)?, last) {
            (Slot::Table(t) | Slot::Item(Item::Table(t)), Seg::Key(View::Str(k))) => {
                let removed = t.remove(k).is_some();
                if t.is_empty() {
                    // An empty table written only as part of its children's
                    // headers (`[a.b]` for `a`), or through dotted keys,
                    // would vanish with them: it gets its own header.
                    t.set_implicit(false);
                    t.set_dotted(false);
                }
                removed
            }
            (Slot::Item(item @ Item::ArrayOfTables(_)), Seg::Index(i)) => match item {
                Item::ArrayOfTables(a) if *i < a.len() => {
                    a.remove(*i);
                    if a.is_empty() {
                        // An empty array of tables is not written at all:
                        // the key would vanish. `key = []` keeps it.
                        *item = Item::Value(Value::Array(Array::new()));
                    }
                    true
                }
                _ => false,
            },
            (Slot::Item(Item::Value(v)) | Slot::Value(v), seg) => match (v, seg) {
                (Value::InlineTable(t), Seg::Key(View::Str(k))) => t.remove(k).is_some(),
                (Value::Array(a), Seg::Index(i)) if *i < a.len() => {
                    remove_from_array(a, *i);
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if removed {
            Ok(())
        } else {
            Err(Mismatch(format!("the document has no {}", show_path(path))))
        }
    }
}

/// Replaces a standard table's entry, keeping its kind where the value
/// allows (a table stays a table, an inline value inline) and its
/// formatting (the comment after a value stays).
fn replace_item(item: &mut Item, value: &View) -> Result<(), Mismatch> {
    match item {
        Item::Value(v) => replace_value(v, value),
        Item::Table(t) if matches!(value, View::Map(_)) => {
            let mut table = new_table(value)?;
            keep_table_format(t, &mut table);
            *t = table;
            Ok(())
        }
        _ => {
            *item = new_item(value)?;
            Ok(())
        }
    }
}

fn replace_value(v: &mut Value, value: &View) -> Result<(), Mismatch> {
    let mut new = new_value(value)?;
    *new.decor_mut() = v.decor().clone();
    *v = new;
    Ok(())
}

fn keep_table_format(old: &Table, new: &mut Table) {
    *new.decor_mut() = old.decor().clone();
    new.set_position(old.position());
}

/// The indentation that ends a decor prefix (what follows its last line
/// break, when that is only spaces and tabs).
fn indentation(prefix: Option<&str>) -> Option<&str> {
    let prefix = prefix?;
    let last_line = prefix.rsplit('\n').next().unwrap_or(prefix);
    last_line
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(last_line)
}

fn raw(decor: Option<&toml_edit::RawString>) -> Option<&str> {
    decor.and_then(toml_edit::RawString::as_str)
}

/// Inserts `key` into a standard table at `place`, indented like the
/// key-value it follows (or any other).
fn insert_in_table(
    table: &mut Table,
    key: &str,
    mut item: Item,
    place: &Place<'_>,
) -> Result<(), Mismatch> {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_owned()).collect();
    let at = position(keys.iter().map(String::as_str), place)?;
    let mut new_key = Key::new(key);
    if let Item::Value(value) = &mut item {
        // The nearest key-value (before it, else after it) shows the
        // indentation and spacing to copy.
        let is_value = |k: &&String| table.get(k).is_some_and(Item::is_value);
        let model = keys[..at]
            .iter()
            .rev()
            .find(is_value)
            .or_else(|| keys[at..].iter().find(is_value));
        if let Some(model) = model
            && let (Some(model_key), Some(model_value)) =
                (table.key(model), table.get(model).and_then(Item::as_value))
        {
            let blank = |s: &&str| s.chars().all(|c| c == ' ' || c == '\t');
            let decor = model_key.leaf_decor();
            if let Some(indent) = indentation(raw(decor.prefix())) {
                new_key.leaf_decor_mut().set_prefix(indent);
            }
            if let Some(space) = raw(decor.suffix()).filter(blank) {
                new_key.leaf_decor_mut().set_suffix(space);
            }
            if let Some(space) = raw(model_value.decor().prefix()).filter(blank) {
                value.decor_mut().set_prefix(space);
            }
        }
    }
    let moved = take_tail!(table, at);
    table.insert_formatted(&new_key, item);
    for (k, v) in moved {
        table.insert_formatted(&k, v);
    }
    Ok(())
}

fn insert_in_inline_table(
    table: &mut InlineTable,
    key: &str,
    value: Value,
    place: &Place<'_>,
) -> Result<(), Mismatch> {
    let at = position(table.iter().map(|(k, _)| k), place)?;
    let moved = take_tail!(table, at);
    let mut value = value;
    if at == table.len()
        && let Some((_, last)) = table.iter_mut().last()
    {
        // The space before `}` belongs after the last entry.
        let suffix = last.decor().suffix().cloned();
        last.decor_mut().set_suffix("");
        if let Some(suffix) = suffix {
            value.decor_mut().set_suffix(suffix);
        }
    }
    table.insert(key, value);
    for (k, v) in moved {
        table.insert_formatted(&k, v);
    }
    Ok(())
}

/// The index among `keys` that `place` means.
fn position<'k>(keys: impl Iterator<Item = &'k str>, place: &Place<'_>) -> Result<usize, Mismatch> {
    let keys: Vec<&str> = keys.collect();
    let find = |k: &View| {
        key_str(k)
            .ok()
            .and_then(|k| keys.iter().position(|x| *x == k))
    };
    place
        .index(keys.len(), find)
        .ok_or_else(|| Mismatch(format!("the document lacks the sibling key of {place:?}")))
}

/// The decor an element gets in an array laid out like `array`: after a
/// line break, the indentation alone (not the comments before it).
fn element_decor(model: &Decor) -> Decor {
    let prefix = raw(model.prefix()).unwrap_or(" ");
    let prefix = match prefix.rfind('\n') {
        Some(at) if prefix[at + 1..].chars().all(|c| c == ' ' || c == '\t') => {
            format!("\n{}", &prefix[at + 1..])
        }
        Some(_) => "\n".to_owned(),
        None => prefix.to_owned(),
    };
    Decor::new(prefix, "")
}

fn insert_in_array(array: &mut Array, index: usize, mut value: Value) {
    if array.is_empty() {
        array.push(value);
        return;
    }
    // Elements after the first are laid out like the second one (or, in a
    // one-element array, like toml_edit lays them out).
    let later = array.get(1).map(|v| element_decor(v.decor()));
    if index == 0 {
        let first = array
            .get(0)
            .map(|v| element_decor(v.decor()))
            .unwrap_or_default();
        *value.decor_mut() = first;
        if let Some(old_first) = array.get_mut(0) {
            *old_first.decor_mut() = later.clone().unwrap_or_else(|| Decor::new(" ", ""));
        }
        array.insert_formatted(0, value);
    } else if let Some(decor) = later {
        *value.decor_mut() = decor;
        if index == array.len()
            && let Some(last) = array.get_mut(index - 1)
        {
            // The space before `]` belongs after the last element.
            let suffix = last.decor().suffix().cloned();
            last.decor_mut().set_suffix("");
            if let Some(suffix) = suffix {
                value.decor_mut().set_suffix(suffix);
            }
        }
        array.insert_formatted(index, value);
    } else {
        array.insert(index, value);
    }
}

fn remove_from_array(array: &mut Array, index: usize) {
    let removed = array.remove(index);
    // The rest of the removed element's line (a comment after its comma)
    // begins what follows it: it goes too.
    let rest_of_line = |text: &str| text.find('\n').map(|at| text[at..].to_owned());
    match array.get_mut(index) {
        Some(next) => {
            if let Some(rest) = raw(next.decor().prefix()).and_then(rest_of_line) {
                next.decor_mut().set_prefix(rest);
            }
        }
        None => {
            if let Some(rest) = array.trailing().as_str().and_then(rest_of_line) {
                array.set_trailing(rest);
            }
        }
    }
    if index == 0
        && let Some(first) = array.get_mut(0)
        && !raw(first.decor().prefix()).is_some_and(|p| p.contains('\n'))
    {
        // `[1, 2]` without its first element is `[2]`, not `[ 2]`.
        *first.decor_mut() = element_decor(removed.decor());
    }
}

#[cfg(test)]
mod tests {
    use super::super::diff::{apply_with, diff};
    use super::*;

    /// Patches `doc` from `old` to `new` (TOML texts of the values) and
    /// checks the result against the reference application.
    fn patch(doc: &str, old: &str, new: &str) -> String {
        let view = |t: &str| Document::parse(t).unwrap().view();
        let (old, new) = (view(old), view(new));
        let ops = diff(&old, &new);
        let mut document = Document::parse(doc).unwrap();
        let mut reference = document.view();
        apply_with(&mut reference, &ops, &new, &mut document).unwrap();
        let out = document.render();
        assert_eq!(view(&out), reference, "patched:\n{out}");
        out
    }

    const DOC: &str = r#"# Settings for the player.
name = "demo"   # shown in the title bar

# How loud, 0-11.
volume = 3
tags = [
    "a", # first
    "b",
]

[notify] # a newer version's table
email = "x@example.com"

[server]
  host = "localhost"
  port = 8080
"#;

    #[test]
    fn a_changed_scalar_keeps_its_comments() {
        let out = patch(
            DOC,
            "name = 'demo'\nvolume = 3\ntags = ['a', 'b']\n[server]\nhost = 'localhost'\nport = 8080\n",
            "name = 'demo'\nvolume = 4\ntags = ['a', 'b']\n[server]\nhost = 'localhost'\nport = 8080\n",
        );
        assert_eq!(out, DOC.replace("volume = 3", "volume = 4"));
        let out = patch(
            DOC,
            "name = 'demo'\nvolume = 3\n",
            "name = 'demo!'\nvolume = 3\n",
        );
        assert_eq!(out, DOC.replace(r#""demo"   #"#, r#""demo!"   #"#));
    }

    #[test]
    fn a_new_key_follows_its_sibling_with_its_indentation() {
        let out = patch(
            DOC,
            "[server]\nhost = 'localhost'\nport = 8080\n",
            "[server]\nhost = 'localhost'\ntls = true\nport = 8080\n",
        );
        assert_eq!(
            out,
            DOC.replace(
                "  host = \"localhost\"\n",
                "  host = \"localhost\"\n  tls = true\n"
            )
        );
    }

    #[test]
    fn a_removed_key_goes_with_its_comment() {
        let out = patch(DOC, "name = 'demo'\nvolume = 3\n", "name = 'demo'\n");
        assert_eq!(out, DOC.replace("\n# How loud, 0-11.\nvolume = 3\n", ""));
    }

    #[test]
    fn arrays_change_element_by_element() {
        let out = patch(DOC, "tags = ['a', 'b']\n", "tags = ['a', 'b', 'c']\n");
        assert_eq!(out, DOC.replace("    \"b\",\n", "    \"b\",\n    \"c\",\n"));
        let out = patch(DOC, "tags = ['a', 'b']\n", "tags = ['b']\n");
        assert_eq!(out, DOC.replace("    \"a\", # first\n", ""), "{out}");
        let out = patch("x = [1, 2, 3]\n", "x = [1, 2, 3]\n", "x = [0, 1, 3, 4]\n");
        assert_eq!(out, "x = [0, 1, 3, 4]\n");
        let out = patch("x = [1, 2, 3]\n", "x = [1, 2, 3]\n", "x = [2, 3]\n");
        assert_eq!(out, "x = [2, 3]\n");
        let out = patch("x = [ 1, 2 ]\n", "x = [1, 2]\n", "x = [1, 2, 3]\n");
        assert_eq!(out, "x = [ 1, 2, 3 ]\n");
    }

    #[test]
    fn a_new_table_goes_after_its_preceding_sibling_table() {
        let out = patch(
            DOC,
            "[server]\nhost = 'localhost'\nport = 8080\n",
            "[server]\nhost = 'localhost'\nport = 8080\n[window]\nwidth = 800\n",
        );
        assert_eq!(out, format!("{DOC}\n[window]\nwidth = 800\n"));
        let out = patch(
            DOC,
            "name = 'demo'\n[server]\nhost = 'localhost'\nport = 8080\n",
            "name = 'demo'\n[audio]\nrate = 48000\n[server]\nhost = 'localhost'\nport = 8080\n",
        );
        assert!(
            out.contains("email = \"x@example.com\"\n\n[audio]\nrate = 48000\n\n[server]"),
            "{out}"
        );
    }

    #[test]
    fn arrays_of_tables_change_table_by_table() {
        let doc = "# bins\n[[bin]]\nname = \"a\" # the first\n\n[[bin]]\nname = \"b\"\n";
        let out = patch(
            doc,
            "[[bin]]\nname = 'a'\n[[bin]]\nname = 'b'\n",
            "[[bin]]\nname = 'a'\n[[bin]]\nname = 'c'\n",
        );
        assert_eq!(out, doc.replace("\"b\"", "\"c\""));
        let out = patch(
            doc,
            "[[bin]]\nname = 'a'\n[[bin]]\nname = 'b'\n",
            "[[bin]]\nname = 'a'\n[[bin]]\nname = 'b'\n[[bin]]\nname = 'z'\n",
        );
        assert_eq!(out, format!("{doc}\n[[bin]]\nname = \"z\"\n"));
    }

    #[test]
    fn inline_tables_and_dotted_keys_stay_what_they_are() {
        let doc = "point = { x = 1, y = 2 }\nsite.name = \"a\"\n";
        let out = patch(
            doc,
            "point = { x = 1, y = 2 }\nsite = { name = 'a' }\n",
            "point = { x = 1, y = 5, z = 0 }\nsite = { name = 'b', port = 1 }\n",
        );
        assert_eq!(
            out,
            "point = { x = 1, y = 5, z = 0 }\nsite.name = \"b\"\nsite.port = 1\n"
        );
    }

    #[test]
    fn fresh_documents_use_tables_for_mappings() {
        let view = Document::parse("a = 1\n[b]\nc = [1]\n[[d]]\ne = 'x'\n[f.g]\nh = 1\n")
            .unwrap()
            .view();
        let out = fresh(&view).unwrap();
        assert_eq!(
            out,
            "a = 1\n\n[b]\nc = [1]\n\n[[d]]\ne = \"x\"\n\n[f.g]\nh = 1\n"
        );
    }
}
