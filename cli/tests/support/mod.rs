//! What the CLI's test binaries share: running the `heaccel` binary built for them.

#![allow(dead_code)] // each test binary uses some of these

use std::process::{Command, Output};

/// Runs the `heaccel` binary with `args` and waits for it (standard output and error
/// captured).
pub fn heaccel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heaccel"))
        .args(args)
        .output()
        .expect("the heaccel binary runs")
}
