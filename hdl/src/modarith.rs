//! Modular adder, subtractor and multiplier for one prime `q < 2^(W-2)` on `W`-bit words.
//!
//! The adder and subtractor are `#[hdl_gen]` blocks generic over `W`, written with every
//! operand already at the width of the result, so that rust-hdl's simulation and the emitted
//! Verilog compute the same values (see `docs/DESIGN.md`). The multiplier's limb structure depends
//! on `W` (see [`MulLimbs`]), which an `#[hdl_gen]` kernel cannot express, so it is a custom
//! rust-hdl `Logic` (as rust-hdl's own RAM/ROM widgets, and the NTT unit): a register-exact
//! Rust model and a Verilog body generated from one description of its partial products.
//!
//! One concern a file: this file holds the adder and the subtractor; the multiplier's limb
//! decomposition is in `modarith/limbs.rs`, the multiplier's Rust model in `modarith/mul.rs`
//! and its Verilog in `modarith/mul_verilog.rs`.

use rust_hdl::prelude::*;

use crate::params::Prime;

/// `(a + b) mod q` on `W`-bit words, registered: inputs `a, b` in `[0, q)`, output `y` in
/// `[0, q)`, [`ModAdd::LATENCY`] cycles later; one result per cycle.
#[derive(LogicBlock, Debug)]
pub struct ModAdd<const W: usize = 32> {
    /// Clock of the output register.
    pub clock: Signal<In, Clock>,
    /// First operand, in `[0, q)`.
    pub a: Signal<In, Bits<W>>,
    /// Second operand, in `[0, q)`.
    pub b: Signal<In, Bits<W>>,
    /// `(a + b) mod q`, in `[0, q)`.
    pub y: Signal<Out, Bits<W>>,
    q: Constant<Bits<W>>,
    sum: Signal<Local, Bits<W>>,
    out: DFF<Bits<W>>,
}

impl<const W: usize> ModAdd<W> {
    /// Pipeline latency in cycles.
    pub const LATENCY: usize = 1;
    /// Results per cycle.
    pub const THROUGHPUT: usize = 1;

    /// The adder for prime `q`. Panics unless `q < 2^(W-2)` (see [`Prime::for_word`]).
    pub fn new(q: Prime) -> Self {
        check_word::<W>(q);
        ModAdd {
            clock: Signal::default(),
            a: Signal::default(),
            b: Signal::default(),
            y: Signal::default(),
            q: Constant::new(q.value().to_bits()),
            sum: Signal::default(),
            out: DFF::default(),
        }
    }
}

impl<const W: usize> Logic for ModAdd<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, out);
        // a + b < 2q < 2^(W-1): no carry out of W bits.
        self.sum.next = self.a.val() + self.b.val();
        if self.sum.val() >= self.q.val() {
            self.out.d.next = self.sum.val() - self.q.val();
        } else {
            self.out.d.next = self.sum.val();
        }
        self.y.next = self.out.q.val();
    }
}

/// `(a - b) mod q` on `W`-bit words, registered: inputs `a, b` in `[0, q)`, output `y` in
/// `[0, q)`, [`ModSub::LATENCY`] cycles later; one result per cycle.
#[derive(LogicBlock, Debug)]
pub struct ModSub<const W: usize = 32> {
    /// Clock of the output register.
    pub clock: Signal<In, Clock>,
    /// Minuend, in `[0, q)`.
    pub a: Signal<In, Bits<W>>,
    /// Subtrahend, in `[0, q)`.
    pub b: Signal<In, Bits<W>>,
    /// `(a - b) mod q`, in `[0, q)`.
    pub y: Signal<Out, Bits<W>>,
    q: Constant<Bits<W>>,
    out: DFF<Bits<W>>,
}

impl<const W: usize> ModSub<W> {
    /// Pipeline latency in cycles.
    pub const LATENCY: usize = 1;
    /// Results per cycle.
    pub const THROUGHPUT: usize = 1;

    /// The subtractor for prime `q`. Panics unless `q < 2^(W-2)`.
    pub fn new(q: Prime) -> Self {
        check_word::<W>(q);
        ModSub {
            clock: Signal::default(),
            a: Signal::default(),
            b: Signal::default(),
            y: Signal::default(),
            q: Constant::new(q.value().to_bits()),
            out: DFF::default(),
        }
    }
}

impl<const W: usize> Logic for ModSub<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, out);
        if self.a.val() >= self.b.val() {
            self.out.d.next = self.a.val() - self.b.val();
        } else {
            // a + q < 2^(W-1): no carry out of W bits.
            self.out.d.next = (self.a.val() + self.q.val()) - self.b.val();
        }
        self.y.next = self.out.q.val();
    }
}

/// Panics unless the block's word `W` is supported and `q < 2^(W-2)`: a programming error
/// (user input is validated by [`Prime::for_word`]).
fn check_word<const W: usize>(q: Prime) {
    assert!(
        crate::SUPPORTED_WORDS.contains(&W),
        "W = {W} is not a supported word"
    );
    assert!(
        q.value() >> (W - 2) == 0,
        "q = {} does not fit W = {W} (q < 2^{})",
        q.value(),
        W - 2
    );
}
mod limbs;
mod mul;
mod mul_verilog;

pub use limbs::MulLimbs;
pub use mul::ModMul;
