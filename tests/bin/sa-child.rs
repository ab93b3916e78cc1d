//! Child-process driver for the crash, kill and race tests.
//!
//! `sa-child SUBCOMMAND ARGS…`; each subcommand is one entry in [`COMMANDS`]
//! (add new ones there). Exit codes are in [`common::child::exit`]; errors
//! go to stderr. Payloads are made and checked with
//! [`common::child::make_payload`] / [`common::child::verify_payload`], the
//! same code the tests use.

use common::child::{
    CREATE_PAYLOAD_SIZE, HOLD_WRITER_SIZE, HOLD_WRITER_TAG, exit, make_payload, verify_payload,
};
use safeatomic::{
    Algorithm, AtomicWriter, ErrorKind, WriteOptions, acquire_lock, checksum_info, create_atomic,
    read_atomic, read_atomic_to_string, write_atomic, write_atomic_locked,
};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Chunk size of `stream-loop`'s writes through [`AtomicWriter`].
const STREAM_CHUNK: usize = 64 * 1024;

/// How often `create` looks for its start signal.
const GO_POLL: Duration = Duration::from_micros(100);

/// The outcome of a subcommand: `Err` is printed and becomes the exit code.
type Outcome = Result<(), Failure>;

/// A failed subcommand: exit code and message (none for an expected
/// non-zero outcome such as `create`'s "already exists").
struct Failure {
    code: i32,
    message: String,
}

fn fail(code: i32, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

fn error(message: impl Into<String>) -> Failure {
    fail(exit::ERROR, message)
}

/// One subcommand: name, argument synopsis, what it does, entry point.
struct Command {
    name: &'static str,
    args: &'static str,
    about: &'static str,
    run: fn(&[String]) -> Outcome,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "write-loop",
        args: "PATH SIZE [FIRST_SEQ]",
        about: "forever: write_atomic a SIZE-byte payload with the next sequence number, then print that number",
        run: write_loop,
    },
    Command {
        name: "write",
        args: "PATH TEXT",
        about: "write_atomic TEXT to PATH once (a process's first write in a directory: it sweeps dead writers' temp files)",
        run: write_once,
    },
    Command {
        name: "stream-loop",
        args: "PATH SIZE [FIRST_SEQ]",
        about: "as write-loop, through AtomicWriter in 64 KiB chunks, one commit per version",
        run: stream_loop,
    },
    Command {
        name: "create",
        args: "PATH TAG [GO_FILE]",
        about: "print \"ready\", wait until GO_FILE exists (without GO_FILE: for a line or EOF on stdin), create_atomic a payload tagged TAG; \
                exit 0 and print \"won TAG\" if published, exit 3 and print \"exists WINNER_TAG\" \
                if the file existed and is a complete payload (exit 4 if it is not)",
        run: create,
    },
    Command {
        name: "hold-writer",
        args: "PATH [SIZE [TAG]]",
        about: "start an AtomicWriter on PATH, write a SIZE-byte payload tagged TAG (default 256 KiB and \"held\"), print \"ready\", \
                wait for a line (or EOF) on stdin, commit, print \"committed\"",
        run: hold_writer,
    },
    Command {
        name: "stream-checksum",
        args: "PATH MIB",
        about: "stream MIB MiB through an AtomicWriter with a sha256 sidecar, commit, print the digest and the peak RSS in KiB (VmHWM)",
        run: stream_checksum,
    },
    Command {
        name: "store-increment",
        args: "FORMAT PATH N [THREADS]",
        about: "N times Store::update(n += 1) on a derived counter in FORMAT (json, yaml, toml, ron, checked, versioned: checked at schema version 2), \
                in each of THREADS threads (default 1) sharing clones of one store",
        run: store_increment,
    },
    Command {
        name: "store-group-acked",
        args: "PATH THREADS",
        about: "forever, in each of THREADS threads sharing clones of one store: Store::<CheckedCounter>::update(n += 1), \
                then print the n it committed and the time in ns (\"N TIME\")",
        run: store_group_acked,
    },
    Command {
        name: "config-dir",
        args: "APP FILE",
        about: "Store::open_in_config_dir(APP, FILE), one update, print the store's path",
        run: config_dir,
    },
    Command {
        name: "increment",
        args: "PATH N",
        about: "N times: acquire_lock PATH, read the decimal counter, write_atomic_locked counter+1, release",
        run: increment,
    },
    Command {
        name: "hold-lock",
        args: "PATH",
        about: "acquire_lock PATH, print \"ready\", wait for a line (or EOF) on stdin, release",
        run: hold_lock,
    },
    Command {
        name: "exclusion",
        args: "PATH MARKER N",
        about: "N times: acquire_lock PATH, create MARKER exclusively (exit 5 if it exists: two holders), \
                yield, remove MARKER, release",
        run: exclusion,
    },
    Command {
        name: "kill-loop",
        args: "SCRIPT DIR FIRST",
        about: "forever from step FIRST: print \"K begin\", run step K of the kill script SCRIPT (common::killops) in DIR, \
                print \"K done\", \"K refused\", \"K noop\" or \"K removed N\" (common::killops::Outcome)",
        run: kill_loop,
    },
    Command {
        name: "torture-writer",
        args: "DIR WRITER NEXT_STORE NEXT_RAW",
        about: "forever, alternating: write the counter DIR/store.json and the payload DIR/raw.bin with WRITER \
                (safeatomic, std-fs-write, rename-no-fsync, rename-no-dir-fsync; common::torture), print \"store N T\" / \"raw SEQ T\" \
                after each success (T: nanoseconds since the epoch when the call returned); on the first failure print \"error T TARGET MESSAGE\" and exit 1",
        run: torture_writer,
    },
    Command {
        name: "mixed-reader",
        args: "MODE STORE COUNTER",
        about: "until a line (or EOF) on stdin: MODE verify: read_atomic_verified, verify_checksum and Store::load of the checked \
                counter STORE, read_atomic of the decimal COUNTER, values never decreasing; MODE inspect: inspect_lock of both; \
                then print \"reads N bad B\" and up to 5 \"bad WHY\" lines; exit 1 if B > 0",
        run: mixed_reader,
    },
];

