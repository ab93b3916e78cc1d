//! Property tests of [`plan`](super::plan): random values, random keys a
//! newer program wrote, random edits, in every format. The new value reads
//! back, the unknown keys survive (byte for byte where the format has an
//! editor), the document is edited (never replaced whole), and the same
//! update again writes nothing.

use super::{Base, How, Outcome, plan};
use crate::error::Operation;
use crate::format::{self, Format};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Known {
    name: String,
    count: i64,
    ratio: f64,
    on: bool,
    tags: Vec<String>,
    inner: Inner,
    items: Vec<Item>,
    map: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    maybe: Option<Inner>,
    mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    x: i64,
    label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Mode {
    Off,
    Level(u8),
    Custom { speed: u32 },
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,12}",
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        Just("yes".to_owned()),
        Just("1.0".to_owned()),
        Just("".to_owned()),
        Just("a: b # c".to_owned()),
        Just("line\nbreak".to_owned()),
    ]
}

fn inner() -> impl Strategy<Value = Inner> {
    (any::<i64>(), text()).prop_map(|(x, label)| Inner { x, label })
}

fn known() -> impl Strategy<Value = Known> {
    let mode = prop_oneof![
        Just(Mode::Off),
        any::<u8>().prop_map(Mode::Level),
        any::<u32>().prop_map(|speed| Mode::Custom { speed }),
    ];
    let item =
        (any::<u32>(), proptest::option::of(text())).prop_map(|(id, note)| Item { id, note });
    (
        (
            text(),
            any::<i64>(),
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
            any::<bool>(),
        ),
        proptest::collection::vec(text(), 0..4),
        inner(),
        proptest::collection::vec(item, 0..4),
        proptest::collection::btree_map("[a-z]{1,6}", any::<i64>(), 0..4),
        proptest::option::of(inner()),
        mode,
    )
        .prop_map(
            |((name, count, ratio, on), tags, inner, items, map, maybe, mode)| Known {
                name,
                count,
                ratio,
                on,
                tags,
                inner,
                items,
                map,
                maybe,
                mode,
            },
        )
}

/// `old` with the fields `mask` picks taken from `other`.
fn mix(old: &Known, other: &Known, mask: u16) -> Known {
    let pick = |bit: u16| mask & (1 << bit) != 0;
    let mut new = old.clone();
    if pick(0) {
        new.name = other.name.clone();
    }
    if pick(1) {
        new.count = other.count;
    }
    if pick(2) {
        new.ratio = other.ratio;
    }
    if pick(3) {
        new.on = other.on;
    }
    if pick(4) {
        new.tags = other.tags.clone();
    }
    if pick(5) {
        new.inner.x = other.inner.x;
    }
    if pick(6) {
        new.inner.label = other.inner.label.clone();
    }
    if pick(7) {
        new.items = other.items.clone();
    }
    if pick(8) {
        new.map = other.map.clone();
    }
    if pick(9) {
        new.maybe = other.maybe.clone();
    }
    if pick(10) {
        new.mode = other.mode.clone();
    }
    if pick(11) && !new.items.is_empty() {
        new.items[0].note = other.name.clone().into();
    }
    if pick(12) {
        new.tags.push(other.name.clone());
    }
    new
}

/// Keys a newer program wrote: at the top and inside `inner`.
fn unknown() -> impl Strategy<Value = Vec<(String, serde_json::Value)>> {
    let scalar = prop_oneof![
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i32>().prop_map(serde_json::Value::from),
        text().prop_map(serde_json::Value::from),
    ];
    let value = scalar.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 1..3)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    proptest::collection::vec(("zz_[a-z]{1,5}", value), 1..4)
}

const PATH: &str = "/props/doc";

/// The document a newer program wrote: `value` and the `extra` keys (at
/// the top, and the first of them inside `inner` too).
fn document(
    format: Format,
    value: &Known,
    extra: &[(String, serde_json::Value)],
) -> Option<String> {
    if format == Format::Ron {
        // RON reads a struct only from struct syntax: add the fields to
        // the text.
        let text = String::from_utf8(
            format::encode(format, value, Path::new(PATH), Operation::Store).ok()?,
        )
        .ok()?;
        let fields: String = extra
            .iter()
            .map(|(k, v)| Some(format!("{k}: {},", ron::to_string(v).ok()?)))
            .collect::<Option<_>>()?;
        return Some(text.replacen('(', &format!("({fields}"), 1));
    }
    let mut tree = serde_json::to_value(value).ok()?;
    let top = tree.as_object_mut()?;
    for (k, v) in extra {
        top.insert(k.clone(), v.clone());
    }
    let (k, v) = &extra[0];
    top.get_mut("inner")?
        .as_object_mut()?
        .insert(k.clone(), v.clone());
    String::from_utf8(format::encode(format, &tree, Path::new(PATH), Operation::Store).ok()?).ok()
}

/// `doc` with its unknown entries' lines written in a style the format's
/// writer would not choose (a trailing comment, JSON's extra space), so
/// that a commit rewriting them shows; `doc` itself where that would
/// change its data.
fn decorated(format: Format, doc: &str) -> String {
    let text: String = doc
        .lines()
        .map(|line| {
            let line = if !line.contains("zz_") {
                line.to_owned()
            } else {
                match format {
                    Format::Json => line.replacen("\": ", "\":  ", 1),
                    Format::Toml | Format::Yaml => format!("{line}  # kept"),
                    _ => line.to_owned(),
                }
            };
            line + "\n"
        })
        .collect();
    let same = |a: &str, b: &str| {
        decode::<Known>(format, a.as_bytes()) == decode::<Known>(format, b.as_bytes())
            && unknown_data(format, a.as_bytes()) == unknown_data(format, b.as_bytes())
    };
    if decode::<Known>(format, text.as_bytes()).is_some() && same(&text, doc) {
        text
    } else {
        doc.to_owned()
    }
}

