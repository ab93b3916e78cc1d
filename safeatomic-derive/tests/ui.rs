//! Compile-fail and compile-pass tests of `#[derive(Persisted)]`.
//!
//! Each `ui/*.rs` must fail to compile with exactly the errors in its
//! `.stderr` (regenerate with `TRYBUILD=overwrite`, then read every diff);
//! each `ui/pass/*.rs` must compile and run. The cases use safeatomic with
//! the `json` and `toml` features only, so `yaml` and `ron` are off.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/*.rs");
}
