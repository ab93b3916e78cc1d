//! Value parsers for arguments clap cannot parse by itself. A parse error
//! is a usage error (exit status 2) that says what is accepted.

use safeatomic::{Algorithm, Guarantee, Safety};

/// `--mode`: octal permission bits, `600`, `0644`, `0o600`; at most `7777`.
pub(crate) fn mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    let bad = || format!("`{s}` is not an octal mode between 0 and 7777 (e.g. 600, 0644)");
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(bad());
    }
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(bad()),
    }
}

/// `--algo`, `--checksum=ALGO`: `sha256` or `sha512`, any case.
pub(crate) fn algorithm(s: &str) -> Result<Algorithm, String> {
    s.parse()
        .map_err(|e: safeatomic::UnknownAlgorithm| e.to_string())
}

/// `--require`: a guarantee name, any case.
pub(crate) fn guarantee(s: &str) -> Result<Guarantee, String> {
    s.parse()
        .map_err(|e: safeatomic::UnknownGuarantee| e.to_string())
}

/// `--timeout`: seconds, fractions allowed, 0 = do not wait.
pub(crate) fn seconds(s: &str) -> Result<std::time::Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|x| std::time::Duration::try_from_secs_f64(x).ok())
        .ok_or_else(|| format!("`{s}` is not a number of seconds (e.g. 0, 2.5, 60)"))
}

/// `--safety`: what a write does on a filesystem that cannot keep a
/// guarantee it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SafetyArg {
    /// Refuse on network, object-store, Windows-family and unknown filesystems (default)
    Strict,
    /// Proceed anywhere, with a warning on stderr for each weak guarantee
    Warn,
    /// Proceed anywhere, silently
    BestEffort,
}

impl From<SafetyArg> for Safety {
    fn from(s: SafetyArg) -> Self {
        match s {
            SafetyArg::Strict => Safety::Strict,
            SafetyArg::Warn => Safety::Warn,
            SafetyArg::BestEffort => Safety::BestEffort,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(mode("600"), Ok(0o600));
        assert_eq!(mode("0644"), Ok(0o644));
        assert_eq!(mode("0o7777"), Ok(0o7777));
        assert_eq!(mode("0"), Ok(0));
        for bad in ["999", "abc", "", "17777", "-1", "0o", "6 00"] {
            assert!(mode(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn seconds_parse() {
        assert_eq!(seconds("2.5"), Ok(std::time::Duration::from_millis(2500)));
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
        assert!(seconds("inf").is_err());
    }
}