/// The lines that name an unknown key, each as many times as it occurs.
fn unknown_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().filter(|l| l.contains("zz_")).collect();
    lines.sort_unstable();
    lines
}

/// A commit's base: a document, the value read from it, maybe a memo.
fn base<'a>(doc: &'a [u8], value: &'a Known, memo: Option<&'a super::Memo>) -> Base<'a, Known> {
    Base {
        doc,
        value,
        memo,
        read_as: None,
        migrated: false,
    }
}

fn decode<T: serde::de::DeserializeOwned>(format: Format, text: &[u8]) -> Option<T> {
    format::decode(format, text, Path::new(PATH), Operation::Store).ok()
}

/// The keys of `text`'s top-level mapping with the given prefix, and
/// their data.
fn unknown_data(format: Format, text: &[u8]) -> Vec<(String, super::view::View)> {
    use super::view::View;
    let view: Option<View> = match format {
        #[cfg(feature = "toml")]
        Format::Toml => super::toml::Document::parse(std::str::from_utf8(text).unwrap())
            .ok()
            .map(|d| d.view()),
        #[cfg(feature = "ron")]
        Format::Ron => return ron_unknown(text),
        _ => decode(format, text),
    };
    let Some(View::Map(entries)) = view else {
        panic!("not a mapping: {}", String::from_utf8_lossy(text))
    };
    let mut out: Vec<_> = entries
        .into_iter()
        .filter_map(|(k, v)| match k {
            View::Str(k) if k.starts_with("zz_") => Some((k, v)),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// RON's unknown fields, as their text.
#[cfg(feature = "ron")]
fn ron_unknown(text: &[u8]) -> Vec<(String, super::view::View)> {
    use super::view::View;
    let raw = ron::value::RawValue::from_ron(std::str::from_utf8(text).unwrap()).unwrap();
    let super::ron::Shape::Entries(entries) = super::ron::shape(raw) else {
        panic!("not a struct: {}", raw.get_ron())
    };
    let mut out: Vec<_> = entries
        .into_iter()
        .filter_map(|(k, v)| Some((k?, View::Str(v.get_ron().to_owned()))))
        .filter(|(k, _)| k.starts_with("zz_"))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn check(
    format: Format,
    old: &Known,
    new: &Known,
    extra: &[(String, serde_json::Value)],
) -> Result<(), TestCaseError> {
    let Some(doc) = document(format, old, extra) else {
        return Ok(()); // not expressible in the format
    };
    let doc = decorated(format, &doc);
    // Values the format itself does not give back are not this test's.
    let canonical = format::encode(format, new, Path::new(PATH), Operation::Store);
    prop_assume!(canonical.is_ok_and(|c| decode::<Known>(format, &c).as_ref() == Some(new)));
    let Some(read_old) = decode::<Known>(format, doc.as_bytes()) else {
        return Ok(());
    };
    prop_assume!(&read_old == old);
    let outcome = plan(
        format,
        Some(base(doc.as_bytes(), old, None)),
        new,
        None,
        Path::new(PATH),
    )
    .unwrap();
    let (bytes, how, memo) = match outcome {
        Outcome::Unchanged => {
            prop_assert_eq!(old, new);
            return Ok(());
        }
        Outcome::Write(bytes, how, memo) => (bytes, how, memo),
    };
    // Written only when something changed (`-0.0` is `0.0` to `==`).
    let differs = old != new || format!("{old:?}") != format!("{new:?}");
    prop_assert!(differs);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let read_new = decode::<Known>(format, &bytes);
    prop_assert_eq!(read_new.as_ref(), Some(new), "{}", text);
    prop_assert_eq!(
        unknown_data(format, &bytes),
        unknown_data(format, doc.as_bytes()),
        "{}",
        text
    );
    // Unknown keys untouched, byte for byte (RON's are compared as text
    // above, its layout is written again).
    if format != Format::Ron {
        prop_assert_eq!(unknown_lines(&text), unknown_lines(&doc), "{}", text);
    }
    let expected = match format {
        Format::Toml | Format::Json | Format::Yaml => How::Patched,
        _ => How::Merged,
    };
    prop_assert_eq!(how, expected, "{}\nfrom\n{}", text, doc);
    // Again: nothing to write, with the memo or without.
    for memo in [None, memo.as_ref()] {
        let again = plan(
            format,
            Some(base(&bytes, new, memo)),
            new,
            None,
            Path::new(PATH),
        )
        .unwrap();
        prop_assert!(matches!(again, Outcome::Unchanged));
    }
    // And back to the old value: the memo of the first commit changes
    // nothing in the bytes of the second (it only saves reading them).
    if let Some(memo) = &memo {
        let back = |memo| match plan(
            format,
            Some(base(&bytes, new, memo)),
            old,
            None,
            Path::new(PATH),
        )
        .unwrap()
        {
            Outcome::Write(bytes, how, _) => Some((bytes, how)),
            Outcome::Unchanged => None,
        };
        prop_assert_eq!(back(Some(memo)), back(None));
    }
    Ok(())
}

fn formats() -> impl Strategy<Value = Format> {
    prop::sample::select(
        Format::ALL
            .into_iter()
            .filter(|f| f.is_enabled())
            .collect::<Vec<_>>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("SAFEATOMIC_PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_edits_keep_unknown_keys_and_read_back(
        format in formats(),
        old in known(),
        other in known(),
        mask in any::<u16>(),
        extra in unknown(),
    ) {
        let new = mix(&old, &other, mask);
        check(format, &old, &new, &extra)?;
    }
}