fn usage() -> String {
    let mut s = String::from("usage: sa-child SUBCOMMAND ARGS...\n");
    for c in COMMANDS {
        s.push_str(&format!("  {} {}\n      {}\n", c.name, c.args, c.about));
    }
    s
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, args)) = argv.split_first() else {
        eprint!("{}", usage());
        return ExitCode::from(exit::USAGE as u8);
    };
    let Some(cmd) = COMMANDS.iter().find(|c| c.name == name) else {
        eprint!("sa-child: unknown subcommand {name:?}\n{}", usage());
        return ExitCode::from(exit::USAGE as u8);
    };
    match (cmd.run)(args) {
        Ok(()) => ExitCode::from(exit::OK as u8),
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("sa-child {name}: {}", f.message);
            }
            ExitCode::from(u8::try_from(f.code).unwrap_or(1))
        }
    }
}

// ------------------------------------------------------------- arguments

/// The arguments, if there are between `min` and `max` of them; else a usage failure.
fn args_between<'a>(
    args: &'a [String],
    min: usize,
    max: usize,
    synopsis: &str,
) -> Result<&'a [String], Failure> {
    if (min..=max).contains(&args.len()) {
        Ok(args)
    } else {
        Err(fail(
            exit::USAGE,
            format!("expected {synopsis}, got {args:?}"),
        ))
    }
}

fn number<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, Failure> {
    s.parse()
        .map_err(|_| fail(exit::USAGE, format!("{what} must be a number, got {s:?}")))
}

/// Prints one line to stdout and flushes it: the parent sees it only once
/// it is complete (one `write` for a short line).
fn say(line: &str) -> Outcome {
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| error(format!("stdout: {e}")))
}

/// Blocks until a line (or EOF) arrives on stdin: the parent's signal.
fn wait_for_stdin() -> Outcome {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map(drop)
        .map_err(|e| error(format!("stdin: {e}")))
}

// ------------------------------------------------------------- write loops

/// `write-loop` / `stream-loop` arguments.
struct LoopArgs {
    path: PathBuf,
    size: usize,
    first: u64,
}

