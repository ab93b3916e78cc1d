//! The quickstart: write, read back, inspect the environment.
fn main() {}
