//! faults tests (being written).
