//! Helpers for tests that drive `sa-child` processes.