fn loop_args(args: &[String]) -> Result<LoopArgs, Failure> {
    let args = args_between(args, 2, 3, "PATH SIZE [FIRST_SEQ]")?;
    Ok(LoopArgs {
        path: PathBuf::from(&args[0]),
        size: number("SIZE", &args[1])?,
        first: match args.get(2) {
            Some(s) => number("FIRST_SEQ", s)?,
            None => 1,
        },
    })
}

/// Forever: publish version `seq` with `publish`, then acknowledge it.
fn run_loop(args: &[String], tag: &str, publish: fn(&Path, &[u8]) -> Outcome) -> Outcome {
    let LoopArgs { path, size, first } = loop_args(args)?;
    for seq in first.. {
        publish(&path, &make_payload(seq, tag, size))?;
        say(&seq.to_string())?;
    }
    Ok(())
}

fn write_loop(args: &[String]) -> Outcome {
    run_loop(args, "write-loop", |path, data| {
        write_atomic(path, data).map_err(|e| error(format!("write_atomic: {e}")))
    })
}

fn stream_loop(args: &[String]) -> Outcome {
    run_loop(args, "stream-loop", |path, data| {
        let mut w =
            AtomicWriter::create(path).map_err(|e| error(format!("AtomicWriter::create: {e}")))?;
        for chunk in data.chunks(STREAM_CHUNK) {
            w.write_all(chunk)
                .map_err(|e| error(format!("AtomicWriter write: {e}")))?;
        }
        w.commit()
            .map_err(|e| error(format!("AtomicWriter::commit: {e}")))
    })
}

// ------------------------------------------------------------- create race

fn write_once(args: &[String]) -> Outcome {
    let args = args_between(args, 2, 2, "PATH TEXT")?;
    write_atomic(&args[0], &args[1]).map_err(|e| error(format!("write_atomic: {e}")))
}

fn create(args: &[String]) -> Outcome {
    let args = args_between(args, 2, 3, "PATH TAG [GO_FILE]")?;
    let (path, tag, go) = (Path::new(&args[0]), &args[1], args.get(2).map(Path::new));
    // Build the payload before the start signal so every racer is ready to
    // go the moment it is released.
    let data = make_payload(0, tag, CREATE_PAYLOAD_SIZE);
    say("ready")?;
    match go {
        Some(go) => {
            while !go.exists() {
                std::thread::sleep(GO_POLL);
            }
        }
        None => wait_for_stdin()?,
    }
    match create_atomic(path, &data) {
        Ok(()) => say(&format!("won {tag}")),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let bytes = read_atomic(path)
                .map_err(|e| error(format!("read_atomic after AlreadyExists: {e}")))?;
            match verify_payload(&bytes) {
                Ok(info) => {
                    say(&format!("exists {}", info.tag))?;
                    // An expected outcome: the exit code says it, stderr stays quiet.
                    Err(fail(exit::EXISTS, ""))
                }
                Err(bad) => Err(fail(
                    exit::BAD_CONTENT,
                    format!("{} exists but: {bad}", path.display()),
                )),
            }
        }
        Err(e) => Err(error(format!("create_atomic: {e}"))),
    }
}

// ------------------------------------------------------------- live writer

fn hold_writer(args: &[String]) -> Outcome {
    let args = args_between(args, 1, 3, "PATH [SIZE [TAG]]")?;
    let path = Path::new(&args[0]);
    let size: usize = match args.get(1) {
        Some(s) => number("SIZE", s)?,
        None => HOLD_WRITER_SIZE,
    };
    let tag = args.get(2).map_or(HOLD_WRITER_TAG, String::as_str);
    let mut w =
        AtomicWriter::create(path).map_err(|e| error(format!("AtomicWriter::create: {e}")))?;
    w.write_all(&make_payload(0, tag, size))
        .and_then(|()| w.flush())
        .map_err(|e| error(format!("AtomicWriter write: {e}")))?;
    say("ready")?;
    wait_for_stdin()?;
    w.commit()
        .map_err(|e| error(format!("AtomicWriter::commit: {e}")))?;
    say("committed")
}

