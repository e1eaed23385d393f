//! Hand-stepped rust-hdl simulation of RTL blocks (settle, clock high, settle, clock low,
//! settle): about ten times faster than the thread-based `Simulation` testbenches.
//! [`record_vcd`] records such a run as a VCD waveform.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use rust_hdl::core::prelude::*;
use rust_hdl::core::vcd_probe::VCDProbe;

/// Simulated clock period of recorded waveforms, in picoseconds (the VCD timescale is 1 ps;
/// 10 ns is a 100 MHz clock). Inputs change at the start of a period, the clock rises at
/// its middle and falls at its end.
pub const VCD_CLOCK_PERIOD_PS: u64 = 10_000;

/// A VCD text buffer the probe writes into and [`record_vcd`] takes back.
#[derive(Clone, Default)]
struct SharedBuffer(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The recording of this thread: the probe of the first block started (`None` before), the
/// current time and the last time stamped.
struct Recording {
    buffer: SharedBuffer,
    probe: Option<VCDProbe<SharedBuffer>>,
    now: u64,
    stamped: u64,
}

thread_local! {
    static RECORDING: RefCell<Option<Recording>> = const { RefCell::new(None) };
}

/// Runs `f` and records, as a VCD waveform, every signal of the first block that [`start`]
/// connects inside it on this thread, after each settle of [`cycle`]. Returns `f`'s result
/// and the VCD text (empty when `f` started no block; later blocks are not recorded).
pub fn record_vcd<R>(f: impl FnOnce() -> R) -> (R, Vec<u8>) {
    let buffer = SharedBuffer::default();
    RECORDING.with(|r| {
        *r.borrow_mut() = Some(Recording {
            buffer: buffer.clone(),
            probe: None,
            now: 0,
            stamped: 0,
        })
    });
    let result = f();
    RECORDING.with(|r| r.borrow_mut().take()); // drops the probe
    let text = std::mem::take(&mut *buffer.0.borrow_mut());
    (result, text)
}

/// Writes the header and the initial values of `uut` if this thread records and no block
/// was started yet.
fn record_start(uut: &dyn Block) {
    RECORDING.with(|r| {
        if let Some(rec) = r.borrow_mut().as_mut() {
            if rec.probe.is_none() {
                let mut probe = write_vcd_header(rec.buffer.clone(), uut);
                // writing into memory cannot fail
                let _ = probe.timestamp(0);
                rec.probe = Some(write_vcd_dump(probe, uut));
            }
        }
    });
}

/// Advances the recorded time by `delta_ps` and writes the signals of `uut` that changed.
fn record_change(uut: &dyn Block, delta_ps: u64) {
    RECORDING.with(|r| {
        if let Some(rec) = r.borrow_mut().as_mut() {
            rec.now += delta_ps;
            if let Some(mut probe) = rec.probe.take() {
                if rec.now > rec.stamped {
                    // writing into memory cannot fail
                    let _ = probe.timestamp(rec.now);
                    rec.stamped = rec.now;
                }
                rec.probe = Some(write_vcd_change(probe, uut));
            }
        }
    });
}

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
    record_start(uut);
}

/// One clock cycle: settle with the inputs set by the caller, raise the clock, settle,
/// lower the clock, settle. `clock` selects the block's clock input.
pub fn cycle<B: Block>(uut: &mut B, clock: fn(&mut B) -> &mut Signal<In, Clock>) {
    settle(uut);
    record_change(uut, 0);
    clock(uut).next = Clock { clk: true };
    settle(uut);
    record_change(uut, VCD_CLOCK_PERIOD_PS / 2);
    clock(uut).next = Clock { clk: false };
    settle(uut);
    record_change(uut, VCD_CLOCK_PERIOD_PS / 2);
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
