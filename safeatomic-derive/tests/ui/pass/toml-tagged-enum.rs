//! Enums serde writes as a table are TOML documents: internally tagged
//! and adjacently tagged ones, stored and read back.
use safeatomic::{Persisted, Store};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Persisted)]
#[persisted(format = "toml")]
#[serde(tag = "backend", rename_all = "lowercase")]
enum Storage {
    Local { path: String },
    S3 { bucket: String, region: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Persisted)]
#[serde(tag = "kind", content = "settings")]
#[persisted(format = "toml")]
enum Cache {
    Memory { megabytes: u32 },
    Disk { path: String },
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Store::<Storage>::open(dir.path().join("storage.toml")).unwrap();
    let s3 = Storage::S3 {
        bucket: "b".into(),
        region: "eu".into(),
    };
    storage.replace(s3.clone()).unwrap();
    assert_eq!(storage.load().unwrap(), s3);
    let text = std::fs::read_to_string(dir.path().join("storage.toml")).unwrap();
    assert!(text.starts_with("backend = \"s3\"\n"), "{text}");

    let cache = Store::<Cache>::open(dir.path().join("cache.toml")).unwrap();
    cache.replace(Cache::Memory { megabytes: 64 }).unwrap();
    cache
        .update(|c| {
            if let Cache::Memory { megabytes } = c {
                *megabytes *= 2;
            }
        })
        .unwrap();
    assert_eq!(cache.load().unwrap(), Cache::Memory { megabytes: 128 });
}
