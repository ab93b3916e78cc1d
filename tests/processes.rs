//! processes tests (being written).