// ------------------------------------------------------------- locks

fn increment(args: &[String]) -> Outcome {
    let args = args_between(args, 2, 2, "PATH N")?;
    let path = Path::new(&args[0]);
    let n: u64 = number("N", &args[1])?;
    for _ in 0..n {
        let guard = acquire_lock(path, None).map_err(|e| error(e.to_string()))?;
        let text = read_atomic_to_string(path).map_err(|e| error(e.to_string()))?;
        let value: u64 = text
            .trim()
            .parse()
            .map_err(|_| error(format!("counter is not a number: {text:?}")))?;
        write_atomic_locked(&guard, (value + 1).to_string()).map_err(|e| error(e.to_string()))?;
        guard.release().map_err(|e| error(e.to_string()))?;
    }
    Ok(())
}

fn hold_lock(args: &[String]) -> Outcome {
    let args = args_between(args, 1, 1, "PATH")?;
    let guard = acquire_lock(&args[0], None).map_err(|e| error(e.to_string()))?;
    say("ready")?;
    wait_for_stdin()?;
    guard.release().map_err(|e| error(e.to_string()))
}

fn exclusion(args: &[String]) -> Outcome {
    let args = args_between(args, 3, 3, "PATH MARKER N")?;
    let (path, marker) = (Path::new(&args[0]), Path::new(&args[1]));
    let n: u64 = number("N", &args[2])?;
    for _ in 0..n {
        let guard = acquire_lock(path, None).map_err(|e| error(e.to_string()))?;
        // The marker is this test's own witness, outside the library.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(marker)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(fail(
                    exit::TWO_HOLDERS,
                    "the marker exists: two lock holders at once",
                ));
            }
            Err(e) => return Err(error(format!("create marker: {e}"))),
        }
        std::thread::yield_now();
        std::fs::remove_file(marker).map_err(|e| error(format!("remove marker: {e}")))?;
        guard.release().map_err(|e| error(e.to_string()))?;
    }
    Ok(())
}

// ------------------------------------------------------------- checksums

fn stream_checksum(args: &[String]) -> Outcome {
    let args = args_between(args, 2, 2, "PATH MIB")?;
    let path = Path::new(&args[0]);
    let mib: usize = number("MIB", &args[1])?;
    let opts = WriteOptions::new().checksum(Some(Algorithm::Sha256));
    let mut w = AtomicWriter::create_with(path, &opts).map_err(|e| error(e.to_string()))?;
    let mut chunk = vec![0u8; 1024 * 1024];
    for i in 0..mib {
        // Distinct content per MiB, so a skipped or repeated chunk changes the digest.
        chunk[..8].copy_from_slice(&(i as u64).to_le_bytes());
        w.write_all(&chunk).map_err(|e| error(e.to_string()))?;
    }
    w.commit().map_err(|e| error(e.to_string()))?;
    let digest = checksum_info(path)
        .map_err(|e| error(e.to_string()))?
        .digest;
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| error(e.to_string()))?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or_else(|| error("no VmHWM in /proc/self/status"))?;
    say(&format!("{digest} {hwm}"))
}

// ------------------------------------------------------------- stores

fn increments<T: safeatomic::Persisted>(
    path: &Path,
    n: u64,
    threads: u64,
    bump: fn(&mut T),
) -> Outcome {
    let store = safeatomic::Store::<T>::open(path).map_err(|e| error(e.to_string()))?;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let store = store.clone();
                scope.spawn(move || {
                    for _ in 0..n {
                        store.update(bump).map_err(|e| e.to_string())?;
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("an update thread panicked"))
            .map_err(error)
    })
}

fn store_group_acked(args: &[String]) -> Outcome {
    let args = args_between(args, 2, 2, "PATH THREADS")?;
    let threads: u64 = number("THREADS", &args[1])?;
    let store = safeatomic::Store::<common::types::CheckedCounter>::open(&args[0])
        .map_err(|e| error(e.to_string()))?;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let store = store.clone();
                scope.spawn(move || {
                    loop {
                        let n = store
                            .update(|c| {
                                c.n += 1;
                                c.n
                            })
                            .map_err(|e| error(e.to_string()))?;
                        say(&format!("{n} {}", common::torture::now_nanos()))?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("an update thread panicked"))
    })
}

