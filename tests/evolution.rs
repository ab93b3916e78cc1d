//! Schema evolution (issue #16): a file another version of the program
//! wrote, or a person edited, is not corrupt: a mismatch is its own error,
//! naming the field, and the file stays where it is.

use common::tempdir;
use safeatomic::{CorruptPolicy, ErrorKind, Persisted, Store, StoreOptions};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;

macro_rules! config {
    ($name:ident, $format:literal) => {
        /// The program's current struct: `volume` and `display.page_size`
        /// are new, and required.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
        #[persisted(format = $format)]
        struct $name {
            name: String,
            volume: u8,
            display: Display,
        }
    };
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Display {
    page_size: u32,
}

config!(JsonConfig, "json");
config!(TomlConfig, "toml");
config!(YamlConfig, "yaml");
config!(RonConfig, "ron");

/// Files an older version wrote (no `volume`), one with a nested field
/// missing, and one with a wrong type, per format.
fn files(ext: &str) -> [&'static str; 3] {
    match ext {
        "json" => [
            "{\n  \"name\": \"a\",\n  \"display\": { \"page_size\": 10 }\n}\n",
            "{\n  \"name\": \"a\",\n  \"volume\": 3,\n  \"display\": {}\n}\n",
            "{\n  \"name\": \"a\",\n  \"volume\": 3,\n  \"display\": { \"page_size\": \"big\" }\n}\n",
        ],
        "toml" => [
            "name = \"a\"\n\n[display]\npage_size = 10\n",
            "name = \"a\"\nvolume = 3\n\n[display]\n",
            "name = \"a\"\nvolume = 3\n\n[display]\npage_size = \"big\"\n",
        ],
        "yaml" => [
            "name: a\ndisplay:\n  page_size: 10\n",
            "name: a\nvolume: 3\ndisplay: {}\n",
            "name: a\nvolume: 3\ndisplay:\n  page_size: big\n",
        ],
        "ron" => [
            "(\n    name: \"a\",\n    display: (page_size: 10),\n)\n",
            "(\n    name: \"a\",\n    volume: 3,\n    display: (),\n)\n",
            "(\n    name: \"a\",\n    volume: 3,\n    display: (page_size: \"big\"),\n)\n",
        ],
        _ => unreachable!(),
    }
}

fn load_error<T: Persisted + Default + std::fmt::Debug>(
    path: &Path,
    text: &str,
    policy: CorruptPolicy,
) -> safeatomic::Error {
    fs::write(path, text).unwrap();
    let store = Store::<T>::open_with(path, StoreOptions::new().on_corrupt(policy)).unwrap();
    store.load().unwrap_err()
}

fn load_in<T: Persisted + Default + std::fmt::Debug>(
    dir: &Path,
    ext: &str,
    policy: CorruptPolicy,
) -> Vec<(String, safeatomic::Error)> {
    files(ext)
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let path = dir.join(format!("config-{i}.{ext}"));
            let e = load_error::<T>(&path, text, policy);
            // The file stays as it was, and nothing is put beside it.
            assert_eq!(fs::read_to_string(&path).unwrap(), *text, "{e}");
            (path.display().to_string(), e)
        })
        .collect()
}

fn all_formats(
    dir: &Path,
    policy: CorruptPolicy,
) -> Vec<(&'static str, Vec<(String, safeatomic::Error)>)> {
    vec![
        ("json", load_in::<JsonConfig>(dir, "json", policy)),
        ("toml", load_in::<TomlConfig>(dir, "toml", policy)),
        ("yaml", load_in::<YamlConfig>(dir, "yaml", policy)),
        ("ron", load_in::<RonConfig>(dir, "ron", policy)),
    ]
}

