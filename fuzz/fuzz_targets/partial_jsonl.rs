//! Fuzzes the partial-result reader of sharded runs (`heaccel_shard::Partial::parse`, what
//! `heaccel merge` reads): any text is read or refused with an error naming the file and a
//! line; an accepted file has one row per item of its header, in order, each below the total.
#![no_main]

use std::path::Path;

use heaccel_shard::Partial;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Partial::parse(text, Path::new("fuzz.partial.jsonl")) {
        Ok(p) => {
            assert_eq!(p.rows.len(), p.header.items.len());
            for ((index, _), item) in p.rows.iter().zip(&p.header.items) {
                assert_eq!(index, item);
                assert!(*item < p.header.total_items);
            }
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.partial.jsonl, line ")),
    }
});
