//! The automorphism unit: `X -> X^g` for any odd `g` in the bit-reversed NTT domain,
//! `out[i] = in[idx[i]]` with `idx[i] = brev(((g (2 brev(i) + 1) mod 2N) - 1) / 2)`
//! (`heaccel_verification::automorphism::ntt_index_map`), streaming `P` coefficients per
//! cycle out of `P` banks.
//!
//! # Why it never conflicts
//!
//! Write `k = brev(i)` (the natural evaluation index of position `i`). Then
//! `brev(idx[i]) = g k + (g - 1) / 2 mod N`: an affine map with odd slope. The unit streams
//! natural-order rows (row `r` of the ports is positions `P r + j`, lane `j` in `[0, P)`) and
//! stores position `i` in bank `i mod P`, row `i / P`. For the positions of row `r`,
//! `k = brev_l(j) N/P + R` with `l = log2 P` and `R = brev_(log_n - l)(r)`; writing
//! `(g R + (g - 1)/2) mod N = T N/P + L` (`L < N/P`), the sources have
//! `brev(idx[i]) = ((g brev_l(j) + T) mod P) N/P + L`: their top `l` bits
//! `(g brev_l(j) + T) mod P` are distinct for the `P` lanes (`g` odd), so the sources'
//! low bits, their banks, are distinct, and all share the bank row `brev(L)`. The `P` reads of
//! every output row hit `P` distinct banks for **every odd `g`** (tested exhaustively in
//! `tests/automorph.rs`), so the unit never stalls: one automorphism takes
//! [`AutomorphGeometry::cycles`] `= 1 + N/P + LATENCY - 1` cycles whatever `g`. The RTL
//! computes each lane's source with the reference formula (one `log_n`-bit product per lane)
//! and routes bank addresses and data as below.
//!
//! # Coefficient form
//!
//! With `coeff` high at `start` the unit applies `X -> X^g` to a polynomial in coefficient
//! form (natural order): output position `i` takes input position `k = g^-1 i mod 2N`, negated
//! when `k >= N` (then from `k - N`), as `heaccel_verification::automorphism::automorphism_coeff`.
//! The unit stays prime-independent: it shows the sign on `dneg$j` and its user negates mod
//! its prime. In coefficient form the `galois` port carries `g^-1 mod 2N`, precomputed by
//! the host ([`galois_inverse`]) as the other constants are: no inversion circuit, and each
//! lane's one multiplier serves both forms (its operand muxed). The sources
//! of a row still lie in `P` distinct banks (`k mod P = g^-1 j mod P` for lane `j`, `g^-1`
//! odd), each at its own row, which the address routing delivers to its bank: no stalls,
//! the same [`AutomorphGeometry::cycles`].
//!
//! # Routing: two Omega networks
//!
//! Within an output row, lane `j` reads bank `b(j)`: `b(j) = g^-1 j mod P` in coefficient
//! form (a linear map of `Z/P` with odd slope) and `b(j) = brev_l((g brev_l(j) + T) mod P)` in
//! the NTT domain (an affine map of odd slope conjugated by `l`-bit reversal). An Omega
//! network of `l = log2 P` shuffle-exchange stages passes every such map and its inverse
//! ([`crate::permnet`]: Lawrie 1975's affine permutations, the conjugates by the same
//! argument; checked exhaustively for `P = 2..256` and for the unit's maps for every odd `g`
//! in `tests/automorph.rs`). With [`AutomorphRouting::Omega`] (the default) each lane's row
//! address, tagged with its source bank `b(j)`, crosses the network *backwards* (lanes to
//! banks) and self-routes: every switch follows the tag bit of the word on its even line.
//! The switch settings so found are registered with the bank read, and the read words cross
//! the same network *forwards* (banks to lanes) under them, with no tags: one self-routing
//! pass serves both directions, and the settings need no inversion of `b`. No pipeline stage
//! is added (the networks replace the crossbar's logic between the same registers), so
//! [`AutomorphUnit::LATENCY`] and [`AutomorphGeometry::cycles`] are unchanged.
//! `l P / 2` switches per network against the crossbar's `P (P - 1)` word multiplexers;
//! Yosys `synth_xilinx` measures the unit smaller at every lane count from 1 to 32 (the
//! table in `docs/RTL.md`). [`AutomorphRouting::Crossbar`] keeps the crossbar for the
//! comparison.
//!
//! The unit is a custom rust-hdl `Logic` (hand-written `update` and Verilog body, as
//! rust-hdl's RAM/ROM widgets) because its structure depends on `N` and `P` at generation
//! time; the Verilog co-simulation checks that the two agree.