/// A missing field, a nested missing field, a wrong type: each a schema
/// mismatch naming the file, the field and where it is (no location for
/// a field missing from the top level: `toml` used to say 1:1).
#[test]
fn a_file_that_does_not_fit_the_struct_is_a_schema_mismatch_naming_the_field() {
    let d = tempdir();
    let expected: [(&str, [&str; 3]); 4] = [
        (
            "json",
            [
                ": schema mismatch: json: missing field `volume`",
                ":4:15: schema mismatch: json: display: missing field `page_size`",
                ":4:33: schema mismatch: json: display.page_size: invalid type: string \"big\", expected u32",
            ],
        ),
        (
            "toml",
            [
                ": schema mismatch: toml: missing field `volume`",
                ":4:1: schema mismatch: toml: display: missing field `page_size`",
                ":5:13: schema mismatch: toml: display.page_size: invalid type: string \"big\", expected u32",
            ],
        ),
        (
            "yaml",
            [
                ": schema mismatch: yaml: missing field `volume`",
                ":3:10: schema mismatch: yaml: display: missing field `page_size`",
                ":4:14: schema mismatch: yaml: display.page_size: invalid u32",
            ],
        ),
        (
            "ron",
            [
                ": schema mismatch: ron: Unexpected missing field named `volume` in `RonConfig`",
                ":4:15: schema mismatch: ron: display: Unexpected missing field named `page_size` in `Display`",
                ":4:25: schema mismatch: ron: display.page_size: Expected integer",
            ],
        ),
    ];
    let got = all_formats(d.path(), CorruptPolicy::Error);
    for ((ext, errors), (ext2, messages)) in got.iter().zip(expected) {
        assert_eq!(*ext, ext2);
        for ((path, e), message) in errors.iter().zip(messages) {
            assert_eq!(e.kind(), ErrorKind::Schema, "{e}");
            assert_eq!(e.to_string(), format!("{path}{message}"));
            assert!(
                std::error::Error::source(e).is_some(),
                "the parser's own error: {e}"
            );
        }
        let fields: Vec<_> = errors.iter().map(|(_, e)| e.field()).collect();
        assert_eq!(
            fields,
            [None, Some("display"), Some("display.page_size")],
            "{ext}"
        );
        assert_eq!(errors[0].1.location(), None, "{ext}: no made-up location");
    }
}

/// `CorruptPolicy::MoveAside` is for bytes that do not parse: a file an
/// older version wrote is an error, left where it is, and no default
/// replaces it.
#[test]
fn a_schema_mismatch_is_never_moved_aside() {
    let d = tempdir();
    for (ext, errors) in all_formats(d.path(), CorruptPolicy::MoveAside) {
        for (_, e) in errors {
            assert_eq!(e.kind(), ErrorKind::Schema, "{ext}: {e}");
        }
    }
    let names: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("corrupt"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// Every file a store moves aside is reported to the caller through the
/// API, with where it went and why, not only logged.
#[test]
fn every_file_moved_aside_is_reported_to_the_caller() {
    use std::sync::{Arc, Mutex};
    let d = tempdir();
    let path = d.path().join("config.json");
    fs::write(&path, "{ \"name\": \"a\", \"volume\": 3, \"display\"").unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let report = Arc::clone(&seen);
    let opts = StoreOptions::new()
        .on_corrupt(CorruptPolicy::MoveAside)
        .on_recovery(move |r| {
            report.lock().unwrap().push((
                r.path().to_owned(),
                r.moved_to().to_owned(),
                r.cause().kind(),
            ));
        });
    let store = Store::<JsonConfig>::open_with(&path, opts).unwrap();
    // Through an update too: it starts from the default and commits.
    store.update(|c| c.volume = 9).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (reported, moved_to, kind) = &seen[0];
    assert_eq!(reported, &path);
    assert_eq!(*kind, ErrorKind::Format);
    assert!(
        moved_to
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("config.json.corrupt-"),
        "{moved_to:?}"
    );
    assert_eq!(
        fs::read_to_string(moved_to).unwrap(),
        "{ \"name\": \"a\", \"volume\": 3, \"display\""
    );
    assert_eq!(store.load().unwrap().volume, 9);
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml", validate = Self::check)]
struct Limits {
    page_size: u32,
}

impl Limits {
    fn check(&self) -> Result<(), String> {
        if self.page_size > 100 {
            return Err(format!("page_size {} is above 100", self.page_size));
        }
        Ok(())
    }
}

/// A value a person wrote that the type's validation refuses is an error
/// at load, naming the file; an update runs on it and commits once the
/// value passes, which is how the program repairs it.
#[test]
fn a_file_that_fails_validation_is_refused_at_load_and_repairable_by_update() {
    let d = tempdir();
    let path = d.path().join("limits.toml");
    fs::write(&path, "page_size = 500 # edited by hand\n").unwrap();
    let store = Store::<Limits>::open(&path).unwrap();
    let e = store.load().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "failed to access store `{}` (validate): validation failed: the file's value: page_size 500 is above 100",
            path.display()
        )
    );
    assert_eq!(
        store.load_shared().unwrap_err().kind(),
        ErrorKind::Validation
    );
    // An update that leaves it invalid is refused, nothing written.
    assert_eq!(
        store.update(|l| l.page_size += 1).unwrap_err().kind(),
        ErrorKind::Validation
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "page_size = 500 # edited by hand\n"
    );
    // One that repairs it commits (in place: the comment stays).
    store.update(|l| l.page_size = 100).unwrap();
    assert_eq!(store.load().unwrap().page_size, 100);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "page_size = 100 # edited by hand\n"
    );
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum)]
struct State {
    runs: u32,
}

