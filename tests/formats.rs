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

/// Loads `text` as `ext` and returns the error.
fn load_err(dir: &Path, ext: &str, text: &[u8]) -> safeatomic::Error {
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
    assert_eq!(e.path(), p, "{ext}: the error names the file");
    e
}

#[test]
fn corrupt_inputs_give_format_errors_with_line_and_column() {
    let d = tempdir();
    let v = rich();
    let good: Vec<(&str, Vec<u8>)> = vec![
        ("json", serde_json::to_vec_pretty(&v).unwrap()),
        ("yaml", serde_saphyr::to_string(&v).unwrap().into_bytes()),
        ("toml", toml::to_string_pretty(&v).unwrap().into_bytes()),
        (
            "ron",
            ron::ser::to_string_pretty(&v, Default::default())
                .unwrap()
                .into_bytes(),
        ),
    ];
    for (ext, text) in good {
        // Truncated in the middle.
        let e = load_err(d.path(), ext, &text[..text.len() / 2]);
        assert_eq!(e.kind(), ErrorKind::Format, "{ext} truncated: {e}");
        // Garbage.
        let e = load_err(d.path(), ext, b"\x00\x01 this is { not [ valid");
        assert_eq!(e.kind(), ErrorKind::Format, "{ext} garbage: {e}");
        // A wrong type on a later line: `count` is a string.
        let wrong = String::from_utf8(text.clone()).unwrap().replacen(
            &(u64::from(u32::MAX) + 7).to_string(),
            "\"many\"",
            1,
        );
        let e = load_err(d.path(), ext, wrong.as_bytes());
        assert_eq!(e.kind(), ErrorKind::Format, "{ext} wrong type: {e}");
        let (line, column) = e
            .location()
            .unwrap_or_else(|| panic!("{ext}: no location in {e}"));
        let expected_line = wrong.lines().position(|l| l.contains("\"many\"")).unwrap() as u64 + 1;
        assert!(line >= 1 && column >= 1, "{ext}: {line}:{column}");
        assert!(
            line.abs_diff(expected_line) <= 1,
            "{ext}: error at line {line}, the bad value is on line {expected_line}: {e}"
        );
        assert!(e.to_string().contains(&format!("line {line}")), "{e}");
    }
}

#[test]
fn an_empty_file_is_a_format_error_not_a_panic() {
    let d = tempdir();
    for ext in ["json", "yaml", "toml", "ron"] {
        assert_eq!(
            load_err(d.path(), ext, b"").kind(),
            ErrorKind::Format,
            "{ext}"
        );
    }
}

#[test]
fn a_yaml_alias_bomb_fails_fast_with_a_format_error() {
    // "Billion laughs": 9 levels of 9 references each.
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..=9u8 {
        let prev = (b'a' + level - 1) as char;
        let this = (b'a' + level) as char;
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("{this}: &{this} [{refs}]\n"));
    }
    let d = tempdir();
    let p = d.path().join("bomb.yaml");
    fs::write(&p, &bomb).unwrap();
    let e = atomic_yaml_load::<serde_json::Value>(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format, "{e}");
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
