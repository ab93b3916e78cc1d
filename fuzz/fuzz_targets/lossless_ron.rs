//! The ron patcher (see `safeatomic::__fuzz::run_target`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    safeatomic::__fuzz::run_target(safeatomic::Format::Ron, data);
});
