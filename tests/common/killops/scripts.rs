//! The scripts the kill tests run.

use safeatomic::Format;

use super::*;

/// Every script the kill tests run. (`write_atomic` with the default
/// options and plain `AtomicWriter` streaming are killed in
/// `tests/processes.rs` already.) Read-only operations (`read_atomic*`,
/// `verify_checksum`, `inspect_lock`, `is_locked`, `Store::load`) change
/// nothing a kill could leave half done; they are the checks.
pub const SCRIPTS: &[Script] = &[
    Script {
        name: "write-unlocked",
        about: "write_atomic with lock(false)",
        steps: &[Step::Write {
            name: "t.bin",
            lock: false,
            checksum: false,
            size: Size::Large,
        }],
        targets: &["t.bin"],
    },
    Script {
        name: "write-checksum",
        about: "write_atomic with a sha256 sidecar (lock on)",
        steps: &[Step::Write {
            name: "t.bin",
            lock: true,
            checksum: true,
            size: Size::Large,
        }],
        targets: &["t.bin"],
    },
    Script {
        name: "write-checksum-unlocked",
        about: "write_atomic with a sha256 sidecar and lock(false)",
        steps: &[Step::Write {
            name: "t.bin",
            lock: false,
            checksum: true,
            size: Size::Large,
        }],
        targets: &["t.bin"],
    },
    Script {
        name: "stream-checksum",
        about: "AtomicWriter streaming with a sha256 sidecar, commit",
        steps: &[Step::Stream { name: "t.bin" }],
        targets: &["t.bin"],
    },
    Script {
        name: "create",
        about: "create_atomic on an absent name, then on the existing one (refused), then unlink",
        steps: &[
            Step::Create { name: "c.bin" },
            Step::Create { name: "c.bin" },
            Step::Remove { name: "c.bin" },
        ],
        targets: &["c.bin"],
    },
    Script {
        name: "move",
        about: "write a, move_atomic a->b (b absent), write a, move_atomic b->a (replacing a)",
        steps: &[
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::Move {
                src: "a.bin",
                dst: "b.bin",
            },
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::Move {
                src: "b.bin",
                dst: "a.bin",
            },
        ],
        targets: &["a.bin", "b.bin"],
    },
    Script {
        name: "move-noreplace",
        about: "write a, move_atomic_noreplace a->b (b absent), write a, a->b again (refused), unlink b",
        steps: &[
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::MoveNoreplace {
                src: "a.bin",
                dst: "b.bin",
            },
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::MoveNoreplace {
                src: "a.bin",
                dst: "b.bin",
            },
            Step::Remove { name: "b.bin" },
        ],
        targets: &["a.bin", "b.bin"],
    },
    Script {
        name: "exchange",
        about: "write a, write b, exchange_atomic a<->b three times",
        steps: &[
            Step::Write {
                name: "a.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::Write {
                name: "b.bin",
                lock: true,
                checksum: false,
                size: Size::Small,
            },
            Step::Exchange {
                a: "a.bin",
                b: "b.bin",
            },
            Step::Exchange {
                a: "b.bin",
                b: "a.bin",
            },
            Step::Exchange {
                a: "a.bin",
                b: "b.bin",
            },
        ],
        targets: &["a.bin", "b.bin"],
    },
    Script {
        name: "checksum-file",
        about: "write_atomic without checksum (the sidecar goes stale), then write_checksum_file",
        steps: &[
            Step::Write {
                name: "t.bin",
                lock: true,
                checksum: false,
                size: Size::Large,
            },
            Step::ChecksumFile { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "store-update",
        about: "Store::<CheckedCounter>::update(n += 1)",
        steps: &[Step::StoreUpdate { name: "s.json" }],
        targets: &["s.json"],
    },
    Script {
        name: "store-migrate",
        about: "a version 1 counter file (Store::<CheckedCounter>::update on a fresh file), then Store::<VersionedCounter>::update migrating it to version 2",
        steps: &[
            Step::StoreUpdate { name: "s.json" },
            Step::StoreMigrate { name: "s.json" },
            Step::StoreMigrate { name: "s.json" },
            Step::Remove { name: "s.json" },
        ],
        targets: &["s.json"],
    },
    Script {
        name: "lock",
        about: "acquire_lock + read + write_atomic_locked + release, the same with a try_acquire_lock spin, acquire + hold + release",
        steps: &[
            Step::LockedRmw {
                name: "t.bin",
                try_lock: false,
            },
            Step::LockedRmw {
                name: "t.bin",
                try_lock: true,
            },
            Step::HoldRelease { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "store-replace",
        about: "Store::<CheckedCounter>::replace(n = 1000000 + k)",
        steps: &[Step::StoreReplace { name: "s.json" }],
        targets: &["s.json"],
    },
    Script {
        name: "store-try-update",
        about: "Store::<CheckedCounter>::try_update(n += 1), then try_update whose closure fails (nothing written)",
        steps: &[
            Step::StoreTryUpdate {
                name: "s.json",
                refuse: false,
            },
            Step::StoreTryUpdate {
                name: "s.json",
                refuse: true,
            },
        ],
        targets: &["s.json"],
    },
    Script {
        name: "dump-json",
        about: "atomic_json_dump of a value with a 2-62 KiB string",
        steps: &[Step::Dump {
            name: "dump.json",
            format: Format::Json,
        }],
        targets: &["dump.json"],
    },
    Script {
        name: "dump-yaml",
        about: "atomic_yaml_dump of a value with a 2-62 KiB string",
        steps: &[Step::Dump {
            name: "dump.yaml",
            format: Format::Yaml,
        }],
        targets: &["dump.yaml"],
    },
    Script {
        name: "dump-toml",
        about: "atomic_toml_dump of a value with a 2-62 KiB string",
        steps: &[Step::Dump {
            name: "dump.toml",
            format: Format::Toml,
        }],
        targets: &["dump.toml"],
    },
    Script {
        name: "dump-ron",
        about: "atomic_ron_dump of a value with a 2-62 KiB string",
        steps: &[Step::Dump {
            name: "dump.ron",
            format: Format::Ron,
        }],
        targets: &["dump.ron"],
    },
    Script {
        name: "release-stale",
        about: "plant a dead holder's payload, release_stale_lock (clears it), again (nothing to clear), \
                plant a corrupt 700-byte payload, release_stale_lock (truncates it)",
        steps: &[
            Step::PlantStaleLock {
                name: "t.bin",
                corrupt: false,
            },
            Step::ReleaseStaleLock { name: "t.bin" },
            Step::ReleaseStaleLock { name: "t.bin" },
            Step::PlantStaleLock {
                name: "t.bin",
                corrupt: true,
            },
            Step::ReleaseStaleLock { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "force-release",
        about: "plant a dead holder's payload, force_release_lock (removes the lock file), again (nothing to remove), \
                plant a corrupt payload, force_release_lock",
        steps: &[
            Step::PlantStaleLock {
                name: "t.bin",
                corrupt: false,
            },
            Step::ForceReleaseLock { name: "t.bin" },
            Step::ForceReleaseLock { name: "t.bin" },
            Step::PlantStaleLock {
                name: "t.bin",
                corrupt: true,
            },
            Step::ForceReleaseLock { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "doctor",
        about: "small checksummed write of t.bin, doctor(t.bin) with destructive probes",
        steps: &[
            Step::Write {
                name: "t.bin",
                lock: true,
                checksum: true,
                size: Size::Small,
            },
            Step::Doctor { name: "t.bin" },
        ],
        targets: &["t.bin"],
    },
    Script {
        name: "cleanup-litter",
        about: "small checksummed write of t.bin, plant 32 dead writers' temp files, cleanup_litter (removes 32); \
                a live writer's temp file stays beside them throughout",
        steps: &[
            Step::Write {
                name: "t.bin",
                lock: true,
                checksum: true,
                size: Size::Small,
            },
            Step::MakeLitter { count: 32 },
            Step::CleanupLitter,
        ],
        targets: &["t.bin"],
    },
];

/// The script called `name`.
pub fn script(name: &str) -> Option<&'static Script> {
    SCRIPTS.iter().find(|s| s.name == name)
}
