//! The yaml patcher: the first byte says how many of the next bytes are the
//! edit, the rest is the document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safeatomic::Format;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (edits, doc) = rest.split_at(usize::from(n % 48).min(rest.len()));
    let Ok(doc) = std::str::from_utf8(doc) else {
        return;
    };
    if let Err(e) = safeatomic::__fuzz::patch_document(Format::Yaml, doc, edits) {
        panic!("{e}");
    }
});
