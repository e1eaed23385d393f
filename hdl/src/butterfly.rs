//! Pipelined NTT butterflies on `W`-bit words built from [`ModMul`], [`ModAdd`] and
//! [`ModSub`].

use rust_hdl::prelude::*;

use crate::modarith::{ModAdd, ModMul, ModSub};
use crate::params::Prime;

/// Cooley-Tukey (forward NTT) butterfly: `(x, y) -> (x + w y, x - w y) mod q`.
///
/// Inputs `x, y, w` in `[0, q)`, `w_shoup = floor(w 2^(W-2) / q)`; outputs `u = x + w y`,
/// `v = x - w y`, both in `[0, q)`, [`CtButterfly::LATENCY`] cycles later; one butterfly per
/// cycle.
#[derive(LogicBlock, Debug)]
pub struct CtButterfly<const W: usize = 32> {
    /// Clock of every pipeline register.
    pub clock: Signal<In, Clock>,
    /// Upper input, in `[0, q)`.
    pub x: Signal<In, Bits<W>>,
    /// Lower input, in `[0, q)`.
    pub y: Signal<In, Bits<W>>,
    /// Twiddle, in `[0, q)`.
    pub w: Signal<In, Bits<W>>,
    /// Shoup constant of the twiddle.
    pub w_shoup: Signal<In, Bits<W>>,
    /// `x + w y mod q`.
    pub u: Signal<Out, Bits<W>>,
    /// `x - w y mod q`.
    pub v: Signal<Out, Bits<W>>,
    mul: ModMul<W>,
    add: ModAdd<W>,
    sub: ModSub<W>,
    x_d1: DFF<Bits<W>>,
    x_d2: DFF<Bits<W>>,
    x_d3: DFF<Bits<W>>,
    x_d4: DFF<Bits<W>>,
    x_d5: DFF<Bits<W>>,
}

// The delay lines below hold one register per multiplier stage.
const _: () = assert!(<ModMul>::LATENCY == 5);

impl<const W: usize> CtButterfly<W> {
    /// Pipeline latency in cycles: the multiplier, then the adder/subtractor.
    pub const LATENCY: usize = ModMul::<W>::LATENCY + ModAdd::<W>::LATENCY;
    /// Butterflies per cycle.
    pub const THROUGHPUT: usize = 1;

    /// The butterfly for prime `q`.
    pub fn new(q: Prime) -> Self {
        CtButterfly {
            clock: Signal::default(),
            x: Signal::default(),
            y: Signal::default(),
            w: Signal::default(),
            w_shoup: Signal::default(),
            u: Signal::default(),
            v: Signal::default(),
            mul: ModMul::new(q),
            add: ModAdd::new(q),
            sub: ModSub::new(q),
            x_d1: DFF::default(),
            x_d2: DFF::default(),
            x_d3: DFF::default(),
            x_d4: DFF::default(),
            x_d5: DFF::default(),
        }
    }
}

impl<const W: usize> Logic for CtButterfly<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, x_d1, x_d2, x_d3, x_d4, x_d5);
        self.mul.clock.next = self.clock.val();
        self.add.clock.next = self.clock.val();
        self.sub.clock.next = self.clock.val();
        self.mul.a.next = self.y.val();
        self.mul.w.next = self.w.val();
        self.mul.w_shoup.next = self.w_shoup.val();
        self.x_d1.d.next = self.x.val();
        self.x_d2.d.next = self.x_d1.q.val();
        self.x_d3.d.next = self.x_d2.q.val();
        self.x_d4.d.next = self.x_d3.q.val();
        self.x_d5.d.next = self.x_d4.q.val();
        self.add.a.next = self.x_d5.q.val();
        self.add.b.next = self.mul.y.val();
        self.sub.a.next = self.x_d5.q.val();
        self.sub.b.next = self.mul.y.val();
        self.u.next = self.add.y.val();
        self.v.next = self.sub.y.val();
    }
}