/// `checksum` added to a store whose files exist: refused by default (no
/// sidecar), adopted on request, and verified from the next update on.
#[test]
fn a_file_without_a_sidecar_is_adopted_only_on_request() {
    let d = tempdir();
    let path = d.path().join("state.json");
    fs::write(&path, "{\"runs\": 7}\n").unwrap();
    let strict = Store::<State>::open(&path).unwrap();
    assert_eq!(
        strict.load().unwrap_err().kind(),
        ErrorKind::ChecksumMissing
    );
    assert_eq!(
        strict.update(|s| s.runs += 1).unwrap_err().kind(),
        ErrorKind::ChecksumMissing
    );
    let adopting =
        Store::<State>::open_with(&path, StoreOptions::new().adopt_missing_checksum(true)).unwrap();
    assert_eq!(adopting.load().unwrap().runs, 7);
    assert!(
        !d.path().join("state.json.sha256").exists(),
        "nothing written by a load"
    );
    adopting.update(|s| s.runs += 1).unwrap();
    assert!(d.path().join("state.json.sha256").exists());
    // From now on the sidecar is checked, by every store.
    assert_eq!(strict.load().unwrap().runs, 8);
    fs::write(&path, "{\"runs\": 100}\n").unwrap();
    assert_eq!(
        adopting.load().unwrap_err().kind(),
        ErrorKind::ChecksumMismatch
    );
}

/// A deliberate edit of a checksummed file: the mismatch says how to
/// accept it, and doing so (what `safeatomic checksum write` does) makes
/// the file load.
#[test]
fn a_checksum_mismatch_says_how_to_accept_a_deliberate_edit() {
    let d = tempdir();
    let path = d.path().join("state.json");
    let store = Store::<State>::open(&path).unwrap();
    store.update(|s| s.runs = 1).unwrap();
    fs::write(&path, "{\"runs\": 2}\n").unwrap();
    let e = store.load().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ChecksumMismatch);
    let hint = format!(
        "; if the file was changed on purpose, accept it with `safeatomic checksum write {}`",
        path.display()
    );
    assert!(e.to_string().ends_with(&hint), "{e}");
    safeatomic::write_checksum_file(&path, safeatomic::Algorithm::Sha256).unwrap();
    assert_eq!(store.load().unwrap().runs, 2);
}

// ---- Versions and migrations -------------------------------------------

/// Version 1 of the settings: `volume`, a top-level `page_size`, and
/// `timeout` in seconds. Version 2 renamed `volume` to `level` and moved
/// `page_size` into `[display]`; version 3 made `timeout` a string and
/// added a required `theme`.
mod steps {
    use safeatomic::{Migration, MigrationError};

    pub(crate) fn v1_to_v2(m: &mut Migration) -> Result<(), MigrationError> {
        m.rename("volume", "level")?;
        m.move_to("page_size", "display.page_size")
    }

    pub(crate) fn v2_to_v3(m: &mut Migration) -> Result<(), MigrationError> {
        m.convert("timeout", |seconds: u64| format!("{seconds}s"))?;
        m.set_default("display.theme", "dark").map(drop)
    }
}

