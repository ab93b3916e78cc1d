//! `safeatomic lock status|release-stale|force-release|run PATH`.

use crate::failure::{self, Failure, chain};
use crate::parse;
use safeatomic::{
    ErrorKind, LockGuard, LockInfo, SharedLockGuard, acquire_lock, acquire_shared_lock,
    force_release_lock, inspect_lock, release_stale_lock, try_acquire_lock,
    try_acquire_shared_lock,
};
use serde::Serialize;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The exit status of `lock run` when the lock stays busy past `--timeout`
/// (`EX_TEMPFAIL` of sysexits.h: try again later).
pub(crate) const BUSY: u8 = 75;

const STATUS_EXAMPLES: &str = "\
Examples:
  safeatomic lock status /var/lib/app/state.json
  safeatomic lock status --json /var/lib/app/state.json | jq .held

Creates nothing. `held` is the kernel's flock state right now; pid, host and
time come from the holder's payload (diagnostics only).";

const RELEASE_STALE_EXAMPLES: &str = "\
A holder that dies is released by the kernel at once, so a stale lock never
blocks anyone; it only leaves its payload (pid, host, time) in PATH.lock.
This clears such a payload. A lock that is held is left alone.";

const FORCE_RELEASE_EXAMPLES: &str = "\
WARNING: this breaks exclusion. A process that holds the lock keeps it on the
removed file while the next one locks a new file: both run at once. Use it
only to repair a lock file that is not a lock file any more (wrong owner or
permissions, a directory or a symlink at its name), or when every holder is
known to be gone.";

const RUN_EXAMPLES: &str = "\
Examples:
  safeatomic lock run /var/lib/app/state -- /usr/local/bin/nightly-job --full
  safeatomic lock run --timeout 0 /var/lib/app/state -- job.sh   # skip if busy (exit 75)
  safeatomic lock run state.json -- sh -c 'transform < state.json | safeatomic write --no-lock state.json'
  safeatomic lock run --shared a.json -- safeatomic lock run --shared b.json -- backup.sh a.json b.json

Waits for the lock (forever, unless --timeout), runs CMD, releases the lock
when CMD ends and exits with CMD's status (128+N if a signal N killed it;
127 if CMD was not found, 126 if it could not be run; 75 if the lock stayed
busy past --timeout). SIGTERM and SIGHUP sent to safeatomic are passed on to
CMD; SIGINT and SIGQUIT (from the terminal, which sends them to CMD too) are
ignored by safeatomic while CMD runs: the lock is held until CMD has ended.
Inside CMD, write PATH with `safeatomic write --no-lock`: the lock is already
held, and a write that takes it would wait for itself forever. With --shared,
the lock is shared with other readers (`--shared`, `flock -s`) and excludes
every writer: for reading several files consistent with each other.";

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Show whether the lock of PATH is held, and by whom (creates nothing)
    #[command(after_help = STATUS_EXAMPLES)]
    Status {
        /// The file the lock protects (the lock file is PATH.lock)
        path: PathBuf,
        /// Print a JSON object instead of text
        #[arg(long)]
        json: bool,
    },
    /// Clear the payload a dead holder left in PATH.lock
    #[command(after_help = RELEASE_STALE_EXAMPLES)]
    ReleaseStale {
        /// The file the lock protects (the lock file is PATH.lock)
        path: PathBuf,
    },
    /// Remove PATH.lock whoever holds it (operator override: breaks exclusion)
    #[command(after_help = FORCE_RELEASE_EXAMPLES)]
    ForceRelease {
        /// The file the lock protects (the lock file is PATH.lock)
        path: PathBuf,
    },
    /// Hold the lock of PATH while CMD runs; exit with CMD's status
    #[command(after_help = RUN_EXAMPLES)]
    Run {
        /// The file the lock protects (the lock file is PATH.lock)
        path: PathBuf,
        /// Give up (exit status 75) if the lock is still busy after SECONDS; 0: do not wait
        #[arg(long, value_name = "SECONDS", value_parser = parse::seconds)]
        timeout: Option<Duration>,
        /// Hold a shared (read) lock: other readers share it, writers wait (flock -s)
        #[arg(long)]
        shared: bool,
        /// The command to run, after `--`, with its arguments
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
}

pub(crate) fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Status { path, json } => status(&path, json),
        Command::ReleaseStale { path } => release_stale(&path),
        Command::ForceRelease { path } => force_release(&path),
        Command::Run {
            path,
            timeout,
            shared,
            command,
        } => run_locked(&path, timeout, shared, &command),
    }
}

/// `lock status --json`: the library's [`LockInfo`] plus the target and
/// whether the payload is stale.
#[derive(Serialize)]
struct StatusJson<'a> {
    #[serde(serialize_with = "crate::text::serialize_path")]
    path: &'a Path,
    #[serde(flatten)]
    info: &'a LockInfo,
    stale: bool,
}

