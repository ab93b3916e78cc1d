//! `safeatomic`: plain files as safe persistent state, from the shell.
//!
//! The command-line face of the [`safeatomic`] library, for shell scripts,
//! cron jobs and operators:
//!
//! ```text
//! safeatomic write PATH [--checksum[=ALGO]] [--no-lock] [--mode OCTAL] [--safety strict|warn|best-effort] [--allow-empty]
//! safeatomic cat PATH [--verify]
//! safeatomic checksum write|verify PATH [--algo ALGO]
//! safeatomic lock status|release-stale|force-release PATH
//! safeatomic lock run PATH [--shared] -- CMD [ARGS...]
//! safeatomic mv SRC DST [--no-replace]
//! safeatomic swap A B
//! safeatomic inspect PATH [--json]
//! safeatomic doctor PATH [--destructive] [--require G1,G2] [--json]
//! ```
//!
//! The tool only parses arguments and calls the library. Exit status: 0 on
//! success, 1 on failure with one line `safeatomic: <reason>` on stderr,
//! 2 for a usage error; `lock run` exits with its command's status.
//! `docs/cli.md` documents every command with examples.

#![forbid(unsafe_code)]

mod cmd;
mod failure;
mod logger;
mod parse;
mod text;

use clap::{Parser, Subcommand};
use failure::Failure;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  generate-config | safeatomic write /etc/app/config.json --mode 640
  safeatomic write --checksum state.json < new-state.json
  safeatomic cat --verify state.json
  safeatomic lock run /var/lib/app/state -- /usr/local/bin/nightly-job
  safeatomic doctor --destructive --require CrashDurability /var/lib/app

Exit status: 0 on success; 1 on failure (one line on stderr); 2 for a usage
error; `lock run` exits with the status of its command.";

/// Plain files as safe persistent state: atomic, durable writes,
/// cooperative locks, checksum sidecars and filesystem checks.
#[derive(Debug, Parser)]
#[command(name = "safeatomic", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replace PATH with standard input, atomically and durably
    ///
    /// Streams standard input to a temp file beside PATH and replaces PATH
    /// only at the end of input, so that a reader, a crash or a power loss
    /// sees either the old or the new content, never a mix; memory stays
    /// constant for any size. Returns only once the data and the directory
    /// entry are on stable storage. An empty input is refused unless
    /// --allow-empty. Takes the cooperative lock PATH.lock while writing
    /// (see `safeatomic lock`).
    #[command(after_help = cmd::write::EXAMPLES)]
    Write(cmd::write::Args),
    /// Print PATH to standard output (one consistent version of it)
    #[command(after_help = cmd::cat::EXAMPLES)]
    Cat(cmd::cat::Args),
    /// Write or verify the checksum sidecar PATH.sha256 / PATH.sha512
    ///
    /// The sidecar is the `sha256sum` format (`sha256sum -c PATH.sha256`
    /// accepts it, even with --strict), plus `# algo=` and `# timestamp=`
    /// lines.
    #[command(subcommand)]
    Checksum(cmd::checksum::Command),
    /// Inspect, recover or hold the cooperative lock PATH.lock
    ///
    /// The lock is a kernel flock(2) on PATH.lock; `flock(1)` on the same
    /// file excludes safeatomic writers and the other way round.
    #[command(subcommand)]
    Lock(cmd::lock::Command),
    /// Rename SRC to DST atomically and durably (never across filesystems)
    ///
    /// Replaces DST if it exists, unless --no-replace. A move between two
    /// filesystems cannot be atomic, so it is refused and nothing is moved.
    #[command(after_help = cmd::rename::MV_EXAMPLES)]
    Mv(cmd::rename::MvArgs),
    /// Exchange A and B atomically (renameat2 RENAME_EXCHANGE)
    ///
    /// At every moment each name refers to one of the two complete files.
    /// Both must exist, on one filesystem that supports the exchange; there
    /// is no non-atomic fallback.
    #[command(after_help = cmd::rename::SWAP_EXAMPLES)]
    Swap(cmd::rename::SwapArgs),
    /// Show the filesystem of PATH and the guarantees it allows (writes nothing)
    #[command(after_help = cmd::inspect::EXAMPLES)]
    Inspect(cmd::inspect::Args),
    /// Check empirically what the directory of PATH supports
    ///
    /// Without --destructive only read-only checks run and no file is
    /// created. With it, probe files named .safeatomic-doctor-* exercise
    /// the real syscalls (fsync, rename, flock ...) and are always removed.
    /// The report is printed in any case; with --require, the exit status
    /// is 1 when a required guarantee is missing.
    #[command(after_help = cmd::doctor::EXAMPLES)]
    Doctor(cmd::doctor::Args),
}

fn main() -> ExitCode {
    logger::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match try_main(cli) {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

/// `--help` and `--version` print as clap does; a usage error becomes one
/// line, `safeatomic: <what> (usage: <usage line>)`, with clap's exit
/// status 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    // Plain text: the message runs to the first blank line, then come a tip,
    // the usage line and a pointer to --help.
    let text = e.render().to_string();
    let mut lines = text.lines();
    let what: Vec<&str> = lines
        .by_ref()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let what = what.join(" ");
    let what = what.strip_prefix("error: ").unwrap_or(&what);
    let usage = lines.find_map(|l| l.strip_prefix("Usage: "));
    let line = match usage {
        Some(usage) => format!("{what} (usage: {usage})"),
        None => what.to_owned(),
    };
    Failure::with_code(u8::try_from(e.exit_code()).unwrap_or(failure::USAGE), line).report()
}

fn try_main(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Write(args) => cmd::write::run(&args),
        Command::Cat(args) => cmd::cat::run(&args),
        Command::Checksum(command) => cmd::checksum::run(&command),
        Command::Lock(command) => cmd::lock::run(command),
        Command::Mv(args) => cmd::rename::mv(&args),
        Command::Swap(args) => cmd::rename::swap(&args),
        Command::Inspect(args) => cmd::inspect::run(&args),
        Command::Doctor(args) => cmd::doctor::run(&args),
    }
}
