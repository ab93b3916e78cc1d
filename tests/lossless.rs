//! Lossless store updates: an old program's one-field update of a file a
//! human and a newer program wrote changes that one line; keys the type
//! does not know survive in every format; an update that changes nothing
//! writes nothing; the same value always gives the same bytes.

use common::tempdir;
use safeatomic::{Format, Persisted, Store, verify_checksum};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A copy of a corpus file in a fresh directory.
fn corpus(name: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus/lossless")
            .join(name),
    )
    .expect("corpus file");
    let dir = tempdir();
    let path = dir.path().join(name);
    fs::write(&path, &text).unwrap();
    (dir, path, text)
}

/// The lines only `before` has and the lines only `after` has (a longest
/// common subsequence apart).
fn line_diff(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut removed, mut added) = (0, 0, Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            added.push(b[j].to_owned());
            j += 1;
        } else {
            removed.push(a[i].to_owned());
            i += 1;
        }
    }
    (removed, added)
}

#[track_caller]
fn assert_one_line_changed(before: &str, after: &str, from: &str, to: &str) {
    let (removed, added) = line_diff(before, after);
    assert_eq!(
        (removed, added),
        (vec![from.to_owned()], vec![to.to_owned()]),
        "the file became:\n{after}"
    );
}

/// An older program's view of `manifest.toml`: no `[package.metadata]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml")]
struct Manifest {
    package: Package,
    #[serde(default)]
    dependencies: BTreeMap<String, Dependency>,
    #[serde(default)]
    profile: BTreeMap<String, Profile>,
    #[serde(default)]
    bin: Vec<Bin>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Package {
    name: String,
    version: String,
    edition: String,
    authors: Vec<String>,
    description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Dependency {
    Version(String),
    Detailed {
        version: String,
        features: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    lto: bool,
    #[serde(rename = "opt-level")]
    opt_level: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Bin {
    name: String,
    path: String,
}

#[test]
fn toml_a_changed_field_is_one_line_and_everything_else_stays() {
    let (_d, path, before) = corpus("manifest.toml");
    let store = Store::<Manifest>::open(&path).unwrap();
    store
        .update(|m| m.package.version = "1.4.3".into())
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert_one_line_changed(
        &before,
        &after,
        r#"version = "1.4.2""#,
        r#"version = "1.4.3""#,
    );

    let before = after;
    store
        .update(|m| m.profile.get_mut("release").unwrap().opt_level = 2)
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert_one_line_changed(
        &before,
        &after,
        "opt-level = 3 # speed",
        "opt-level = 2 # speed",
    );
}

#[test]
fn toml_new_and_removed_entries_touch_only_their_lines() {
    let (_d, path, before) = corpus("manifest.toml");
    let store = Store::<Manifest>::open(&path).unwrap();
    store
        .update(|m| {
            m.dependencies.remove("toml_edit");
            m.dependencies
                .insert("anyhow".into(), Dependency::Version("1".into()));
        })
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    // In key order: before `serde`, its next sibling.
    assert_eq!(
        after,
        before.replace(
            "[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }   # serialization\ntoml_edit = \"0.25\"\n",
            "[dependencies]\nanyhow = \"1\"\nserde = { version = \"1\", features = [\"derive\"] }   # serialization\n",
        )
    );

    let before = after;
    store
        .update(|m| {
            m.bin.push(Bin {
                name: "rain".into(),
                path: "src/rain.rs".into(),
            })
        })
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert_eq!(
        after,
        before.replace(
            "path = \"src/cloud.rs\"\n",
            "path = \"src/cloud.rs\"\n\n[[bin]]\nname = \"rain\"\npath = \"src/rain.rs\"\n",
        )
    );
    store
        .update(|m| m.package.authors.retain(|a| !a.starts_with("Ada")))
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    let (removed, added) = line_diff(&before, &after);
    assert_eq!(removed, ["    \"Ada <ada@example.com>\",  # maintainer"]);
    assert_eq!(added.len(), 4, "the new [[bin]] only: {added:?}");
    assert!(
        after.contains("[package.metadata.stormcloud]\ntelemetry = false\nchannel = \"beta\"\n")
    );
}

/// An older program's view of `settings.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
struct Settings {
    #[serde(rename = "editor.fontSize")]
    font_size: u32,
    #[serde(rename = "editor.tabSize")]
    tab_size: u32,
    #[serde(rename = "editor.rulers")]
    rulers: Vec<u32>,
    #[serde(rename = "files.exclude")]
    exclude: HashMap<String, bool>,
    #[serde(rename = "workbench.colorTheme")]
    theme: String,
}

/// An older program's view of `compose.yaml`: the services' images and
/// restart policies, nothing of anchors, commands or volumes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "yaml")]
struct Compose {
    version: String,
    services: BTreeMap<String, Service>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Service {
    image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restart: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    environment: BTreeMap<String, String>,
}

#[test]
fn yaml_changed_new_and_removed_keys_touch_only_their_lines() {
    let (_d, path, before) = corpus("compose.yaml");
    let store = Store::<Compose>::open(&path).unwrap();
    // A changed scalar keeps its trailing comment.
    store
        .update(|c| c.services.get_mut("web").unwrap().image = "nginx:1.27".into())
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert_one_line_changed(
        &before,
        &after,
        "    image: nginx:1.25  # pinned",
        "    image: nginx:1.27  # pinned",
    );
    // A key of a mapping that also merges `<<: *env`: its own line only.
    let before = after;
    store
        .update(|c| {
            let env = &mut c.services.get_mut("worker").unwrap().environment;
            env.insert("QUEUE".into(), "bulk".into());
        })
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert_one_line_changed(&before, &after, "      QUEUE: default", "      QUEUE: bulk");
    // A new key goes in with its siblings' indentation, a removed one
    // takes only its line.
    let before = after;
    store
        .update(|c| {
            c.services.get_mut("db").unwrap().restart = Some("always".into());
        })
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    let (removed, added) = line_diff(&before, &after);
    assert!(removed.is_empty(), "{after}");
    assert_eq!(added, ["    restart: always"], "{after}");
    assert!(
        after.contains("  db:\n    image: postgres:16\n    restart: always\n"),
        "{after}"
    );
    store
        .update(|c| c.services.get_mut("db").unwrap().restart = None)
        .unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
    assert_eq!(
        store.load().unwrap().services["web"].restart.as_deref(),
        Some("unless-stopped"),
        "merged from x-common"
    );
}

#[test]
fn json_a_changed_field_is_one_line_and_new_keys_take_the_file_indentation() {
    let (_d, path, before) = corpus("settings.json");
    let store = Store::<Settings>::open(&path).unwrap();
    store.update(|s| s.font_size = 16).unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert_one_line_changed(
        &before,
        &after,
        r#"    "editor.fontSize": 14,"#,
        r#"    "editor.fontSize": 16,"#,
    );

    let before = after;
    store
        .update(|s| {
            s.rulers.push(120);
            s.exclude.insert("**/node_modules".into(), true);
        })
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert_eq!(
        after,
        before.replace("[80, 100]", "[80, 100, 120]").replace(
            "\"**/.git\": true,\n",
            "\"**/.git\": true,\n        \"**/node_modules\": true,\n"
        )
    );
    assert!(after.contains(r#""sync_token": "c2VjcmV0LXRva2Vu""#));
}

/// An older program's view of `scene.ron`: no `lighting`, no `glow`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "ron")]
struct Scene {
    name: String,
    camera: Camera,
    entities: Vec<Entity>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Camera {
    position: (f32, f32, f32),
    fov: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entity {
    id: u32,
    kind: Kind,
    tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kind {
    Boat,
    Lighthouse { height: u32 },
}

/// The newer program's view of `scene.ron`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "ron")]
#[serde(rename = "Scene")]
struct NewScene {
    name: String,
    camera: Camera,
    entities: Vec<NewEntity>,
    lighting: Option<Lighting>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename = "Entity")]
struct NewEntity {
    id: u32,
    kind: Kind,
    tags: Vec<String>,
    glow: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Lighting {
    sun: f32,
    fog: bool,
}

#[test]
fn ron_keeps_unknown_fields_and_the_document_order() {
    let (_d, path, _) = corpus("scene.ron");
    let newer = Store::<NewScene>::open(&path).unwrap().load().unwrap();
    let store = Store::<Scene>::open(&path).unwrap();
    store
        .update(|s| s.name = "harbour at night".into())
        .unwrap();
    let after = fs::read_to_string(&path).unwrap();
    let reread = Store::<NewScene>::open(&path).unwrap().load().unwrap();
    assert_eq!(
        reread,
        NewScene {
            name: "harbour at night".into(),
            ..newer
        },
        "{after}"
    );
    let (name, camera, lighting) = (
        after.find("name:").unwrap(),
        after.find("camera:").unwrap(),
        after.find("lighting:").unwrap(),
    );
    assert!(name < camera && camera < lighting, "{after}");
}

/// Loads `path` as `T`, runs `edit` through `update`, and returns whether
/// the file was left alone: same inode, modification time and bytes.
fn untouched_by<T: Persisted>(path: &Path, edit: impl FnOnce(&Store<T>)) -> bool {
    let before = fs::metadata(path).unwrap();
    let bytes = fs::read(path).unwrap();
    // Enough for a write's new modification time to differ.
    std::thread::sleep(std::time::Duration::from_millis(20));
    edit(&Store::<T>::open(path).unwrap());
    let after = fs::metadata(path).unwrap();
    (
        before.ino(),
        before.mtime(),
        before.mtime_nsec(),
        before.ctime_nsec(),
    ) == (
        after.ino(),
        after.mtime(),
        after.mtime_nsec(),
        after.ctime_nsec(),
    ) && bytes == fs::read(path).unwrap()
}

#[test]
fn an_update_that_changes_nothing_writes_nothing() {
    for name in ["manifest.toml", "settings.json", "scene.ron"] {
        let (dir, path, _) = corpus(name);
        let no_op = |store: &dyn Fn(&Path) -> bool| assert!(store(&path), "{name} was rewritten");
        match name {
            "manifest.toml" => {
                no_op(&|p| untouched_by::<Manifest>(p, |s| s.update(|_| {}).unwrap()));
                no_op(&|p| {
                    untouched_by::<Manifest>(p, |s| {
                        s.update(|m| m.package.version = m.package.version.clone())
                            .unwrap()
                    })
                });
                no_op(&|p| untouched_by::<Manifest>(p, |s| s.replace(s.load().unwrap()).unwrap()));
            }
            "settings.json" => {
                no_op(&|p| untouched_by::<Settings>(p, |s| s.update(|_| {}).unwrap()));
                // A HashMap rebuilt in another order is the same value.
                no_op(&|p| {
                    untouched_by::<Settings>(p, |s| {
                        s.update(|v| v.exclude = v.exclude.drain().collect())
                            .unwrap()
                    })
                });
                no_op(&|p| untouched_by::<Settings>(p, |s| s.replace(s.load().unwrap()).unwrap()));
            }
            _ => {
                no_op(&|p| untouched_by::<Scene>(p, |s| s.update(|_| {}).unwrap()));
                no_op(&|p| untouched_by::<Scene>(p, |s| s.replace(s.load().unwrap()).unwrap()));
            }
        }
        // Nothing was created beside it either.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names.len(),
            2,
            "{name}: the file and its lock file only: {names:?}"
        );
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json", checksum)]
struct Checked {
    n: u64,
    names: HashMap<String, u32>,
}

#[test]
fn the_same_value_gives_the_same_bytes_and_map_keys_are_sorted_in_new_files() {
    let value = Checked {
        n: 1,
        names: (0..40).map(|i| (format!("key{i:02}"), i)).collect(),
    };
    let dir = tempdir();
    let mut texts = Vec::new();
    for i in 0..3 {
        let path = dir.path().join(format!("{i}.json"));
        Store::<Checked>::open(&path)
            .unwrap()
            .replace(value.clone())
            .unwrap();
        texts.push(fs::read_to_string(&path).unwrap());
        // The sidecar vouches for the bytes written.
        verify_checksum(&path).unwrap();
    }
    assert_eq!(texts[0], texts[1]);
    assert_eq!(texts[0], texts[2]);
    let keys: Vec<usize> = (0..40)
        .map(|i| texts[0].find(&format!("\"key{i:02}\"")).unwrap())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{}", texts[0]);
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
struct Names {
    n: u64,
    names: HashMap<String, u32>,
}

#[test]
fn map_entries_keep_their_place_and_new_ones_follow_their_sorted_predecessor() {
    let dir = tempdir();
    let path = dir.path().join("names.json");
    let before = "{\n  \"n\": 0,\n  \"names\": {\n    \"zeta\": 1,\n    \"alpha\": 2,\n    \"mu\": 3\n  }\n}\n";
    fs::write(&path, before).unwrap();
    let store = Store::<Names>::open(&path).unwrap();
    store
        .update(|c| {
            c.names.insert("beta".into(), 4);
            c.n = 5;
        })
        .unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        before
            .replace("\"n\": 0", "\"n\": 5")
            .replace("\"alpha\": 2,\n", "\"alpha\": 2,\n    \"beta\": 4,\n")
    );
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml")]
struct Player {
    volume: u8,
    muted: bool,
}

#[test]
fn a_human_edit_made_while_the_program_runs_is_merged() {
    let dir = tempdir();
    let path = dir.path().join("player.toml");
    fs::write(&path, "volume = 3\nmuted = false\n").unwrap();
    let store = Store::<Player>::open(&path).unwrap();
    assert_eq!(store.load().unwrap().volume, 3); // cached
    // The human, meanwhile:
    fs::write(
        &path,
        "# turned down at night\nvolume = 1\nmuted = false\nskin = \"dark\"\n",
    )
    .unwrap();
    store.update(|p| p.muted = true).unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "# turned down at night\nvolume = 1\nmuted = true\nskin = \"dark\"\n"
    );
}

/// Two versions of a program's state type, `$old` a subset of `$new`,
/// in format `$format`.
macro_rules! versions {
    ($module:ident, $format:literal) => {
        mod $module {
            use super::*;

            #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
            #[persisted(format = $format)]
            pub(super) struct Old {
                pub(super) runs: u64,
                pub(super) name: String,
                pub(super) window: OldWindow,
            }

            #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
            pub(super) struct OldWindow {
                pub(super) width: u32,
            }

            #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
            #[persisted(format = $format)]
            pub(super) struct New {
                pub(super) runs: u64,
                pub(super) name: String,
                pub(super) window: NewWindow,
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub(super) sync_token: Option<String>,
                #[serde(default)]
                pub(super) plugins: Vec<Plugin>,
            }

            #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
            pub(super) struct NewWindow {
                pub(super) width: u32,
                #[serde(default)]
                pub(super) height: u32,
            }

            #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
            pub(super) struct Plugin {
                pub(super) name: String,
                pub(super) enabled: bool,
            }
        }
    };
}

versions!(json_versions, "json");
versions!(yaml_versions, "yaml");
versions!(toml_versions, "toml");
versions!(ron_versions, "ron");

macro_rules! old_and_new_take_turns {
    ($test:ident, $module:ident, $ext:literal) => {
        #[test]
        fn $test() {
            use $module::{New, Old, Plugin};
            let dir = tempdir();
            let path = dir.path().join(concat!("state.", $ext));
            let old = Store::<Old>::open(&path).unwrap();
            let new = Store::<New>::open(&path).unwrap();
            for round in 0..100u64 {
                old.update(|s| {
                    s.runs += 1;
                    s.window.width = 600 + round as u32;
                })
                .unwrap();
                // The old program kept what only the new one knows.
                if round > 0 {
                    let seen = new.load().unwrap();
                    assert_eq!(seen.sync_token, Some(format!("token-{}", round - 1)));
                    assert_eq!(seen.window.height, 400 + round as u32 - 1);
                    assert_eq!(seen.plugins.len() as u64, (round - 1) / 10 + 1);
                }
                new.update(|s| {
                    s.runs += 1;
                    s.window.height = 400 + round as u32;
                    s.sync_token = Some(format!("token-{round}"));
                    if round % 10 == 0 {
                        s.plugins.push(Plugin {
                            name: format!("p{round}"),
                            enabled: round % 20 == 0,
                        });
                    }
                })
                .unwrap();
            }
            let end = new.load().unwrap();
            assert_eq!(end.runs, 200);
            assert_eq!((end.window.width, end.window.height), (699, 499));
            assert_eq!(end.sync_token.as_deref(), Some("token-99"));
            assert_eq!(end.plugins.len(), 10);
            assert!(end.plugins[0].enabled && !end.plugins[1].enabled);
            assert_eq!(old.load().unwrap().runs, 200);
        }
    };
}

old_and_new_take_turns!(
    json_an_old_and_a_new_program_taking_turns_lose_nothing,
    json_versions,
    "json"
);
old_and_new_take_turns!(
    yaml_an_old_and_a_new_program_taking_turns_lose_nothing,
    yaml_versions,
    "yaml"
);
old_and_new_take_turns!(
    toml_an_old_and_a_new_program_taking_turns_lose_nothing,
    toml_versions,
    "toml"
);
old_and_new_take_turns!(
    ron_an_old_and_a_new_program_taking_turns_lose_nothing,
    ron_versions,
    "ron"
);

/// The README's example, as it says.
#[test]
fn the_readme_config_example_changes_one_line() {
    #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    #[persisted(format = "toml")]
    struct Config {
        volume: u8,
        theme: String,
    }
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme
        .find("```toml\n# Turned down at night.")
        .expect("the README's config.toml")
        + "```toml\n".len();
    let before = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = tempdir();
    let path = dir.path().join("config.toml");
    fs::write(&path, before).unwrap();
    let store = Store::<Config>::open(&path).unwrap();
    store.update(|c| c.volume += 1).unwrap();
    let after = fs::read_to_string(&path).unwrap();
    assert_one_line_changed(before, &after, "volume = 3 # 0-11", "volume = 4 # 0-11");
    assert!(untouched_by::<Config>(&path, |s| s
        .update(|c| c.theme = c.theme.clone())
        .unwrap()));
}

/// The fuzz targets' entry point (`fuzz/`, run by CI for a bounded time)
/// on the corpus documents, with random edits: never a panic, never an
/// output that does not read back as the edited data. Set
/// `SAFEATOMIC_LOSSLESS_EDITS` for more than 300 edits a document and
/// `SAFEATOMIC_LOSSLESS_SEED` to repeat a run.
#[test]
fn random_edits_of_the_corpus_documents_patch_cleanly() {
    let per_document: u64 = std::env::var("SAFEATOMIC_LOSSLESS_EDITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let mut rng = common::rng::Rng::from_env("SAFEATOMIC_LOSSLESS_SEED", "corpus edits");
    for (name, format) in [
        ("manifest.toml", Format::Toml),
        ("settings.json", Format::Json),
        ("compose.yaml", Format::Yaml),
        ("scene.ron", Format::Ron),
    ] {
        let (_d, _, text) = corpus(name);
        for _ in 0..per_document {
            let edits: Vec<u8> = (0..rng.between(1, 40))
                .map(|_| rng.below(256) as u8)
                .collect();
            if let Err(e) = safeatomic::__fuzz::patch_document(format, &text, &edits) {
                panic!("{name}, edits {edits:?}: {e}");
            }
        }
    }
}

/// The fuzz targets' seeds and what the fuzzer found (`fuzz/seeds/`,
/// a finding kept as `finding-*`), through the same entry point: each
/// stays fixed.
#[test]
fn the_fuzz_seeds_and_findings_pass() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut ran = 0;
    for (target, format) in [
        ("lossless_toml", Format::Toml),
        ("lossless_json", Format::Json),
        ("lossless_yaml", Format::Yaml),
        ("lossless_ron", Format::Ron),
    ] {
        for entry in fs::read_dir(seeds.join(target)).unwrap() {
            let path = entry.unwrap().path();
            let data = fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| safeatomic::__fuzz::run_target(format, &data));
            assert!(result.is_ok(), "{}", path.display());
            ran += 1;
        }
    }
    assert!(ran >= 33, "{ran} seeds");
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "json")]
struct Measured {
    x: f64,
    n: u64,
}

/// A float that serde_json's fast parser reads one unit in the last place
/// off: the commit must still read back exactly (serde_json's
/// `float_roundtrip`), or it would fall back and drop the unknown key.
#[test]
fn floats_read_back_exactly_so_unknown_keys_survive() {
    let dir = tempdir();
    let path = dir.path().join("measured.json");
    let before = "{\n  \"x\": 0.5,\n  \"n\": 0,\n  \"other\": 1\n}\n";
    fs::write(&path, before).unwrap();
    let x: f64 = "1.0333333333333334e58".parse().unwrap();
    Store::<Measured>::open(&path)
        .unwrap()
        .update(|m| m.x = x)
        .unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        before.replace("0.5", "1.0333333333333334e+58")
    );
}