macro_rules! versions {
    ($v2:ident, $v3:ident, $format:literal) => {
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
        #[persisted(format = $format, version = 2, migrate = [steps::v1_to_v2])]
        struct $v2 {
            level: u8,
            timeout: u64,
            display: V2Display,
        }

        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
        #[persisted(format = $format, version = 3, migrate = [steps::v1_to_v2, steps::v2_to_v3])]
        struct $v3 {
            level: u8,
            timeout: String,
            display: V3Display,
        }
    };
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct V2Display {
    page_size: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct V3Display {
    page_size: u32,
    theme: String,
}

versions!(JsonV2, JsonV3, "json");
versions!(TomlV2, TomlV3, "toml");
versions!(YamlV2, YamlV3, "yaml");

/// A version 1 file per format, with a key no version knows (`plugins`)
/// and, where the format has them, comments.
fn version_1(ext: &str) -> &'static str {
    match ext {
        "json" => {
            "{\n  \"volume\": 3,\n  \"page_size\": 20,\n  \"timeout\": 5,\n  \"plugins\": [\"a\"]\n}\n"
        }
        "toml" => {
            "# my settings\nvolume = 3 # loud\npage_size = 20\ntimeout = 5 # seconds\nplugins = [\"a\"]\n"
        }
        "yaml" => {
            "# my settings\nvolume: 3 # loud\npage_size: 20\ntimeout: 5 # seconds\nplugins: [a]\n"
        }
        _ => unreachable!(),
    }
}

fn chain<V2, V3>(ext: &str)
where
    V2: Persisted + std::fmt::Debug + Default,
    V3: Persisted + std::fmt::Debug + Default,
{
    let d = tempdir();
    let path = d.path().join(format!("settings.{ext}"));
    let original = version_1(ext);
    fs::write(&path, original).unwrap();
    let store = Store::<V3>::open(&path).unwrap();
    // A load migrates in memory and writes nothing.
    let loaded = store.load().unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), original, "{ext}");
    let data = serde_json::to_value(&loaded).unwrap();
    assert_eq!(
        data,
        serde_json::json!({"level": 3, "timeout": "5s", "display": {"page_size": 20, "theme": "dark"}}),
        "{ext}"
    );
    // The next update writes the migration, the original kept beside it.
    store.update(|_| ()).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let bak = d.path().join(format!("settings.{ext}.v1.bak"));
    assert_eq!(fs::read_to_string(&bak).unwrap(), original, "{ext}");
    assert!(text.contains("schema_version"), "{ext}: {text}");
    assert!(text.contains("plugins"), "{ext}: unknown keys kept: {text}");
    if ext != "json" {
        // Comments stay, a renamed key's too; the file's opening comment
        // still opens it.
        assert!(text.starts_with("# my settings\n"), "{ext}: {text}");
        assert!(
            text.contains("level: 3 # loud") || text.contains("level = 3 # loud"),
            "{ext}: {text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("timeout") && l.contains("5s") && l.ends_with("# seconds")),
            "{ext}: a changed type keeps its comment: {text}"
        );
    }
    // Read again by a fresh store: version 3, nothing to migrate.
    assert_eq!(
        serde_json::to_value(Store::<V3>::open(&path).unwrap().load().unwrap()).unwrap(),
        data
    );
    store.update(|_| ()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "{ext}: a no-op");

    // A version 2 program opening the version 3 file: it reads, but does
    // not write, unless allowed; then the file stays at version 3.
    let older = Store::<V2>::open(&path).unwrap();
    let e = older.load().unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Schema,
        "{ext}: `timeout` is a string now: {e}"
    );

    // A version 2 file goes to version 3 through the second step only.
    let path2 = d.path().join(format!("v2.{ext}"));
    Store::<V2>::open(&path2).unwrap().update(|_| ()).unwrap();
    let v2_text = fs::read_to_string(&path2).unwrap();
    assert!(
        v2_text.contains("schema_version"),
        "{ext}: new files carry their version: {v2_text}"
    );
    let upgraded =
        Store::<V3>::open_with(&path2, StoreOptions::new().migrate_on_open(true)).unwrap();
    assert_eq!(
        fs::read_to_string(d.path().join(format!("v2.{ext}.v2.bak"))).unwrap(),
        v2_text,
        "{ext}"
    );
    assert_eq!(
        serde_json::to_value(upgraded.load().unwrap()).unwrap()["timeout"],
        "0s",
        "{ext}"
    );
}