use std::fmt::Write as _;

use rust_hdl::prelude::*;

use heaccel_verification::arith::bit_reverse;

use crate::muxtree::pick_tree;
use crate::params::HdlError;
use crate::permnet::{OmegaNetwork, OmegaRoute};

/// Size of an automorphism unit: `N = 2^log_n` coefficients, `P = lanes` per cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutomorphGeometry {
    log_n: u32,
    lanes: usize,
}

impl AutomorphGeometry {
    /// Largest supported `log2(N)`.
    pub const MAX_LOG_N: u32 = 16;
    /// Largest supported lane count.
    pub const MAX_LANES: usize = 256;

    /// Validates: `lanes` a power of two in `[1, 256]`, `log_n` in `[2, 16]` with `N >= 2P`.
    pub fn new(log_n: u32, lanes: usize) -> Result<Self, HdlError> {
        if !lanes.is_power_of_two() || lanes > Self::MAX_LANES {
            return Err(HdlError::InvalidParameter {
                field: "lanes".into(),
                value: lanes as u64,
                reason: format!("must be a power of two in [1, {}]", Self::MAX_LANES),
            });
        }
        let min = (lanes.trailing_zeros() + 1).max(2);
        if log_n < min || log_n > Self::MAX_LOG_N {
            return Err(HdlError::InvalidParameter {
                field: "log-n".into(),
                value: log_n as u64,
                reason: format!(
                    "must lie in [{min}, {}] for {lanes} lanes (N >= 2P)",
                    Self::MAX_LOG_N
                ),
            });
        }
        Ok(AutomorphGeometry { log_n, lanes })
    }
    /// `log2(N)`.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }
    /// `N`.
    pub fn n(&self) -> usize {
        1 << self.log_n
    }
    /// Lanes `P` (= banks).
    pub fn lanes(&self) -> usize {
        self.lanes
    }
    /// Rows `N / P` (= bank depth).
    pub fn rows(&self) -> usize {
        self.n() / self.lanes
    }
    /// Position of lane `j`, row `r`: `P r + j`.
    pub fn position(&self, j: usize, r: usize) -> usize {
        r * self.lanes + j
    }
    /// Source position `idx[i]` of output position `i` under `g` (odd, any value: only
    /// `g mod 2N` matters).
    pub fn source(&self, g: u64, i: usize) -> usize {
        let n = self.n() as u64;
        let k = bit_reverse(i, self.log_n) as u64;
        let kp = (g.wrapping_mul(k).wrapping_add(g >> 1)) & (n - 1);
        bit_reverse(kp as usize, self.log_n)
    }
    /// Coefficient form: the source position of output position `i` under `g` (odd) and
    /// whether it is negated: `k = g^-1 i mod 2N`, `(k mod N, k >= N)`.
    pub fn coeff_source(&self, g: u64, i: usize) -> (usize, bool) {
        let two_n = 2 * self.n() as u64;
        let k = (galois_inverse(g as u32) as u64).wrapping_mul(i as u64) & (two_n - 1);
        ((k & (self.n() as u64 - 1)) as usize, k >= self.n() as u64)
    }
    /// Bank of position `i`: `i mod P`.
    pub fn bank(&self, i: usize) -> usize {
        i % self.lanes
    }
    /// Row of position `i` in its bank: `i / P`.
    pub fn row(&self, i: usize) -> usize {
        i / self.lanes
    }
    /// Cycles of one automorphism, from the edge that samples `start` to the one after which
    /// the last output row is valid: `1 + N/P + AutomorphUnit::LATENCY - 1`, for every odd
    /// `g` (no stalls).
    pub fn cycles(&self) -> usize {
        1 + self.rows() + <AutomorphUnit>::LATENCY - 1
    }
}