fn store_increment(args: &[String]) -> Outcome {
    use common::types::{
        CheckedCounter, JsonCounter, RonCounter, TomlCounter, VersionedCounter, YamlCounter,
    };
    let args = args_between(args, 3, 4, "FORMAT PATH N [THREADS]")?;
    let path = Path::new(&args[1]);
    let n: u64 = number("N", &args[2])?;
    let t: u64 = args.get(3).map_or(Ok(1), |t| number("THREADS", t))?;
    match args[0].as_str() {
        "json" => increments::<JsonCounter>(path, n, t, |c| c.n += 1),
        "yaml" => increments::<YamlCounter>(path, n, t, |c| c.n += 1),
        "toml" => increments::<TomlCounter>(path, n, t, |c| c.n += 1),
        "ron" => increments::<RonCounter>(path, n, t, |c| c.n += 1),
        "checked" => increments::<CheckedCounter>(path, n, t, |c| c.n += 1),
        "versioned" => increments::<VersionedCounter>(path, n, t, |c| c.n += 1),
        other => Err(fail(exit::USAGE, format!("unknown format {other:?}"))),
    }
}

fn config_dir(args: &[String]) -> Outcome {
    let args = args_between(args, 2, 2, "APP FILE")?;
    let store =
        safeatomic::Store::<common::types::TomlCounter>::open_in_config_dir(&args[0], &args[1])
            .map_err(|e| error(e.to_string()))?;
    store
        .update(|c| c.n += 1)
        .map_err(|e| error(e.to_string()))?;
    say(&store.path().display().to_string())
}

// ------------------------------------------------------------- kill and crash harnesses

fn kill_loop(args: &[String]) -> Outcome {
    let args = args_between(args, 3, 3, "SCRIPT DIR FIRST")?;
    let script = common::killops::script(&args[0])
        .ok_or_else(|| fail(exit::USAGE, format!("unknown kill script {:?}", args[0])))?;
    let dir = Path::new(&args[1]);
    let first: u64 = number("FIRST", &args[2])?;
    for k in first.. {
        say(&format!("{k} begin"))?;
        let outcome = common::killops::run_step(dir, script.step(k), k).map_err(error)?;
        say(&format!("{k} {outcome}"))?;
    }
    Ok(())
}

fn torture_writer(args: &[String]) -> Outcome {
    use common::torture::{
        RAW, RAW_TAG, STORE, Writer, counter_json, naive_write, now_nanos, raw_size,
    };
    let args = args_between(args, 4, 4, "DIR WRITER NEXT_STORE NEXT_RAW")?;
    let dir = Path::new(&args[0]);
    let writer = Writer::parse(&args[1])
        .ok_or_else(|| fail(exit::USAGE, format!("unknown writer {:?}", args[1])))?;
    let mut next_store: u64 = number("NEXT_STORE", &args[2])?;
    let mut next_raw: u64 = number("NEXT_RAW", &args[3])?;
    let (store_path, raw_path) = (dir.join(STORE), dir.join(RAW));
    // The first failure ends the writer: reported as a line for the parent
    // (after a shutdown every call fails), with a quiet exit.
    let stop = |target: &str, e: &dyn std::fmt::Display| {
        let message = e.to_string().replace('\n', " ");
        let _ = say(&format!("error {} {target} {message}", now_nanos()));
        fail(exit::ERROR, "")
    };
    let store = match writer {
        Writer::Safeatomic => Some(
            safeatomic::Store::<common::types::CheckedCounter>::open(&store_path)
                .map_err(|e| stop(STORE, &e))?,
        ),
        _ => None,
    };
    loop {
        let n = match &store {
            Some(s) => s
                .update(|c| {
                    c.n += 1;
                    c.n
                })
                .map_err(|e| stop(STORE, &e))?,
            None => {
                naive_write(writer, &store_path, &counter_json(next_store))
                    .map_err(|e| stop(STORE, &e))?;
                next_store
            }
        };
        say(&format!("store {n} {}", now_nanos()))?;
        next_store = n + 1;

        let data = make_payload(next_raw, RAW_TAG, raw_size(next_raw));
        match writer {
            Writer::Safeatomic => write_atomic(&raw_path, &data).map_err(|e| stop(RAW, &e))?,
            _ => naive_write(writer, &raw_path, &data).map_err(|e| stop(RAW, &e))?,
        }
        say(&format!("raw {next_raw} {}", now_nanos()))?;
        next_raw += 1;
    }
}

