//! Format helpers: round trips in all four formats, files readable by each
//! format's own crate, parse errors with path, line and column, and hostile
//! input that must fail fast.

use common::{no_leftovers, tempdir};
use safeatomic::{
    Algorithm, ErrorKind, ReadOptions, WriteOptions, atomic_json_dump, atomic_json_load,
    atomic_json_load_with, atomic_ron_dump, atomic_ron_dump_with, atomic_ron_load,
    atomic_toml_dump, atomic_toml_dump_with, atomic_toml_load, atomic_yaml_dump,
    atomic_yaml_dump_with, atomic_yaml_load, atomic_yaml_load_with,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Mode {
    Fast,
    Careful { retries: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    enabled: bool,
    ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Rich {
    name: String,
    count: u64,
    negative: i32,
    tags: Vec<String>,
    limits: BTreeMap<String, u32>,
    inner: Inner,
    maybe: Option<String>,
    mode: Mode,
    nested: Vec<Inner>,
}

fn rich() -> Rich {
    Rich {
        name: "café \"quoted\" ✓ tab\there".into(),
        count: u64::from(u32::MAX) + 7,
        negative: -42,
        tags: vec!["a".into(), "b c".into(), String::new()],
        limits: [("cpu".to_string(), 4), ("mem".to_string(), 1024)]
            .into_iter()
            .collect(),
        inner: Inner {
            enabled: true,
            ratio: 0.25,
        },
        maybe: Some("present".into()),
        mode: Mode::Careful { retries: 3 },
        nested: vec![Inner {
            enabled: false,
            ratio: -1.5,
        }],
    }
}

#[test]
fn a_rich_struct_round_trips_in_all_four_formats_and_each_crate_reads_the_file() {
    let d = tempdir();
    let v = rich();

    let p = d.path().join("v.json");
    atomic_json_dump(&p, &v).unwrap();
    assert_eq!(atomic_json_load::<Rich>(&p).unwrap(), v);
    let text = fs::read_to_string(&p).unwrap();
    assert!(
        text.contains("\n  \"name\""),
        "pretty-printed JSON:\n{text}"
    );
    assert_eq!(serde_json::from_str::<Rich>(&text).unwrap(), v);

    let p = d.path().join("v.yaml");
    atomic_yaml_dump(&p, &v).unwrap();
    assert_eq!(atomic_yaml_load::<Rich>(&p).unwrap(), v);
    let text = fs::read_to_string(&p).unwrap();
    assert!(text.contains("name:"), "plain YAML:\n{text}");
    assert_eq!(serde_saphyr::from_str::<Rich>(&text).unwrap(), v);

    let p = d.path().join("v.toml");
    atomic_toml_dump(&p, &v).unwrap();
    assert_eq!(atomic_toml_load::<Rich>(&p).unwrap(), v);
    let text = fs::read_to_string(&p).unwrap();
    assert!(text.contains("name = "), "plain TOML:\n{text}");
    assert_eq!(toml::from_str::<Rich>(&text).unwrap(), v);

    let p = d.path().join("v.ron");
    atomic_ron_dump(&p, &v).unwrap();
    assert_eq!(atomic_ron_load::<Rich>(&p).unwrap(), v);
    let text = fs::read_to_string(&p).unwrap();
    assert!(text.contains("name: "), "plain RON:\n{text}");
    assert_eq!(ron::from_str::<Rich>(&text).unwrap(), v);

    no_leftovers(d.path());
}

#[test]
fn dumps_take_write_options_and_loads_can_verify() {
    let d = tempdir();
    let v = rich();
    let opts = WriteOptions::new()
        .checksum(Some(Algorithm::Sha256))
        .mode(0o600);
    let verify = ReadOptions::new().verify(true);
    for (ext, dump, load) in [
        (
            "json",
            dump_json as fn(&Path, &Rich, &WriteOptions),
            load_json as fn(&Path, &ReadOptions) -> safeatomic::Result<Rich>,
        ),
        ("yaml", dump_yaml, load_yaml),
        ("toml", dump_toml, load_toml),
        ("ron", dump_ron, load_ron),
    ] {
        let p = d.path().join(format!("v.{ext}"));
        dump(&p, &v, &opts);
        assert!(safeatomic::verify_checksum(&p).unwrap(), "{ext}");
        assert_eq!(load(&p, &verify).unwrap(), v, "{ext}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Tampering is caught by a verifying load.
        let mut text = fs::read(&p).unwrap();
        text.push(b'\n');
        fs::write(&p, text).unwrap();
        assert_eq!(
            load(&p, &verify).unwrap_err().kind(),
            ErrorKind::ChecksumMismatch,
            "{ext}"
        );
    }
}

fn dump_json(p: &Path, v: &Rich, o: &WriteOptions) {
    safeatomic::atomic_json_dump_with(p, v, o).unwrap();
}
fn dump_yaml(p: &Path, v: &Rich, o: &WriteOptions) {
    atomic_yaml_dump_with(p, v, o).unwrap();
}
fn dump_toml(p: &Path, v: &Rich, o: &WriteOptions) {
    atomic_toml_dump_with(p, v, o).unwrap();
}
fn dump_ron(p: &Path, v: &Rich, o: &WriteOptions) {
    atomic_ron_dump_with(p, v, o).unwrap();
}
fn load_json(p: &Path, o: &ReadOptions) -> safeatomic::Result<Rich> {
    atomic_json_load_with(p, o)
}
fn load_yaml(p: &Path, o: &ReadOptions) -> safeatomic::Result<Rich> {
    atomic_yaml_load_with(p, o)
}
fn load_toml(p: &Path, o: &ReadOptions) -> safeatomic::Result<Rich> {
    safeatomic::atomic_toml_load_with(p, o)
}
fn load_ron(p: &Path, o: &ReadOptions) -> safeatomic::Result<Rich> {
    safeatomic::atomic_ron_load_with(p, o)
}

/// Loads `text` as `ext` and returns the error, which must be a format
/// error naming the file.
fn load_err(dir: &Path, ext: &str, text: &[u8]) -> safeatomic::Error {
    load_err_of(dir, ext, text, ErrorKind::Format)
}

/// As [`load_err`], for an error of `kind`.
fn load_err_of(dir: &Path, ext: &str, text: &[u8], kind: ErrorKind) -> safeatomic::Error {
    let p = dir.join(format!("bad.{ext}"));
    fs::write(&p, text).unwrap();
    let r = match ext {
        "json" => atomic_json_load::<Rich>(&p).map(drop),
        "yaml" => atomic_yaml_load::<Rich>(&p).map(drop),
        "toml" => atomic_toml_load::<Rich>(&p).map(drop),
        "ron" => atomic_ron_load::<Rich>(&p).map(drop),
        _ => unreachable!(),
    };
    let e = r.expect_err("corrupt input must not load");
    assert_eq!(e.kind(), kind, "{ext}: {e}");
    assert_eq!(e.path(), p, "{ext}: the error names the file");
    assert!(
        e.to_string().contains(&p.display().to_string()),
        "{ext}: the message names the file: {e}"
    );
    e
}

/// Asserts that `e` is located at exactly (`line`, `column`), and that its
/// message is one line stating that location once (not again in a
/// backend's own words, nor as a source snippet).
#[track_caller]
fn assert_located(e: &safeatomic::Error, what: &str, line: u64, column: u64) {
    assert_eq!(e.location(), Some((line, column)), "{what}: {e}");
    let text = e.to_string();
    assert!(!text.contains('\n'), "{what}: more than one line: {text}");
    // Where first, as compilers say it: `path:line:column: parse error: …`.
    let what_kind = match e.kind() {
        ErrorKind::Schema => "schema mismatch",
        _ => "parse error",
    };
    let at = format!("{}:{line}:{column}: {what_kind}: ", e.path().display());
    assert!(text.starts_with(&at), "{what}: {text}");
    for again in [
        format!("line {line} column {column}"),
        format!("line {line}, column {column}"),
        format!("{line}:{column}"),
    ] {
        assert_eq!(
            text.matches(&again).count(),
            usize::from(again.starts_with(char::is_numeric)),
            "{what}: location repeated: {text}"
        );
    }
    // The parser's own report stays reachable: `source()`, and the `{:#}`
    // form prints it after the line.
    let source = std::error::Error::source(e).expect("the parser's error as the source");
    let alternate = format!("{e:#}");
    assert!(alternate.starts_with(&text), "{what}: {alternate}");
    assert!(
        alternate.ends_with(source.to_string().trim_end()),
        "{what}: {alternate}"
    );
}

/// The texts of [`rich`] as each format's own crate writes them.
fn rich_texts() -> Vec<(&'static str, String)> {
    let v = rich();
    vec![
        ("json", serde_json::to_string_pretty(&v).unwrap()),
        ("yaml", serde_saphyr::to_string(&v).unwrap()),
        ("toml", toml::to_string_pretty(&v).unwrap()),
        (
            "ron",
            ron::ser::to_string_pretty(&v, Default::default()).unwrap(),
        ),
    ]
}

/// (line, column) just past the end of `text`, 1-based, counting
/// characters: where an early end of input is reported.
fn end_of(text: &[u8]) -> (u64, u64) {
    let text = std::str::from_utf8(text).unwrap();
    let line = text.matches('\n').count() as u64 + 1;
    let last = text.rsplit('\n').next().unwrap();
    (line, last.chars().count() as u64 + 1)
}

/// (line, column) of the first occurrence of `needle` in `text`, 1-based,
/// counting characters.
fn position_of(text: &str, needle: &str) -> (u64, u64) {
    let at = text.find(needle).unwrap();
    end_of(&text.as_bytes()[..at])
}

#[test]
fn corrupt_inputs_give_format_errors_with_path_line_and_column() {
    let d = tempdir();
    // Where each backend places each problem, exactly.
    struct Expected {
        /// Cut in the middle (`text[..len / 2]`).
        truncated: (u64, u64),
        /// `GARBAGE`.
        garbage: (u64, u64),
        /// `count` holds a string.
        wrong_type: (u64, u64),
    }
    const GARBAGE: &[u8] = b"\x00\x01 this is { not [ valid";
    for (ext, text) in rich_texts() {
        let half = &text.as_bytes()[..text.len() / 2];
        let expected = match ext {
            // An early end is reported at the end of the input; a bad value
            // at its last character (serde_json reads it whole first).
            "json" => Expected {
                truncated: end_of(half),
                garbage: (1, 1),
                wrong_type: (3, 17),
            },
            // Cut after `i` (the start of `inner:`): a key without its `:`,
            // at the key.
            "yaml" => Expected {
                truncated: (11, 1),
                garbage: (1, 1),
                wrong_type: (2, 8),
            },
            // Cut after `[l`: the table header is unclosed at the end.
            // toml skips the two control characters and reports the word
            // after them as a key without `=`.
            "toml" => Expected {
                truncated: end_of(half),
                garbage: (1, 4),
                wrong_type: (2, 9),
            },
            // ron points just before the bad value (at the space after
            // `count:`).
            "ron" => Expected {
                truncated: end_of(half),
                garbage: (1, 1),
                wrong_type: (3, 11),
            },
            _ => unreachable!(),
        };
        if ext == "yaml" {
            assert_eq!(position_of(&text, "inner:"), (11, 1));
        }

        let e = load_err(d.path(), ext, half);
        let (line, column) = expected.truncated;
        assert_located(&e, &format!("{ext} truncated"), line, column);

        let e = load_err(d.path(), ext, GARBAGE);
        let (line, column) = expected.garbage;
        assert_located(&e, &format!("{ext} garbage"), line, column);

        let count = (u64::from(u32::MAX) + 7).to_string();
        let (count_line, _) = position_of(&text, &count);
        let wrong = text.replacen(&count, "\"many\"", 1);
        // It parses: the data does not fit the type, the file is intact.
        let e = load_err_of(d.path(), ext, wrong.as_bytes(), ErrorKind::Schema);
        assert_eq!(e.field(), Some("count"), "{ext}: {e}");
        let (line, column) = expected.wrong_type;
        assert_eq!(line, count_line, "{ext}: the value's own line");
        assert_located(&e, &format!("{ext} wrong type"), line, column);
    }
}

#[test]
fn bytes_that_are_not_utf8_are_located_at_the_first_bad_byte_in_every_format() {
    let d = tempdir();
    for (ext, text) in rich_texts() {
        // "café" written in Latin-1: é is the single byte 0xe9.
        let (line, column) = position_of(&text, "é");
        let mut latin1 = text.clone().into_bytes();
        let at = text.find("é").unwrap();
        latin1.splice(at..at + "é".len(), [0xe9]);
        let e = load_err(d.path(), ext, &latin1);
        assert_located(&e, &format!("{ext} latin-1"), line, column);
        assert!(e.to_string().contains("not UTF-8"), "{e}");
        assert!(e.to_string().contains("0xe9"), "{e}");

        // Cut inside a multi-byte character (✓ is three bytes).
        let (line, column) = position_of(&text, "✓");
        let cut = &text.as_bytes()[..text.find("✓").unwrap() + 2];
        let e = load_err(d.path(), ext, cut);
        assert_located(&e, &format!("{ext} cut inside ✓"), line, column);

        // A bad byte after multi-byte characters on its line (é is two
        // bytes, ✓ three): the column counts characters, not bytes.
        let (line, column) = position_of(&text, "✓ ");
        let mut after = text.clone().into_bytes();
        after.insert(text.find("✓ ").unwrap() + "✓ ".len(), 0xff);
        let e = load_err(d.path(), ext, &after);
        assert_located(&e, &format!("{ext} after ✓"), line, column + 2);
    }
}

#[test]
fn an_empty_file_is_a_format_error_at_line_1_column_1_not_a_panic() {
    let d = tempdir();
    for ext in ["json", "yaml", "toml", "ron"] {
        let e = load_err(d.path(), ext, b"");
        assert_located(&e, &format!("{ext} empty"), 1, 1);
    }
}

/// "Billion laughs": `levels` levels of 9 references each to the level
/// below, 9^`levels` strings in all.
fn alias_bomb(levels: u8) -> String {
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..=levels {
        let prev = (b'a' + level - 1) as char;
        let this = (b'a' + level) as char;
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("{this}: &{this} [{refs}]\n"));
    }
    bomb
}

/// `anchors` anchored lists of `items` numbers, then one alias to each:
/// every alias replays `items + 2` parser events (the list's start, its
/// items and its end).
fn anchors_and_aliases(anchors: usize, items: usize) -> String {
    let list: Vec<String> = (0..items).map(|k| k.to_string()).collect();
    let list = list.join(", ");
    let mut s = String::from("defs:\n");
    for i in 0..anchors {
        s.push_str(&format!("  - &d{i} [{list}]\n"));
    }
    s.push_str("uses:\n");
    for i in 0..anchors {
        s.push_str(&format!("  - *d{i}\n"));
    }
    s
}

/// The budget on events replayed from aliases, as documented on
/// [`safeatomic::Format::Yaml`].
const ALIAS_REPLAY_BUDGET: usize = 20_000;

#[test]
fn a_yaml_alias_bomb_is_refused_by_the_alias_replay_budget() {
    let d = tempdir();
    let p = d.path().join("bomb.yaml");
    fs::write(&p, alias_bomb(9)).unwrap();
    let e = atomic_yaml_load::<serde_json::Value>(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e}");
    assert_eq!(e.path(), p);
    assert!(e.location().is_some(), "{e}");
    // Stopped by the alias budget (not by a later, costlier limit such as
    // the 250,000-node budget), after at most the budget's events.
    let text = e.to_string();
    assert!(text.contains("alias replay limit"), "{text}");
    assert!(text.contains(&format!("> {ALIAS_REPLAY_BUDGET}")), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn the_alias_replay_budget_is_exact_and_ordinary_anchors_load() {
    let d = tempdir();
    let p = d.path().join("anchors.yaml");
    // Lists of 7 items: 9 events per alias.
    let at_budget = ALIAS_REPLAY_BUDGET / 9; // 2,222 aliases: 19,998 events
    fs::write(&p, anchors_and_aliases(at_budget, 7)).unwrap();
    let v: serde_json::Value = atomic_yaml_load(&p).unwrap();
    assert_eq!(v["uses"].as_array().unwrap().len(), at_budget);
    assert_eq!(v["uses"][at_budget - 1], v["defs"][at_budget - 1]);
    // One alias more goes over it.
    fs::write(&p, anchors_and_aliases(at_budget + 1, 7)).unwrap();
    let e = atomic_yaml_load::<serde_json::Value>(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e}");
    assert!(e.to_string().contains("alias replay limit"), "{e}");

    // A few hundred anchors of small mappings, each used twice.
    let mut doc = String::from("defaults:\n");
    for i in 0..300 {
        doc.push_str(&format!(
            "  - &service{i} {{ image: app-{i}, replicas: 2, port: {}, debug: false, tier: web }}\n",
            8000 + i
        ));
    }
    doc.push_str("services:\n");
    for i in 0..300 {
        doc.push_str(&format!("  - *service{i}\n  - *service{i}\n"));
    }
    fs::write(&p, &doc).unwrap();
    let v: serde_json::Value = atomic_yaml_load(&p).unwrap();
    assert_eq!(v["services"].as_array().unwrap().len(), 600);
    assert_eq!(v["services"][599]["port"], 8299);
}

#[test]
fn deep_nesting_fails_with_a_format_error_in_every_format() {
    let d = tempdir();
    let depth = 100_000;
    let cases: Vec<(&str, String)> = vec![
        (
            "json",
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        ),
        (
            "yaml",
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        ),
        (
            "toml",
            format!("a = {}{}", "[".repeat(depth), "]".repeat(depth)),
        ),
        ("ron", format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
    ];
    for (ext, text) in cases {
        let p = d.path().join(format!("deep.{ext}"));
        fs::write(&p, &text).unwrap();
        let r = match ext {
            "json" => atomic_json_load::<serde_json::Value>(&p).map(drop),
            "yaml" => atomic_yaml_load::<serde_json::Value>(&p).map(drop),
            "toml" => atomic_toml_load::<toml::Value>(&p).map(drop),
            _ => atomic_ron_load::<ron::Value>(&p).map(drop),
        };
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Format, "{ext}");
    }
}

#[test]
fn a_value_toml_cannot_represent_is_refused_and_nothing_is_written() {
    let d = tempdir();
    let p = d.path().join("list.toml");
    let e = atomic_toml_dump(&p, &vec![1, 2, 3]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format);
    assert!(!p.exists());
    no_leftovers(d.path());
}
