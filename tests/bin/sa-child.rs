//! Child-process driver for the crash, kill and race tests.
fn main() {}