/// Bad reads of `mixed-reader`: all counted, the first few kept.
#[derive(Default)]
struct BadReads {
    count: u64,
    first: Vec<String>,
}

impl BadReads {
    fn note(&mut self, why: String) {
        self.count += 1;
        if self.first.len() < 5 {
            self.first.push(why);
        }
    }

    /// Notes a value smaller than the last one seen by the same kind of read.
    fn monotonic(&mut self, what: &str, last: &mut u64, now: u64) {
        if now < *last {
            self.note(format!("{what} went back from {last} to {now}"));
        }
        *last = now;
    }
}

fn mixed_reader(args: &[String]) -> Outcome {
    use safeatomic::{inspect_lock, read_atomic_verified, verify_checksum};
    use std::sync::atomic::{AtomicBool, Ordering};
    let args = args_between(args, 3, 3, "MODE STORE COUNTER")?;
    let mode = args[0].as_str();
    if !matches!(mode, "verify" | "inspect") {
        return Err(fail(exit::USAGE, format!("unknown mode {mode:?}")));
    }
    let (store_path, counter_path) = (Path::new(&args[1]), Path::new(&args[2]));
    let store = safeatomic::Store::<common::types::CheckedCounter>::open(store_path)
        .map_err(|e| error(e.to_string()))?;
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let _ = wait_for_stdin();
            stop.store(true, Ordering::Relaxed);
        });
    }
    let mut bad = BadReads::default();
    let (mut last_read, mut last_loaded, mut last_counter) = (0, 0, 0);
    let mut reads: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        if mode == "verify" {
            match read_atomic_verified(store_path) {
                Ok(bytes) => {
                    match serde_json::from_slice::<common::types::CheckedCounter>(&bytes) {
                        Ok(c) => bad.monotonic("read_atomic_verified", &mut last_read, c.n),
                        Err(e) => bad.note(format!("read_atomic_verified returned {bytes:?}: {e}")),
                    }
                }
                Err(e) => bad.note(format!("read_atomic_verified: {e}")),
            }
            match verify_checksum(store_path) {
                Ok(true) => {}
                Ok(false) => bad.note("verify_checksum: false (mismatch)".to_owned()),
                Err(e) => bad.note(format!("verify_checksum: {e}")),
            }
            match store.load() {
                Ok(c) => bad.monotonic("Store::load", &mut last_loaded, c.n),
                Err(e) => bad.note(format!("Store::load: {e}")),
            }
            match read_atomic_to_string(counter_path) {
                Ok(text) => match text.trim().parse::<u64>() {
                    Ok(n) => bad.monotonic("counter", &mut last_counter, n),
                    Err(_) => bad.note(format!("counter is not a number: {text:?}")),
                },
                Err(e) => bad.note(format!("read_atomic_to_string: {e}")),
            }
        } else {
            for p in [store_path, counter_path] {
                match inspect_lock(p) {
                    Ok(info) => {
                        if let Some(why) = info.corrupt {
                            bad.note(format!(
                                "inspect_lock {}: corrupt payload ({why}): {:?}",
                                p.display(),
                                info.raw_payload
                            ));
                        }
                    }
                    Err(e) => bad.note(format!("inspect_lock {}: {e}", p.display())),
                }
            }
        }
        reads += 1;
    }
    say(&format!("reads {reads} bad {}", bad.count))?;
    for why in &bad.first {
        say(&format!("bad {}", why.replace('\n', " ")))?;
    }
    if bad.count > 0 {
        Err(fail(exit::ERROR, ""))
    } else {
        Ok(())
    }
}
