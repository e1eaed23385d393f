//! Progress bars that show only on a terminal: long runs (sweeps, network compilation,
//! Verilator builds) draw an indicatif bar on stderr when it is a terminal and stay silent
//! otherwise (pipes, files, tests).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether bars are drawn: stderr is a terminal.
pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar of `len` steps labelled `what`, drawn on stderr only when it is a terminal (hidden
/// otherwise: every call on it is then a no-op).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let target = if on_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_string());
    bar
}