#[test]
fn a_version_1_file_migrates_to_version_3_in_every_map_format() {
    chain::<JsonV2, JsonV3>("json");
    chain::<TomlV2, TomlV3>("toml");
    chain::<YamlV2, YamlV3>("yaml");
}

/// A file a newer program wrote: read, refused for writing unless allowed,
/// and then written at its own version with its data kept.
#[test]
fn a_newer_file_is_read_but_written_only_when_allowed() {
    let d = tempdir();
    let path = d.path().join("settings.toml");
    let newer = "schema_version = 4\nlevel = 3\ntimeout = \"5s\"\nshiny = true # v4\n\n[display]\npage_size = 20\ntheme = \"light\"\n";
    fs::write(&path, newer).unwrap();
    let store = Store::<TomlV3>::open(&path).unwrap();
    assert_eq!(store.load().unwrap().display.theme, "light");
    let e = store.update(|s| s.level = 4).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SchemaTooNew);
    assert!(
        e.to_string()
            .contains("schema version 4, this program's type at 3"),
        "{e}"
    );
    assert_eq!(
        store.replace(TomlV3::default()).unwrap_err().kind(),
        ErrorKind::SchemaTooNew
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), newer);
    let allowed =
        Store::<TomlV3>::open_with(&path, StoreOptions::new().allow_newer_schema(true)).unwrap();
    allowed.update(|s| s.level = 4).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        newer.replace("level = 3", "level = 4")
    );
}

/// Eight stores (as eight processes would) opening the same old file at
/// once, each updating: one migration written, one backup, no update lost.
#[test]
fn eight_concurrent_first_opens_write_one_migration_and_lose_no_update() {
    let d = tempdir();
    let path = d.path().join("settings.json");
    fs::write(&path, version_1("json")).unwrap();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let store = Store::<JsonV3>::open(&path).unwrap();
                store.update(|c| c.display.page_size += 1).unwrap();
            });
        }
    });
    let end = Store::<JsonV3>::open(&path).unwrap().load().unwrap();
    assert_eq!(end.display.page_size, 28);
    assert_eq!(end.level, 3);
    let backups: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".bak"))
        .collect();
    assert_eq!(backups, ["settings.json.v1.bak"]);
    assert_eq!(
        fs::read_to_string(d.path().join("settings.json.v1.bak")).unwrap(),
        version_1("json")
    );
}

/// Eight processes opening the same version 1 file at once, 25 updates
/// each: the first to take the lock writes the migration (one backup, the
/// original), the others find version 2; no update is lost.
#[test]
fn eight_processes_migrating_one_file_write_one_migration_and_lose_no_update() {
    use common::types::{CheckedCounter, VersionedCounter};
    let d = tempdir();
    let path = d.path().join("counter.json");
    Store::<CheckedCounter>::open(&path)
        .unwrap()
        .replace(CheckedCounter { n: 0 })
        .unwrap();
    let original = fs::read(&path).unwrap();
    let mut children: Vec<common::child::ChildGuard> = (0..8)
        .map(|_| {
            common::child::ChildGuard::spawn(
                common::sa_child!()
                    .arg("store-increment")
                    .arg("versioned")
                    .arg(&path)
                    .arg("25"),
            )
        })
        .collect();
    for c in &mut children {
        let status = c.wait_timeout(std::time::Duration::from_secs(300));
        assert!(status.success(), "a child failed: {status}");
    }
    assert_eq!(
        Store::<VersionedCounter>::open(&path)
            .unwrap()
            .load()
            .unwrap()
            .n,
        200
    );
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"schema_version\": 2"), "{text}");
    let backups: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bak"))
        .collect();
    assert_eq!(backups, ["counter.json.v1.bak"]);
    assert_eq!(
        fs::read(d.path().join("counter.json.v1.bak")).unwrap(),
        original
    );
}

