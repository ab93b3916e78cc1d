//! A small seeded random generator for the crash and kill harnesses.
//!
//! The timings of kills and crashes need randomness, not quality; what they
//! need most is reproducibility: every harness prints its seed, and setting
//! the named environment variable to it replays the same choices (the
//! timing of the processes themselves still varies from run to run).

use std::io::Write as _;

/// xorshift64 with a printed seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from the environment variable `var` if set (a `u64`), else
    /// from the clock and the process id. Prints `<what>: random seed N (set
    /// VAR=N to repeat)` to the test output.
    ///
    /// # Panics
    ///
    /// If `var` is set but is not a `u64`.
    pub fn from_env(var: &str, what: &str) -> Self {
        let seed = match std::env::var(var) {
            Ok(s) => s
                .parse()
                .unwrap_or_else(|_| panic!("{var} must be a u64, got {s:?}")),
            Err(_) => {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock after 1970");
                (t.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32)
            }
        };
        let _ = writeln!(
            std::io::stdout(),
            "{what}: random seed {seed} (set {var}={seed} to repeat)"
        );
        Self::new(seed)
    }

    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so small or similar seeds give unrelated
        // streams; never zero, as xorshift requires.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Roughly uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        self.next_u64() % n
    }

    /// Roughly uniform in `lo..hi` (`lo < hi`).
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }

    /// `true` with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_stream_and_values_stay_in_range() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1000 {
            let x = a.between(3, 10);
            assert_eq!(x, b.between(3, 10));
            assert!((3..10).contains(&x));
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
