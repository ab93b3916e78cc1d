//! core tests (being written).