/// `g^-1 mod 2^32` for odd `g`: four Newton steps `x <- x (2 - g x)` from `x = g` (correct
/// to 3 bits, doubling each step); reduced mod `2N` it is the inverse mod `2N`, what the
/// unit's `galois` port takes in coefficient form.
pub fn galois_inverse(g: u32) -> u32 {
    let mut x = g;
    for _ in 0..4 {
        x = x.wrapping_mul(2u32.wrapping_sub(g.wrapping_mul(x)));
    }
    x
}

/// Validates a Galois element: odd, in `[1, 2N)`.
pub fn check_galois(g: u64, log_n: u32) -> Result<(), HdlError> {
    let two_n = 2u64 << log_n;
    if g.is_multiple_of(2) || g >= two_n {
        return Err(HdlError::InvalidParameter {
            field: "galois".into(),
            value: g,
            reason: format!("must be odd and in [1, 2N = {two_n})"),
        });
    }
    Ok(())
}

/// How the unit routes bank row addresses to the banks and bank words to the lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutomorphRouting {
    /// A `P x P` crossbar: per bank an OR of `P` masked lane addresses, per lane a
    /// multiplexer tree over the `P` banks (`P (P - 1)` word multiplexers).
    Crossbar,
    /// Two Omega networks ([`crate::permnet`]) of `log2 P` stages of `P/2` switches: the
    /// addresses cross one backwards, self-routed by each lane's source bank, and the bank
    /// words cross one forwards under the same switch settings, registered with the read.
    Omega,
}

impl AutomorphRouting {
    /// The smaller routing for `lanes` lanes (the default of [`AutomorphUnit::new`]): the
    /// Omega networks at every lane count, measured smaller in Yosys `synth_xilinx` LUTs from
    /// 1 to 32 lanes (`tests/automorph_verilog.rs`, the table in `docs/RTL.md`; at one lane
    /// the network is a wire, the crossbar a multiplexer against zero).
    pub fn for_lanes(lanes: usize) -> Self {
        let _ = lanes;
        AutomorphRouting::Omega
    }
}

#[derive(Clone, Debug, Default)]
struct AutState {
    busy: bool,
    issuing: bool,
    coeff: bool,
    g: u64,
    r: usize,
    cycles: u32,
    // Stage 1: source bank and row per lane.
    v1: bool,
    row1: usize,
    sb1: Vec<usize>,
    sa1: Vec<usize>,
    ng1: Vec<bool>,
    // Stage 2: read data.
    v2: bool,
    row2: usize,
    sb2: Vec<usize>,
    ng2: Vec<bool>,
    rdata: Vec<u64>,
    // Omega routing: the switch settings of the read row, registered with it.
    x2: OmegaRoute,
    // The words on `dout`.
    out: Vec<u64>,
}

