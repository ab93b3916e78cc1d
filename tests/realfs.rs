//! realfs tests (being written).