fn status(path: &Path, json: bool) -> Result<ExitCode, Failure> {
    let info = inspect_lock(path)?;
    let text = if json {
        let report = StatusJson {
            path,
            info: &info,
            stale: info.is_stale(),
        };
        let mut s = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::new(format!("cannot serialize the lock status: {e}")))?;
        s.push('\n');
        s
    } else {
        format!(
            "lock file:  {}\nstate:      {}\n",
            crate::text::path(&info.lock_path),
            describe(path, &info)
        )
    };
    failure::write_stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// One line saying who holds the lock, or that it is free. Everything
/// taken from the payload or the kernel is escaped (a host name can hold
/// control characters).
fn describe(path: &Path, info: &LockInfo) -> String {
    use crate::text::clean;
    if !info.exists {
        return "free (no lock file yet)".to_owned();
    }
    // Who wrote the payload.
    let payload = info.pid.map(|pid| {
        let mut h = format!("pid {pid}");
        if let Some(host) = &info.hostname {
            let _ = write!(h, " on {}", clean(host));
        }
        if let Some(ts) = &info.timestamp {
            let _ = write!(h, ", taken at {}", clean(ts));
        }
        if let Some(age) = info.age {
            let _ = write!(h, " ({} ago)", human_duration(age));
        }
        if let Some(hash) = &info.session_hash {
            let _ = write!(h, ", session sha256 {}", clean(hash));
        }
        h
    });
    // Who holds it now, as the kernel shows it.
    let now = info.holder_pid.map(|pid| match &info.holder_command {
        Some(command) => format!("pid {pid} ({})", clean(command)),
        None => format!("pid {pid}"),
    });
    let someone = || {
        now.clone()
            .unwrap_or_else(|| "a holder that wrote no payload, e.g. flock(1)".to_owned())
    };
    let mut s = match (info.held, payload, &info.corrupt) {
        // Shared holders write no payload: one left is a dead writer's.
        (true, p, _) if info.shared => {
            let readers = now.clone().map_or_else(
                || "readers (flock -s, lock run --shared)".to_owned(),
                |n| format!("{n} and possibly other readers"),
            );
            match p {
                Some(p) => format!("held shared by {readers}; stale payload left by {p}"),
                None => format!("held shared by {readers}"),
            }
        }
        (true, Some(p), _) if info.holder_alive == Some(false) => {
            format!(
                "held by {}; its payload names {p}, which is gone",
                someone()
            )
        }
        (true, Some(p), _) => format!("held by {p}"),
        (true, None, Some(why)) => format!(
            "held by {}; its payload is not trusted: {}",
            someone(),
            clean(why)
        ),
        (true, None, None) => match &now {
            Some(n) => format!("held by {n}, which wrote no payload (e.g. flock(1))"),
            None => "held (by a holder that wrote no payload, e.g. flock(1))".to_owned(),
        },
        (false, Some(p), _) => format!("free; stale payload left by {p}"),
        (false, None, Some(why)) => format!("free; stale, untrusted payload: {}", clean(why)),
        (false, None, None) => "free".to_owned(),
    };
    if info.is_stale() {
        let clear = format!("safeatomic lock release-stale {}", crate::text::path(path));
        if info.held {
            let _ = write!(
                s,
                "; clear the stale payload with `{clear}` once the lock is free"
            );
        } else {
            let _ = write!(s, "; it blocks no one (clear it with `{clear}`)");
        }
    }
    s
}

fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{:.1}s", d.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{:02}h", secs / 86400, secs % 86400 / 3600),
    }
}

