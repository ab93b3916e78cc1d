//! How the tool fails: one line on stderr and an exit status.

use std::error::Error;
use std::io::Write as _;
use std::process::ExitCode;

/// The exit status of a failed command (usage errors are clap's 2).
pub(crate) const FAILED: u8 = 1;

/// The exit status of a usage error (clap's).
pub(crate) const USAGE: u8 = 2;

/// Why a command failed, as the one line printed after `safeatomic: `, and
/// the exit status that goes with it.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// A failure with exit status 1.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self::with_code(FAILED, message)
    }

    /// A failure with a chosen exit status.
    pub(crate) fn with_code(code: u8, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code,
        }
    }

    /// `context: <error>: <its source>: …`, exit status 1.
    pub(crate) fn io(context: &str, error: &std::io::Error) -> Self {
        Self::new(format!("{context}: {}", chain(error)))
    }

    /// Exit silently with `code` (stdout was closed under us: `| head`).
    pub(crate) fn silent(code: u8) -> Self {
        Self::with_code(code, String::new())
    }

    /// Prints the line (if any) and returns the exit status.
    pub(crate) fn report(self) -> ExitCode {
        if !self.message.is_empty() {
            // One line, whatever the error text contains (a file name, a
            // payload): control characters are escaped.
            let line = crate::text::clean(self.message.trim_end());
            let _ = writeln!(std::io::stderr(), "safeatomic: {line}");
        }
        ExitCode::from(self.code)
    }
}

impl Failure {
    /// An error of `AtomicWriter`'s `io::Write`: the library's own error
    /// inside it when there is one (its message names the path and step).
    pub(crate) fn from_write(e: std::io::Error) -> Self {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<safeatomic::Error>())
        {
            Some(inner) => Self::new(line(inner)),
            None => Self::io("cannot write", &e),
        }
    }
}

impl From<safeatomic::Error> for Failure {
    fn from(e: safeatomic::Error) -> Self {
        Self::new(line(&e))
    }
}

/// The library error's line, with the OS error behind it (a parser's own
/// report spans lines and repeats the message: not shown here).
fn line(e: &safeatomic::Error) -> String {
    match e.io_error() {
        Some(_) => chain(e),
        None => e.to_string(),
    }
}

/// An error and its sources, joined by `": "`.
pub(crate) fn chain(error: &dyn Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        // Skip a source that only repeats what is already said.
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) ends the program
/// quietly with 141 (128 + SIGPIPE), as it would end `cat`.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// The failure for an error writing to stdout.
pub(crate) fn stdout_error(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::silent(141)
    } else {
        Failure::io("cannot write to standard output", &e)
    }
}
