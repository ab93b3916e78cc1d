//! Every `console` example in `docs/cli.md` is run against the real binary,
//! and what it prints and its exit status must be what the document shows.
//!
//! The examples run one after the other, as one shell session would, in a
//! fresh directory on a loop-mounted ext4 (the document says "in a
//! directory on ext4"), so this test needs root; it skips visibly without,
//! and fails instead under `SAFEATOMIC_REQUIRE_ROOT_TESTS=1`.
//!
//! The format the document follows:
//!
//! * a command is a line starting with `$ ` (run with `bash -c`, standard
//!   error merged into standard output, `umask 022`, `LC_ALL=C`, the
//!   `safeatomic` under test first in `PATH`); its expected output follows,
//!   and ends with an `[exit N]` line;
//! * a command ending in `&` is started in the background (its output is
//!   discarded) and has no `[exit N]` line;
//! * in expected output `[..]` matches any text within a line and a line
//!   `...` any number of lines (snapbox's wildcards), for what differs from
//!   run to run: times, process ids, device numbers, mount points;
//! * an HTML comment `<!-- check: setup: CMD -->` before a block runs CMD
//!   first, unseen by readers, to put the directory in the state the block
//!   describes (`<!-- check: skip -->` leaves a block unchecked: used only
//!   for what cannot happen here, e.g. a holder on another host).

use common::mounts::{Mount, require_mkfs, require_root, require_tools};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_safeatomic");
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md");

/// One command of a console block.
struct Example {
    /// Line number in the document, for messages.
    line: usize,
    command: String,
    background: bool,
    expected: String,
    exit: i32,
}

struct Block {
    line: usize,
    skip: bool,
    setup: Vec<String>,
    examples: Vec<Example>,
}

fn parse(doc: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut setup = Vec::new();
    let mut skip = false;
    let mut lines = doc.lines().enumerate().map(|(i, l)| (i + 1, l)).peekable();
    while let Some((n, line)) = lines.next() {
        if let Some(directive) = line
            .strip_prefix("<!-- check: ")
            .and_then(|d| d.strip_suffix(" -->"))
        {
            match directive.strip_prefix("setup: ") {
                Some(cmd) => setup.push(cmd.to_owned()),
                None if directive == "skip" => skip = true,
                None => panic!("docs/cli.md:{n}: unknown directive {directive:?}"),
            }
            continue;
        }
        if line != "```console" {
            continue;
        }
        let mut block = Block {
            line: n,
            skip: std::mem::take(&mut skip),
            setup: std::mem::take(&mut setup),
            examples: Vec::new(),
        };
        let mut current: Option<(usize, String, Vec<&str>)> = None;
        for (n, line) in lines.by_ref() {
            if line == "```" {
                break;
            }
            if let Some(cmd) = line.strip_prefix("$ ") {
                if let Some((l, c, out)) = current.take() {
                    assert!(
                        c.ends_with('&') && out.iter().all(|o| o.is_empty()),
                        "docs/cli.md:{l}: `{c}` has no [exit N] line"
                    );
                    block.examples.push(Example {
                        line: l,
                        command: c.trim_end_matches('&').trim().to_owned(),
                        background: true,
                        expected: String::new(),
                        exit: 0,
                    });
                }
                current = Some((n, cmd.to_owned(), Vec::new()));
            } else if let Some(code) = line
                .strip_prefix("[exit ")
                .and_then(|c| c.strip_suffix(']'))
            {
                let (l, command, out) = current
                    .take()
                    .unwrap_or_else(|| panic!("docs/cli.md:{n}: [exit] without a command"));
                let mut expected = out.join("\n");
                if !expected.is_empty() {
                    expected.push('\n');
                }
                block.examples.push(Example {
                    line: l,
                    command,
                    background: false,
                    expected,
                    exit: code.parse().expect("exit status"),
                });
            } else if let Some((_, _, out)) = current.as_mut() {
                out.push(line);
            } else {
                assert!(
                    line.is_empty(),
                    "docs/cli.md:{n}: text outside a command: {line:?}"
                );
            }
        }
        assert!(
            current.is_none(),
            "docs/cli.md: block at line {n} ends inside a command"
        );
        blocks.push(block);
    }
    blocks
}

fn shell(dir: &Path, command: &str) -> Command {
    let bin_dir = Path::new(BIN).parent().expect("binary directory");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin_dir.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("umask 022\nexec 2>&1\n{command}"))
        .current_dir(dir)
        .env("PATH", std::env::join_paths(paths).expect("PATH"))
        .env("LC_ALL", "C")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Runs `command`; its output (stdout and stderr merged) and exit status.
fn run(dir: &Path, command: &str) -> (String, i32) {
    let out = shell(dir, command).output().expect("run bash");
    let code = out.status.code().unwrap_or(-1);
    (String::from_utf8_lossy(&out.stdout).into_owned(), code)
}

#[test]
fn every_console_example_in_cli_md_prints_what_the_document_shows() {
    const TEST: &str = "every_console_example_in_cli_md_prints_what_the_document_shows";
    if !require_root(TEST)
        || !require_mkfs(TEST, &["ext4"])
        || !require_tools(TEST, &["bash", "flock", "sha256sum", "stat"])
    {
        return;
    }
    let doc = std::fs::read_to_string(DOC).expect("read docs/cli.md");
    let blocks = parse(&doc);
    let checked: usize = blocks
        .iter()
        .filter(|b| !b.skip)
        .map(|b| b.examples.len())
        .sum();
    assert!(
        checked >= 40,
        "only {checked} examples found in docs/cli.md"
    );

    let mount = Mount::loop_fs("ext4", 64);
    let dir: PathBuf = mount.path().join("work");
    std::fs::create_dir(&dir).expect("create work dir");
    let assert = snapbox::Assert::new().action_env(snapbox::assert::DEFAULT_ACTION_ENV);
    let mut background: Vec<Child> = Vec::new();
    let mut failures = Vec::new();
    for block in blocks.iter().filter(|b| !b.skip) {
        for setup in &block.setup {
            let (out, code) = run(&dir, setup);
            assert_eq!(
                code, 0,
                "docs/cli.md:{}: setup `{setup}` failed: {out}",
                block.line
            );
        }
        for ex in &block.examples {
            if ex.background {
                let child = shell(&dir, &ex.command)
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("start background command");
                background.push(child);
                // Let it get going (e.g. take the lock) before the next one.
                std::thread::sleep(Duration::from_millis(300));
                continue;
            }
            let (out, code) = run(&dir, &ex.command);
            let name = format!("docs/cli.md:{}: $ {}", ex.line, ex.command);
            if code != ex.exit {
                failures.push(format!(
                    "{name}\nexit {code}, documented {}\n{out}",
                    ex.exit
                ));
            } else if let Err(e) =
                assert.try_eq(Some(&name), out.into(), ex.expected.clone().into())
            {
                failures.push(e.to_string());
            }
        }
    }
    for mut child in background {
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(mount);
    assert!(
        failures.is_empty(),
        "{} of {checked} examples in docs/cli.md differ from the tool:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