fn release_stale(path: &Path) -> Result<ExitCode, Failure> {
    let cleared = release_stale_lock(path)?;
    let lock = safeatomic::lock_file_path(path);
    let line = if cleared {
        format!(
            "cleared the stale payload of {}\n",
            crate::text::path(&lock)
        )
    } else {
        let info = inspect_lock(path)?;
        if !info.exists {
            format!(
                "no lock file {}: nothing to clear\n",
                crate::text::path(&lock)
            )
        } else if info.held {
            format!(
                "{} is held by a live process: left alone\n",
                crate::text::path(&info.lock_path)
            )
        } else {
            format!(
                "{} has no stale payload: nothing to clear\n",
                crate::text::path(&lock)
            )
        }
    };
    failure::write_stdout(line.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn force_release(path: &Path) -> Result<ExitCode, Failure> {
    let lock = safeatomic::lock_file_path(path);
    let line = if force_release_lock(path)? {
        format!("removed {}\n", crate::text::path(&lock))
    } else {
        format!(
            "no lock file {}: nothing removed\n",
            crate::text::path(&lock)
        )
    };
    failure::write_stdout(line.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// A held lock of either kind.
enum Held {
    Exclusive(Box<LockGuard>),
    Shared(SharedLockGuard),
}

impl Held {
    fn release(self) -> safeatomic::Result<()> {
        match self {
            Held::Exclusive(guard) => guard.release(),
            Held::Shared(guard) => guard.release(),
        }
    }
}

fn run_locked(
    path: &Path,
    timeout: Option<Duration>,
    shared: bool,
    command: &[OsString],
) -> Result<ExitCode, Failure> {
    let guard = take_lock(path, timeout, shared)?;
    let status = child::run(command)?;
    if let Err(e) = guard.release() {
        // The lock is released anyway when its file is closed at exit.
        log::warn!("{}", chain(&e));
    }
    Ok(ExitCode::from(child::exit_code(status)))
}

fn take_lock(path: &Path, timeout: Option<Duration>, shared: bool) -> Result<Held, Failure> {
    let busy = || {
        Failure::with_code(
            BUSY,
            format!(
                "the lock of `{}` is held by another process; command not run",
                crate::text::path(path)
            ),
        )
    };
    let timed_out = |e: safeatomic::Error| {
        if e.kind() == ErrorKind::LockTimeout {
            Failure::with_code(BUSY, format!("{}; command not run", chain(&e)))
        } else {
            e.into()
        }
    };
    let now = matches!(timeout, Some(t) if t.is_zero());
    match (shared, now) {
        (false, true) => try_acquire_lock(path)?
            .map(|g| Held::Exclusive(Box::new(g)))
            .ok_or_else(busy),
        (true, true) => try_acquire_shared_lock(path)?
            .map(Held::Shared)
            .ok_or_else(busy),
        (false, false) => acquire_lock(path, timeout)
            .map(|g| Held::Exclusive(Box::new(g)))
            .map_err(timed_out),
        (true, false) => acquire_shared_lock(path, timeout)
            .map(Held::Shared)
            .map_err(timed_out),
    }
}

/// Running the command while this process keeps the lock.
mod child {
    use crate::failure::Failure;
    use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process, waitid};
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    use signal_hook::iterator::Signals;
    use std::ffi::OsString;
    use std::os::unix::process::ExitStatusExt as _;
    use std::process::ExitStatus;

    /// Runs `command` to its end and returns how it ended.
    ///
    /// The lock belongs to this process's descriptor (close-on-exec, so the
    /// command does not inherit it): this process must outlive the command.
    /// So SIGTERM and SIGHUP are caught and passed on to the command, and
    /// SIGINT and SIGQUIT are caught and dropped (the terminal sends them
    /// to the whole foreground group, the command included), as system(3)
    /// does. Caught, not ignored: the command starts with default handlers.
    pub(super) fn run(command: &[OsString]) -> Result<ExitStatus, Failure> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| Failure::new("no command given"))?;
        // Registered before the spawn, so no signal falls between the two.
        let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])
            .map_err(|e| Failure::io("cannot set up signal handling", &e))?;
        let mut child = std::process::Command::new(program)
            .args(args)
            .spawn()
            .map_err(|e| spawn_failure(program, &e))?;
        let pid = Pid::from_child(&child);
        let handle = signals.handle();
        let forwarder = std::thread::spawn(move || {
            for signal in signals.forever() {
                let signal = match signal {
                    SIGTERM => Signal::TERM,
                    SIGHUP => Signal::HUP,
                    _ => continue,
                };
                // The child is not reaped before this thread ends, so its
                // pid cannot have been reused.
                let _ = kill_process(pid, signal);
            }
        });
        // Wait for the end without reaping (WNOWAIT), stop forwarding, reap.
        loop {
            match waitid(
                WaitId::Pid(pid),
                WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
            ) {
                Ok(_) => break,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(Failure::io("cannot wait for the command", &e.into())),
            }
        }
        handle.close();
        let _ = forwarder.join();
        child
            .wait()
            .map_err(|e| Failure::io("cannot wait for the command", &e))
    }

    /// Not found: 127, not runnable: 126, as shells do.
    fn spawn_failure(program: &OsString, e: &std::io::Error) -> Failure {
        let name = program.to_string_lossy();
        let (code, why) = match e.kind() {
            std::io::ErrorKind::NotFound => (127, crate::failure::chain(e)),
            // execvp reports EACCES for a PATH directory it may not search,
            // even when the name is nowhere on PATH: a shell says 127.
            std::io::ErrorKind::PermissionDenied if !name.contains('/') && !on_path(program) => {
                (127, "command not found in PATH".to_owned())
            }
            _ => (126, crate::failure::chain(e)),
        };
        Failure::with_code(code, format!("cannot run `{name}`: {why}"))
    }

    /// Whether some directory of `PATH` has an entry named `program`.
    fn on_path(program: &OsString) -> bool {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).exists()))
    }

    /// The command's exit status, or 128 + the signal that killed it.
    pub(super) fn exit_code(status: ExitStatus) -> u8 {
        match (status.code(), status.signal()) {
            (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
            (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(255),
            (None, None) => 1,
        }
    }
}
