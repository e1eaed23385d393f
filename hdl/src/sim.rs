//! Hand-stepped rust-hdl simulation (settle, clock high, settle, clock low, settle): about
//! ten times faster than the thread-based `Simulation` testbenches.

use rust_hdl::core::prelude::*;

/// Update passes allowed for a circuit to settle; more means a combinational loop.
const MAX_SETTLE_ITERS: usize = 1000;

/// Propagates combinational changes until the circuit is stable.
///
/// Panics if it does not settle (a combinational loop: a bug of the block, not of input).
pub fn settle<B: Block>(uut: &mut B) {
    assert!(
        simulate(uut, MAX_SETTLE_ITERS),
        "circuit did not settle (combinational loop)"
    );
}

/// Connects a freshly built block for hand-stepped simulation and settles it.
pub fn start<B: Block>(uut: &mut B) {
    uut.connect_all();
    settle(uut);
}

/// One clock cycle: settle with the inputs set by the caller, raise the clock, settle,
/// lower the clock, settle. `clock` selects the block's clock input.
pub fn cycle<B: Block>(uut: &mut B, clock: fn(&mut B) -> &mut Signal<In, Clock>) {
    settle(uut);
    clock(uut).next = Clock { clk: true };
    settle(uut);
    clock(uut).next = Clock { clk: false };
    settle(uut);
}

/// Streams `count` input sets through a pipelined block, one per cycle, and collects the
/// outputs that appear `latency` rising edges after each input was sampled.
///
/// `drive(uut, i)` sets the inputs of set `i` (called for `i` in `[0, count)`, and with
/// `None` while the pipeline drains); `read(uut)` returns the current outputs. Result `i` is
/// the output read after `latency` rising edges counted from the edge that sampled set `i`.
pub fn stream<B: Block, T>(
    uut: &mut B,
    clock: fn(&mut B) -> &mut Signal<In, Clock>,
    count: usize,
    latency: usize,
    mut drive: impl FnMut(&mut B, Option<usize>),
    read: impl Fn(&B) -> T,
) -> Vec<T> {
    assert!(latency >= 1, "a pipelined block has latency >= 1");
    let mut out = Vec::with_capacity(count);
    for t in 0..count + latency - 1 {
        drive(uut, (t < count).then_some(t));
        cycle(uut, clock);
        if t + 1 >= latency {
            out.push(read(uut));
        }
    }
    out
}
