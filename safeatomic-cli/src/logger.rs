//! Warnings of the library (`log::warn!`, e.g. under `--safety warn`) go
//! to stderr as `safeatomic: warning: …`; nothing below warnings is shown.

use std::io::Write as _;

struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = match record.level() {
                log::Level::Error => "error",
                _ => "warning",
            };
            let message = crate::text::clean(&record.args().to_string());
            let _ = writeln!(std::io::stderr(), "safeatomic: {level}: {message}");
        }
    }

    fn flush(&self) {}
}

/// Installs the logger (once, at start).
pub(crate) fn install() {
    static LOGGER: StderrLogger = StderrLogger;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}