/// The automorphism unit (see the module documentation). Ports:
///
/// - `wr_en`, `wr_row`, `din$j`: while idle, a high `wr_en` writes position
///   `P wr_row + j` (`wr_row` in `[0, N/P)`) at the clock edge.
/// - `start`, `galois`, `coeff`: while idle, a high `start` begins `X -> X^g` on the stored
///   polynomial, kept unchanged (several elements can be applied to one input): in the
///   bit-reversed NTT domain with `galois = g`, or in coefficient form when `coeff` is high
///   with `galois = g^-1 mod 2N` ([`galois_inverse`]); odd, in `[1, 2N)`, bits above
///   `log_n` ignored (see the module documentation).
/// - `out_valid`, `out_row`, `dout$j`: one row per cycle, rows `0, 1, ..., N/P - 1` in order:
///   `dout$j` is output position `P out_row + j`; in coefficient form `dneg$j` is high when
///   that word is to be negated (always low in the NTT domain).
/// - `busy` is high from the edge that samples `start` until the last row is shown;
///   `cycles` then holds [`AutomorphGeometry::cycles`].
#[derive(LogicBlock)]
pub struct AutomorphUnit<const W: usize = 32> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Start an automorphism (while idle).
    pub start: Signal<In, bool>,
    /// The Galois element `g` (odd).
    pub galois: Signal<In, Bits<32>>,
    /// Coefficient form (else bit-reversed NTT domain), sampled with `start`.
    pub coeff: Signal<In, bool>,
    /// Write a row (while idle).
    pub wr_en: Signal<In, bool>,
    /// Row written, in `[0, N/P)`.
    pub wr_row: Signal<In, Bits<16>>,
    /// Positions `P wr_row + j`.
    pub din: Vec<Signal<In, Bits<W>>>,
    /// Output positions `P out_row + j`.
    pub dout: Vec<Signal<Out, Bits<W>>>,
    /// Coefficient form: `dout$j` is to be negated.
    pub dneg: Vec<Signal<Out, bool>>,
    /// `dout` holds a row.
    pub out_valid: Signal<Out, bool>,
    /// The row on `dout`.
    pub out_row: Signal<Out, Bits<16>>,
    /// High while an automorphism runs.
    pub busy: Signal<Out, bool>,
    /// Cycles of the last automorphism (counting while running).
    pub cycles: Signal<Out, Bits<32>>,
    _geo: AutomorphGeometry,
    _routing: AutomorphRouting,
    _invert: Option<(usize, usize)>,
    _banks: Vec<Vec<u64>>,
    _st: AutState,
}

impl<const W: usize> std::fmt::Debug for AutomorphUnit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutomorphUnit")
            .field("geometry", &self._geo)
            .field("routing", &self._routing)
            .finish_non_exhaustive()
    }
}

impl<const W: usize> AutomorphUnit<W> {
    /// Latency in cycles from the edge that issues a row (computes its source addresses) to
    /// the one after which the row is on `dout`: address register, bank read. The
    /// simulator's `automorph.pipeline_latency` is this value.
    pub const LATENCY: usize = 2;
    /// Coefficients per cycle per lane.
    pub const THROUGHPUT_PER_LANE: usize = 1;

    /// The unit of the given size, routed by [`AutomorphRouting::for_lanes`].
    pub fn new(geo: AutomorphGeometry) -> Self {
        Self::with_routing(geo, AutomorphRouting::for_lanes(geo.lanes()))
    }

    /// The unit of the given size and routing (same ports, behaviour and cycles).
    pub fn with_routing(geo: AutomorphGeometry, routing: AutomorphRouting) -> Self {
        let p = geo.lanes();
        AutomorphUnit {
            clock: Signal::default(),
            start: Signal::default(),
            galois: Signal::default(),
            coeff: Signal::default(),
            wr_en: Signal::default(),
            wr_row: Signal::default(),
            din: (0..p).map(|_| Signal::default()).collect(),
            dout: (0..p).map(|_| Signal::default()).collect(),
            dneg: (0..p).map(|_| Signal::default()).collect(),
            out_valid: Signal::default(),
            out_row: Signal::default(),
            busy: Signal::default(),
            cycles: Signal::default(),
            _geo: geo,
            _routing: routing,
            _invert: None,
            _banks: vec![vec![0; geo.rows()]; p],
            _st: AutState {
                sb1: vec![0; p],
                sa1: vec![0; p],
                sb2: vec![0; p],
                ng1: vec![false; p],
                ng2: vec![false; p],
                rdata: vec![0; p],
                out: vec![0; p],
                ..AutState::default()
            },
        }
    }

    /// The unit's size.
    pub fn geometry(&self) -> AutomorphGeometry {
        self._geo
    }

    /// The unit's routing.
    pub fn routing(&self) -> AutomorphRouting {
        self._routing
    }

