//! `Store::update` of one field, edited in place (lossless commits), side
//! by side with what a commit did before them: the whole value serialized
//! and written under the lock (`atomic_<format>_dump`, the same write
//! protocol). On 4 KiB and 1 MiB documents, JSON, TOML and YAML.

use crate::{BoxResult, Opts, interleaved, machine, stats, workdir};
use safeatomic::{Persisted, Store, atomic_json_dump, atomic_toml_dump, atomic_yaml_dump};
use serde::{Deserialize, Serialize};

#[derive(Clone, Default, Serialize, Deserialize)]
struct Entry {
    key: String,
    value: String,
    weight: u32,
}

macro_rules! document {
    ($name:ident, $format:literal) => {
        #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
        #[persisted(format = $format)]
        struct $name {
            counter: u64,
            entries: Vec<Entry>,
        }

        impl $name {
            /// About `bytes` long once written.
            fn of_size(bytes: usize) -> Self {
                let n = bytes / 64;
                Self {
                    counter: 0,
                    entries: (0..n)
                        .map(|i| Entry {
                            key: format!("key-{i:06}"),
                            value: format!("value-{i:06}-{}", "x".repeat(8)),
                            weight: i as u32,
                        })
                        .collect(),
                }
            }
        }
    };
}

document!(JsonDoc, "json");
document!(TomlDoc, "toml");
document!(YamlDoc, "yaml");

pub(crate) fn lossless(o: &Opts) -> BoxResult<()> {
    println!("### `Store::update` of one field: edited in place vs the whole value rewritten\n");
    println!("Machine: {}\n", machine());
    println!("| document | rewrite whole (before) | edit in place (now) | ratio | no-op update |");
    println!("|---|---|---|---|---|");
    for (label, size) in [("4 KiB", 4 << 10), ("1 MiB", 1 << 20)] {
        let rounds = if size > 64 << 10 {
            o.rounds.clamp(1, 5)
        } else {
            o.rounds
        };
        macro_rules! run {
            ($ty:ident, $dump:ident, $ext:literal) => {{
                let dir = workdir(o)?;
                let edited = dir.path().join(concat!("edited.", $ext));
                let whole = dir.path().join(concat!("whole.", $ext));
                let value = $ty::of_size(size);
                $dump(&whole, &value)?;
                let store = Store::<$ty>::open(&edited)?;
                store.replace(value.clone())?;
                let actual = std::fs::metadata(&edited)?.len();
                let mut rewritten = value;
                let samples = interleaved(3, rounds, 3, |i| {
                    match i {
                        0 => {
                            rewritten.counter += 1;
                            $dump(&whole, &rewritten)?;
                        }
                        1 => store.update(|v| v.counter += 1)?,
                        _ => store.update(|_| ())?,
                    }
                    Ok(())
                })?;
                let [w, e, n] = [0, 1, 2].map(|i| stats(samples[i].clone()).0);
                println!(
                    "| {label} {} ({actual} bytes) | {w:.0} µs | {e:.0} µs | {:.2}× | {n:.0} µs |",
                    $ext,
                    e / w
                );
            }};
        }
        run!(JsonDoc, atomic_json_dump, "json");
        run!(TomlDoc, atomic_toml_dump, "toml");
        run!(YamlDoc, atomic_yaml_dump, "yaml");
    }
    println!(
        "\nMedians of {} interleaved rounds (3 runs each, the first untimed).",
        o.rounds
    );
    Ok(())
}
