//! Fuzzes the sweep grid reader (`heaccel_cli::sweep::Grid::parse`, what `heaccel sweep --grid
//! FILE` reads): any text is read or refused with an error naming the file; an accepted grid
//! has 1 to `MAX_CONFIGS` points, and its first points validate or are refused naming the file.
#![no_main]

use heaccel_cli::sweep::{Grid, MAX_CONFIGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Grid::parse(text, "fuzz.toml") {
        Ok(grid) => {
            assert!(!grid.is_empty() && grid.len() <= MAX_CONFIGS);
            for i in 0..grid.len().min(4) {
                if let Err(e) = grid.config(i) {
                    assert!(format!("{e:#}").contains("fuzz.toml"));
                }
            }
        }
        Err(e) => assert!(format!("{e:#}").contains("fuzz.toml")),
    }
});