    /// A negative control: the unit with the control of switch `switch` (in `[0, P/2)`) of
    /// Omega stage `stage` (in `[0, log2 P)`) inverted where it is computed, in the model and
    /// the Verilog alike. Panics unless the routing is [`AutomorphRouting::Omega`] and the
    /// switch exists.
    pub fn with_inverted_switch(mut self, stage: usize, switch: usize) -> Self {
        let net = OmegaNetwork::new(self._geo.lanes());
        assert!(
            self._routing == AutomorphRouting::Omega
                && stage < net.stages()
                && switch < net.switches_per_stage(),
            "no switch {switch} in stage {stage} of this unit"
        );
        self._invert = Some((stage, switch));
        self
    }

    fn step(&mut self) {
        let geo = self._geo;
        let st = &self._st;
        let rows = geo.rows();
        let mut next = st.clone();
        // Stage 2: bank reads, each bank at the row of the lane whose source it holds, and the
        // words routed to the lanes (shown by `drive`).
        match self._routing {
            AutomorphRouting::Crossbar => {
                for m in 0..geo.lanes() {
                    let mut row = 0;
                    for j in 0..geo.lanes() {
                        if st.sb1[j] == m {
                            row |= st.sa1[j];
                        }
                    }
                    next.rdata[m] = self._banks[m][row];
                }
                for j in 0..geo.lanes() {
                    next.out[j] = next.rdata[st.sb1[j]];
                }
            }
            AutomorphRouting::Omega => {
                let net = OmegaNetwork::new(geo.lanes());
                next.x2 = net.route(&st.sb1, self._invert);
                let rows_at_banks = net.scatter(&next.x2, &st.sa1);
                for m in 0..geo.lanes() {
                    next.rdata[m] = self._banks[m][rows_at_banks[m] & (rows - 1)];
                }
                next.out = net.gather(&next.x2, &next.rdata);
            }
        }
        next.v2 = st.v1;
        next.row2 = st.row1;
        next.sb2 = st.sb1.clone();
        next.ng2 = st.ng1.clone();
        // Stage 1: source positions of row r (q_g is g^-1 mod 2N in coefficient form).
        next.v1 = st.issuing;
        next.row1 = st.r;
        let two_n = 2 * geo.n() as u64;
        for j in 0..geo.lanes() {
            let i = geo.position(j, st.r);
            let (s, neg) = if st.coeff {
                let k = st.g.wrapping_mul(i as u64) & (two_n - 1);
                ((k & (geo.n() as u64 - 1)) as usize, k >= geo.n() as u64)
            } else {
                (geo.source(st.g, i), false)
            };
            next.sb1[j] = geo.bank(s);
            next.sa1[j] = geo.row(s);
            next.ng1[j] = neg;
        }
        // Loads.
        if !st.busy && self.wr_en.val() {
            let row = self.wr_row.val().index() & (rows - 1);
            for m in 0..geo.lanes() {
                self._banks[m][row] = self.din[m].val().to_u64();
            }
        }
        // Control.
        if !st.busy {
            if self.start.val() {
                next.busy = true;
                next.issuing = true;
                next.r = 0;
                next.coeff = self.coeff.val();
                next.g = self.galois.val().to_u64() & ((2 << geo.log_n()) - 1);
                next.cycles = 1;
            }
        } else {
            next.cycles = st.cycles.wrapping_add(1);
            if st.issuing {
                if st.r == rows - 1 {
                    next.issuing = false;
                } else {
                    next.r = st.r + 1;
                }
            } else if st.v1 {
                // The last row's read happens at this edge.
                next.busy = false;
            }
        }
        self._st = next;
    }

    fn drive(&mut self) {
        let st = &self._st;
        self.busy.next = st.busy;
        self.cycles.next = st.cycles.to_bits();
        self.out_valid.next = st.v2;
        self.out_row.next = (st.row2 as u32).to_bits();
        for j in 0..self._geo.lanes() {
            self.dout[j].next = st.out[j].to_bits();
            self.dneg[j].next = st.ng2[j];
        }
    }
}

