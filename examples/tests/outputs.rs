//! Runs every example and compares what it prints with
//! `examples/expected/<name>.stdout`, so no example rots: a change of the
//! library that breaks an example, or changes what it shows, fails here.
//!
//! In an expected file, `[..]` matches any text within a line and `...` on a
//! line of its own matches any number of lines; they mark what depends on
//! the machine (the filesystem under the temporary directory, whether the
//! test runs as root). To regenerate the files after an intended change:
//!
//! ```sh
//! SNAPSHOTS=overwrite cargo test -p safeatomic-examples
//! ```
//!
//! Wildcards are kept where the lines around them still line up, not
//! always: check `git diff examples/expected` afterwards and put back any
//! `[..]` that was replaced by this machine's value.
//!
//! The examples are run as the binaries `cargo test` has just built, found
//! next to this test's own binary (no nested cargo). `cargo test -p
//! safeatomic-examples --test outputs` alone does not rebuild them: after
//! changing an example, run the whole package's tests.

use snapbox::cmd::Command;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Generous: the slowest example (six processes making 600 durable,
/// checksummed updates) takes a few seconds.
const TIMEOUT: Duration = Duration::from_secs(300);

/// `target/<profile>/examples/<name>`: this test runs as
/// `target/<profile>/deps/outputs-<hash>`, and `cargo test` builds the
/// package's examples into the sibling `examples` directory.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the path of the test binary");
    let profile_dir = exe
        .parent() // deps
        .and_then(Path::parent) // <profile>
        .expect("the test binary lives in target/<profile>/deps");
    let bin = profile_dir.join("examples").join(name);
    assert!(
        bin.is_file(),
        "example binary {} not found: build the examples first \
         (`cargo test -p safeatomic-examples` builds them; `--test outputs` alone does not)",
        bin.display()
    );
    bin
}

/// Runs example `name` with `envs` set, checks that it succeeds, and
/// compares its stdout with `expected/<name>.stdout`.
fn check(name: &str, envs: &[(&str, &Path)]) {
    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("expected")
        .join(format!("{name}.stdout"));
    let assert = snapbox::Assert::new()
        .action_env(snapbox::assert::DEFAULT_ACTION_ENV) // SNAPSHOTS=overwrite
        // Examples print Debug strings such as "line\n": keep backslashes.
        .normalize_paths(false);
    let mut cmd = Command::new(example_binary(name))
        .with_assert(assert)
        .timeout(TIMEOUT);
    for (key, value) in envs {
        cmd = cmd.env(key, value);
    }
    cmd.assert()
        .success()
        .stdout_eq(snapbox::Data::read_from(&expected, None));
}

#[test]
fn quickstart() {
    check("quickstart", &[]);
}

#[test]
fn basic() {
    check("basic", &[]);
}

#[test]
fn formats() {
    check("formats", &[]);
}

#[test]
fn checksums() {
    check("checksums", &[]);
}

#[test]
fn locked_counter() {
    check("locked_counter", &[]);
}

#[test]
fn environment() {
    check("environment", &[]);
}

#[test]
fn errors() {
    check("errors", &[]);
}

#[test]
fn streaming() {
    check("streaming", &[]);
}

#[test]
fn safety_policy() {
    check("safety_policy", &[]);
}

#[test]
fn typed_store() {
    check("typed_store", &[]);
}

#[test]
fn typed_config() {
    // A fresh config directory, so the example starts from its defaults and
    // never touches the user's ~/.config.
    let config_home = tempfile::tempdir().expect("a temporary directory");
    check("typed_config", &[("XDG_CONFIG_HOME", config_home.path())]);
}

#[test]
fn multi_process_counter() {
    // Spawns itself (std::env::current_exe) as its worker processes.
    check("multi_process_counter", &[]);
}

#[test]
fn hot_reload() {
    // Spawns itself as the other process; waits for each reload.
    check("hot_reload", &[]);
}

/// Every declared example has a test above and an expected file; a new
/// example cannot be added without its check.
#[test]
fn every_example_is_checked() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("read examples/Cargo.toml");
    let tested = include_str!("outputs.rs");
    let mut declared = Vec::new();
    let mut in_example = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_example = line == "[[example]]";
        } else if in_example && let Some(name) = line.strip_prefix("name = ") {
            declared.push(name.trim_matches('"').to_owned());
        }
    }
    assert!(!declared.is_empty(), "no [[example]] found in Cargo.toml");
    for name in &declared {
        assert!(
            tested.contains(&format!("check(\"{name}\"")),
            "example {name} has no test in tests/outputs.rs"
        );
        let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("expected")
            .join(format!("{name}.stdout"));
        assert!(
            expected.is_file() || std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite"),
            "example {name} has no {}",
            expected.display()
        );
    }
}
