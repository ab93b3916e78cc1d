//! What a directory holds, as the model names it.

use crate::child::verify_payload;
use crate::types::CheckedCounter;
use std::collections::BTreeMap;
use std::path::Path;

use super::*;

/// Parses a [`Dumped`] file in the format its extension names (with the
/// format crates, not the library) and checks its filler.
fn classify_dump(name: &str, bytes: &[u8]) -> Content {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return Content::Bad(format!("{} bytes, not UTF-8: {e}", bytes.len())),
    };
    let parsed: Result<Dumped, String> = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("json") => serde_json::from_str(text).map_err(|e| e.to_string()),
        Some("yaml") => serde_saphyr::from_str(text).map_err(|e| e.to_string()),
        Some("toml") => toml::from_str(text).map_err(|e| e.to_string()),
        Some("ron") => ron::from_str(text).map_err(|e| e.to_string()),
        _ => Err(format!("no format for {name}")),
    };
    match parsed {
        Ok(d) if d.filler == dump_filler(d.n) => Content::Payload {
            seq: d.n,
            tag: name.to_owned(),
        },
        Ok(d) => Content::Bad(format!(
            "{} bytes: n = {} but a filler of {} chars that is not its own",
            bytes.len(),
            d.n,
            d.filler.len()
        )),
        Err(e) => Content::Bad(format!("{} bytes, does not parse: {e}", bytes.len())),
    }
}

/// What the bytes of data file `name` are.
pub fn classify(name: &str, bytes: &[u8]) -> Content {
    if name.starts_with("dump.") {
        classify_dump(name, bytes)
    } else if name.ends_with(".json") {
        match serde_json::from_slice::<CheckedCounter>(bytes) {
            Ok(c) => Content::Counter(c.n),
            Err(e) => Content::Bad(format!("{} bytes, not a counter: {e}", bytes.len())),
        }
    } else {
        match verify_payload(bytes) {
            Ok(info) => Content::Payload {
                seq: info.seq,
                tag: info.tag,
            },
            Err(e) => Content::Bad(e.to_string()),
        }
    }
}

/// Every data file in `dir` and what it holds (read with plain `std::fs`,
/// so the check does not rely on the library it checks).
///
/// # Panics
///
/// If the directory cannot be listed or a file read.
pub fn observe(dir: &Path) -> BTreeMap<String, Content> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).expect("list the test directory") {
        let e = e.expect("dir entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if is_migration_backup(&name) {
            // Created whole (create_atomic) or not at all.
            let bytes = std::fs::read(e.path()).unwrap_or_else(|err| panic!("read {name}: {err}"));
            if let Content::Bad(why) = classify("backup.json", &bytes) {
                panic!("the migration backup {name} is not a whole version 1 file: {why}");
            }
            continue;
        }
        if !is_data_name(&name) {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap_or_else(|err| panic!("read {name}: {err}"));
        out.insert(name.clone(), classify(&name, &bytes));
    }
    out
}