impl<const W: usize> Logic for AutomorphUnit<W> {
    fn update(&mut self) {
        // No child blocks: the outputs may follow the state in the same pass.
        if self.clock.pos_edge() {
            self.step();
        }
        self.drive();
    }

    fn connect(&mut self) {
        self.busy.connect();
        self.cycles.connect();
        self.out_valid.connect();
        self.out_row.connect();
        for d in &mut self.dout {
            d.connect();
        }
        for d in &mut self.dneg {
            d.connect();
        }
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(automorph_verilog(
            &self._geo,
            W,
            self._routing,
            self._invert,
        ))
    }
}

/// Verilog body mirroring [`AutomorphUnit::step`] and [`AutomorphUnit::drive`].
fn automorph_verilog(
    geo: &AutomorphGeometry,
    w: usize,
    routing: AutomorphRouting,
    invert: Option<(usize, usize)>,
) -> String {
    let n = geo.log_n() as usize;
    let p = geo.lanes();
    let rows = geo.rows();
    let rb = (rows.trailing_zeros() as usize).max(1);
    let mut v = String::new();
    let l = p.trailing_zeros() as usize;
    let net = OmegaNetwork::new(p);
    let _ = writeln!(
        v,
        "// Automorphism unit: N = 2^{n}, P = {p} lanes and banks of {rows} words, {} routing.",
        match routing {
            AutomorphRouting::Crossbar => "crossbar",
            AutomorphRouting::Omega => "Omega-network",
        }
    );
    let _ = writeln!(
        v,
        "function [31:0] brev;\n  input [31:0] x;\n  integer i;\n  begin\n    brev = 32'd0;\n    \
         for (i = 0; i < {n}; i = i + 1) brev[i] = x[{n1} - i];\n  end\nendfunction",
        n1 = n - 1
    );
    let _ = writeln!(
        v,
        "reg q_busy = 1'b0;\nreg q_issuing = 1'b0;\nreg q_coeff = 1'b0;\nreg [31:0] q_g = \
         32'd0;\nreg [31:0] q_r = 32'd0;\nreg [31:0] q_cycles = 32'd0;\nreg v1 = 1'b0;\nreg \
         [31:0] row1 = 32'd0;\nreg v2 = 1'b0;\nreg [31:0] row2 = 32'd0;"
    );

    for j in 0..p {
        let _ = writeln!(
            v,
            "wire [31:0] pos_{j} = (q_r << {l}) + 32'd{j};\nwire [31:0] prod_{j} = q_g * (q_coeff ? \
             pos_{j} : brev(pos_{j}));\nwire [31:0] cpos_{j} = prod_{j} & 32'd{mask2};\nwire \
             [31:0] src_{j} = q_coeff ? (cpos_{j} & 32'd{mask}) : brev((prod_{j} + (q_g >> 1)) & \
             32'd{mask});\nwire neg_{j} = q_coeff && (cpos_{j} >= 32'd{n_words});\nreg [31:0] sb1_{j} = 32'd0;\nreg [31:0] sa1_{j} = 32'd0;\nreg \
             ng1_{j} = 1'b0;\nreg ng2_{j} = 1'b0;",
            l = p.trailing_zeros(),
            mask = geo.n() - 1,
            mask2 = 2 * geo.n() - 1,
            n_words = geo.n()
        );
    }
    // Bank m's row address: the row of the lane whose source bank is m.
    let row_addresses: Vec<String> = match routing {
        AutomorphRouting::Crossbar => (0..p)
            .map(|m| {
                (0..p)
                    .map(|j| {
                        format!(
                            "((sb1_{j} == 32'd{m}) ? sa1_{j}[{rb1}:0] : {rb}'d0)",
                            rb1 = rb - 1
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect(),
        AutomorphRouting::Omega => {
            // Each lane's row (high bits) tagged with its source bank (low l bits), routed
            // backwards from the lanes to the banks.
            let lines: Vec<String> = (0..p)
                .map(|j| {
                    let tag = if l > 0 {
                        format!(", sb1_{j}[{}:0]", l - 1)
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        v,
                        "wire [{}:0] an_{j} = {{sa1_{j}[{}:0]{tag}}};",
                        rb + l - 1,
                        rb - 1
                    );
                    format!("an_{j}")
                })
                .collect();
            let (controls, at_banks) = net.emit_route(&mut v, "ar", &lines, rb + l, invert);
            for (k, x) in controls.iter().enumerate() {
                let _ = writeln!(
                    v,
                    "reg xc2_{k} = 1'b0;\nalways @(posedge clock) xc2_{k} <= {x};"
                );
            }
            at_banks
                .iter()
                .map(|a| format!("{a}[{}:{l}]", rb + l - 1))
                .collect()
        }
    };
    for (m, ra) in row_addresses.iter().enumerate() {
        let _ = writeln!(
            v,
            "reg [{w1}:0] bank_{m} [0:{r1}];\nreg [{w1}:0] rd_{m} = {w}'d0;\nwire [{rb1}:0] ra_{m} = {ra};\n\
             always @(posedge clock) begin\n  if (!q_busy && wr_en) bank_{m}[wr_row[{rb1}:0]] <= \
             din${m};\n  rd_{m} <= bank_{m}[ra_{m}];\nend",
            r1 = rows - 1,
            rb1 = rb - 1,
            w1 = w - 1
        );
    }
    let rd: Vec<String> = (0..p).map(|m| format!("rd_{m}")).collect();
    let outs: Vec<String> = match routing {
        // Lane j's word: bank sb2_j's read register.
        AutomorphRouting::Crossbar => (0..p)
            .map(|j| {
                let _ = writeln!(
                    v,
                    "reg [31:0] sb2_{j} = 32'd0;\nalways @(posedge clock) sb2_{j} <= sb1_{j};"
                );
                pick_tree(&mut v, &format!("ad{j}"), &rd, &format!("sb2_{j}"), w)
            })
            .collect(),
        // The read words forwards through the network, under the registered settings.
        AutomorphRouting::Omega => {
            let cross: Vec<String> = (0..net.stages() * net.switches_per_stage())
                .map(|k| format!("xc2_{k}"))
                .collect();
            net.emit_gather(&mut v, "dn", &rd, &cross, w)
        }
    };
    let _ = writeln!(v, "always @(posedge clock) begin");
    for j in 0..p {
        let _ = writeln!(
            v,
            "  sb1_{j} <= src_{j} & 32'd{};\n  sa1_{j} <= src_{j} >> {};\n  \
             ng1_{j} <= neg_{j};\n  ng2_{j} <= ng1_{j};",
            p - 1,
            p.trailing_zeros()
        );
    }
    let _ = writeln!(
        v,
        "  v2 <= v1;\n  row2 <= row1;\n  v1 <= q_issuing;\n  row1 <= q_r;\n  if (!q_busy) begin\n  \
         if (start) begin\n      q_busy <= 1'b1;\n      q_issuing <= 1'b1;\n      q_r <= 32'd0;\n \
         q_coeff <= coeff;\n      q_g <= galois & 32'd{gmask};\n      q_cycles <= 32'd1;\n    end\n  end else begin\n    \
         q_cycles <= q_cycles + 32'd1;\n    if (q_issuing) begin\n      if (q_r == 32'd{last}) \
         q_issuing <= 1'b0;\n      else q_r <= q_r + 32'd1;\n    end else if (v1) q_busy <= \
         1'b0;\n  end\nend",
        gmask = (2usize << n) - 1,
        last = rows - 1
    );
    let _ = writeln!(
        v,
        "always @(*) begin\n  busy = q_busy;\n  cycles = q_cycles;\n  out_valid = v2;\n  out_row \
         = row2[15:0];"
    );
    for (j, out) in outs.iter().enumerate() {
        let _ = writeln!(v, "  dout${j} = {out};\n  dneg${j} = ng2_{j};");
    }
    let _ = writeln!(v, "end");
    v
}

/// A started [`AutomorphUnit`] under hand-stepped rust-hdl simulation.
#[derive(Debug)]
pub struct AutomorphSim<const W: usize = 32> {
    /// The simulated unit.
    pub unit: AutomorphUnit<W>,
}

impl<const W: usize> AutomorphSim<W> {
    /// Builds and starts the unit (routed by [`AutomorphRouting::for_lanes`]).
    pub fn new(geo: AutomorphGeometry) -> Self {
        Self::with_unit(AutomorphUnit::new(geo))
    }

    /// Starts the given unit (any routing, or a negative control).
    pub fn with_unit(mut unit: AutomorphUnit<W>) -> Self {
        crate::rtlsim::start(&mut unit);
        AutomorphSim { unit }
    }

    fn cycle(&mut self) {
        crate::rtlsim::cycle(&mut self.unit, |u| &mut u.clock);
    }

    /// Loads `input` (`N` values, bit-reversed NTT domain) unless `reuse` (apply to the
    /// polynomial already stored), applies `X -> X^g` through the ports and collects the
    /// output rows; returns the result with the cycle count from the edge that sampled
    /// `start` to the one after which the last row was shown (checked against the `cycles`
    /// port). Errors on an invalid `g`; panics on a unit that misses or repeats rows.
    pub fn apply(&mut self, input: &[u64], g: u64) -> Result<(Vec<u64>, usize), HdlError> {
        self.run(input, g, None)
    }

    /// [`AutomorphSim::apply`] in coefficient form (natural order) with the negations of
    /// `dneg` done mod `q` (as the core does): `X -> X^g` of `input` (values in `[0, q)`).
    pub fn apply_coeff(
        &mut self,
        input: &[u64],
        g: u64,
        q: u64,
    ) -> Result<(Vec<u64>, usize), HdlError> {
        self.run(input, g, Some(q))
    }

    fn run(
        &mut self,
        input: &[u64],
        g: u64,
        coeff_q: Option<u64>,
    ) -> Result<(Vec<u64>, usize), HdlError> {
        let geo = self.unit.geometry();
        check_galois(g, geo.log_n())?;
        assert_eq!(input.len(), geo.n(), "input of the wrong length");
        let (p, rows) = (geo.lanes(), geo.rows());
        for r in 0..rows {
            self.unit.wr_en.next = true;
            self.unit.wr_row.next = (r as u32).to_bits();
            for j in 0..p {
                self.unit.din[j].next = input[geo.position(j, r)].to_bits();
            }
            self.cycle();
        }
        self.unit.wr_en.next = false;
        self.unit.start.next = true;
        let two_n = 2u32 << geo.log_n();
        let element = match coeff_q {
            Some(_) => galois_inverse(g as u32) & (two_n - 1),
            None => g as u32,
        };
        self.unit.galois.next = element.to_bits();
        self.unit.coeff.next = coeff_q.is_some();
        self.cycle();
        self.unit.start.next = false;
        let mut out = vec![None; geo.n()];
        let mut cycles = 1;
        loop {
            let running = self.unit.busy.val();
            if self.unit.out_valid.val() {
                let r = self.unit.out_row.val().index();
                for j in 0..p {
                    let slot = &mut out[geo.position(j, r)];
                    assert!(slot.is_none(), "row {r} shown twice");
                    let x = self.unit.dout[j].val().to_u64();
                    let neg = self.unit.dneg[j].val();
                    *slot = Some(match coeff_q {
                        Some(q) if neg && x != 0 => q - x,
                        _ => {
                            assert!(!neg || coeff_q.is_some(), "dneg in the NTT domain");
                            x
                        }
                    });
                }
            }
            if !running {
                break;
            }
            self.cycle();
            cycles += 1;
            assert!(
                cycles <= 2 * geo.cycles() + 8,
                "automorphism unit did not finish"
            );
        }
        assert_eq!(
            self.unit.cycles.val().to_u32() as usize,
            cycles,
            "cycles port"
        );
        let out = out
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.unwrap_or_else(|| panic!("position {i} never shown")))
            .collect();
        Ok((out, cycles))
    }
}