/// RON's older versions as Rust types (`migrate_from`): the data read
/// without its type would lose enum variant names.
mod ron_old {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) enum Mode {
        Off,
        Custom { speed: u32 },
    }

    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub(crate) struct V1 {
        pub(crate) volume: u8,
        pub(crate) page_size: u32,
        pub(crate) timeout: u64,
        pub(crate) mode: Mode,
    }

    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub(crate) struct V2 {
        pub(crate) level: u8,
        pub(crate) timeout: u64,
        pub(crate) display: super::V2Display,
        pub(crate) mode: Mode,
    }

    impl From<V1> for V2 {
        fn from(v: V1) -> Self {
            V2 {
                level: v.volume,
                timeout: v.timeout,
                display: super::V2Display {
                    page_size: v.page_size,
                },
                mode: v.mode,
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "ron", version = 3, migrate_from = [ron_old::V1, ron_old::V2])]
struct RonV3 {
    level: u8,
    timeout: String,
    display: V3Display,
    mode: ron_old::Mode,
}

impl From<ron_old::V2> for RonV3 {
    fn from(v: ron_old::V2) -> Self {
        RonV3 {
            level: v.level,
            timeout: format!("{}s", v.timeout),
            display: V3Display {
                page_size: v.display.page_size,
                theme: "dark".into(),
            },
            mode: v.mode,
        }
    }
}

#[test]
fn a_version_1_ron_file_migrates_through_the_older_types() {
    let d = tempdir();
    let path = d.path().join("scene.ron");
    let original = "(\n    volume: 3,\n    page_size: 20,\n    timeout: 5,\n    mode: Custom(speed: 2),\n    plugins: [\"a\"],\n)\n";
    fs::write(&path, original).unwrap();
    let store = Store::<RonV3>::open(&path).unwrap();
    let expected = RonV3 {
        level: 3,
        timeout: "5s".into(),
        display: V3Display {
            page_size: 20,
            theme: "dark".into(),
        },
        mode: ron_old::Mode::Custom { speed: 2 },
    };
    assert_eq!(store.load().unwrap(), expected);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        original,
        "a load writes nothing"
    );
    store.update(|_| ()).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(
        fs::read_to_string(d.path().join("scene.ron.v1.bak")).unwrap(),
        original
    );
    assert!(text.contains("schema_version: 3"), "{text}");
    assert!(
        text.contains("plugins: [\"a\"]"),
        "unknown fields kept: {text}"
    );
    assert!(
        text.contains("mode: Custom("),
        "the variant's name is kept: {text}"
    );
    assert!(
        !text.contains("volume") && !text.contains("page_size: 20,\n    timeout"),
        "{text}"
    );
    // Read again: version 3, nothing to migrate, and a no-op writes nothing.
    let again = Store::<RonV3>::open(&path).unwrap();
    assert_eq!(again.load().unwrap(), expected);
    again.update(|_| ()).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    // A version 2 file takes the second conversion only.
    let path2 = d.path().join("v2.ron");
    fs::write(
        &path2,
        "(schema_version: 2, level: 1, timeout: 7, display: (page_size: 9), mode: Off)\n",
    )
    .unwrap();
    let v2 = Store::<RonV3>::open(&path2).unwrap().load().unwrap();
    assert_eq!(
        (v2.level, v2.timeout.as_str(), v2.display.page_size),
        (1, "7s", 9)
    );
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct JsonTypedV1 {
    volume: u8,
}

/// `migrate_from` in a format with an editor: the file gets its version
/// and keeps its layout and unknown keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml", version = 2, migrate_from = [JsonTypedV1])]
struct TomlTyped {
    level: u8,
}

impl From<JsonTypedV1> for TomlTyped {
    fn from(v: JsonTypedV1) -> Self {
        TomlTyped { level: v.volume }
    }
}

#[test]
fn older_types_migrate_a_toml_file_which_then_carries_its_version() {
    let d = tempdir();
    let path = d.path().join("typed.toml");
    fs::write(&path, "# mine\nvolume = 3\nextra = true # kept\n").unwrap();
    let store = Store::<TomlTyped>::open(&path).unwrap();
    assert_eq!(store.load().unwrap(), TomlTyped { level: 3 });
    store.update(|t| t.level += 1).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    // `volume` is dropped (version 1 knew it, version 2 does not), with
    // the comment lines above it; the rest stays as written.
    assert!(text.starts_with("extra = true # kept\n"), "{text}");
    assert!(
        text.contains("schema_version = 2") && text.contains("level = 4"),
        "{text}"
    );
    assert!(!text.contains("volume"), "{text}");
    // A fresh store reads it at version 2: no second migration.
    assert_eq!(
        Store::<TomlTyped>::open(&path).unwrap().load().unwrap(),
        TomlTyped { level: 4 }
    );
}