/// Gentleman-Sande (inverse NTT) butterfly: `(x, y) -> (x + y, (x - y) w) mod q`.
///
/// Inputs `x, y, w` in `[0, q)`, `w_shoup = floor(w 2^(W-2) / q)`; outputs `u = x + y`,
/// `v = (x - y) w`, both in `[0, q)`, [`GsButterfly::LATENCY`] cycles later; one butterfly
/// per cycle.
#[derive(LogicBlock, Debug)]
pub struct GsButterfly<const W: usize = 32> {
    /// Clock of every pipeline register.
    pub clock: Signal<In, Clock>,
    /// Upper input, in `[0, q)`.
    pub x: Signal<In, Bits<W>>,
    /// Lower input, in `[0, q)`.
    pub y: Signal<In, Bits<W>>,
    /// Twiddle, in `[0, q)`.
    pub w: Signal<In, Bits<W>>,
    /// Shoup constant of the twiddle.
    pub w_shoup: Signal<In, Bits<W>>,
    /// `x + y mod q`.
    pub u: Signal<Out, Bits<W>>,
    /// `(x - y) w mod q`.
    pub v: Signal<Out, Bits<W>>,
    mul: ModMul<W>,
    add: ModAdd<W>,
    sub: ModSub<W>,
    w_d1: DFF<Bits<W>>,
    ws_d1: DFF<Bits<W>>,
    s_d1: DFF<Bits<W>>,
    s_d2: DFF<Bits<W>>,
    s_d3: DFF<Bits<W>>,
    s_d4: DFF<Bits<W>>,
    s_d5: DFF<Bits<W>>,
}

impl<const W: usize> GsButterfly<W> {
    /// Pipeline latency in cycles: the adder/subtractor, then the multiplier.
    pub const LATENCY: usize = ModAdd::<W>::LATENCY + ModMul::<W>::LATENCY;
    /// Butterflies per cycle.
    pub const THROUGHPUT: usize = 1;

    /// The butterfly for prime `q`.
    pub fn new(q: Prime) -> Self {
        GsButterfly {
            clock: Signal::default(),
            x: Signal::default(),
            y: Signal::default(),
            w: Signal::default(),
            w_shoup: Signal::default(),
            u: Signal::default(),
            v: Signal::default(),
            mul: ModMul::new(q),
            add: ModAdd::new(q),
            sub: ModSub::new(q),
            w_d1: DFF::default(),
            ws_d1: DFF::default(),
            s_d1: DFF::default(),
            s_d2: DFF::default(),
            s_d3: DFF::default(),
            s_d4: DFF::default(),
            s_d5: DFF::default(),
        }
    }
}

impl<const W: usize> Logic for GsButterfly<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, w_d1, ws_d1, s_d1, s_d2, s_d3, s_d4, s_d5);
        self.mul.clock.next = self.clock.val();
        self.add.clock.next = self.clock.val();
        self.sub.clock.next = self.clock.val();
        self.add.a.next = self.x.val();
        self.add.b.next = self.y.val();
        self.sub.a.next = self.x.val();
        self.sub.b.next = self.y.val();
        // The twiddle waits one cycle for the difference.
        self.w_d1.d.next = self.w.val();
        self.ws_d1.d.next = self.w_shoup.val();
        self.mul.a.next = self.sub.y.val();
        self.mul.w.next = self.w_d1.q.val();
        self.mul.w_shoup.next = self.ws_d1.q.val();
        self.s_d1.d.next = self.add.y.val();
        self.s_d2.d.next = self.s_d1.q.val();
        self.s_d3.d.next = self.s_d2.q.val();
        self.s_d4.d.next = self.s_d3.q.val();
        self.s_d5.d.next = self.s_d4.q.val();
        self.u.next = self.s_d5.q.val();
        self.v.next = self.mul.y.val();
    }
}
