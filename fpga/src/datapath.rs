//! The "datapath" design: the verified hdl/ blocks side by side under one top module, as a
//! resource proxy of an accelerator with `P` lanes until the core (issue 7, part 1) lands.
//!
//! At `P` lanes and `N = 2^K` it holds one [`NttUnit`] of `P` butterflies (each two
//! [`ModMul`]s, a modular adder and subtractor), `P` element-wise [`ModMul`] lanes and one
//! [`AutomorphUnit`] of `P` lanes. Every block keeps its own ports, renamed with a prefix
//! (`ntt_`, `mm_`, `aut_`) on the top module; there is no control logic of its own, only wires,
//! so the design's behaviour is exactly that of the blocks (each verified in hdl/).

use rust_hdl::prelude::*;

use heaccel_hdl::{
    AutomorphGeometry, AutomorphUnit, HdlError, ModMul, NttGeometry, NttUnit, Prime,
};

/// The blocks of the datapath under one top module (see the module documentation).
#[derive(LogicBlock)]
pub struct Datapath {
    /// Clock of every block.
    pub clock: Signal<In, Clock>,
    /// NTT unit `start`.
    pub ntt_start: Signal<In, bool>,
    /// NTT unit `inverse`.
    pub ntt_inverse: Signal<In, bool>,
    /// NTT unit `wr_en`.
    pub ntt_wr_en: Signal<In, bool>,
    /// NTT unit `wr_row`, in `[0, N/2P)`.
    pub ntt_wr_row: Signal<In, Bits<16>>,
    /// NTT unit `rd_row`, in `[0, N/2P)`.
    pub ntt_rd_row: Signal<In, Bits<16>>,
    /// NTT unit `din$j`, `j` in `[0, 2P)`, residues in `[0, q)`.
    pub ntt_din: Vec<Signal<In, Bits<32>>>,
    /// NTT unit `dout$j`, `j` in `[0, 2P)`.
    pub ntt_dout: Vec<Signal<Out, Bits<32>>>,
    /// NTT unit `busy`.
    pub ntt_busy: Signal<Out, bool>,
    /// NTT unit `cycles`.
    pub ntt_cycles: Signal<Out, Bits<32>>,
    /// Element-wise lane `k` operand `a`, in `[0, q)`.
    pub mm_a: Vec<Signal<In, Bits<32>>>,
    /// Element-wise lane `k` operand `w`, in `[0, q)`.
    pub mm_w: Vec<Signal<In, Bits<32>>>,
    /// Element-wise lane `k` Shoup constant of `w`.
    pub mm_w_shoup: Vec<Signal<In, Bits<32>>>,
    /// Element-wise lane `k` product `a w mod q`, [`ModMul::LATENCY`] edges later.
    pub mm_y: Vec<Signal<Out, Bits<32>>>,
    /// Automorphism unit `start`.
    pub aut_start: Signal<In, bool>,
    /// Automorphism unit `galois` (odd, below `2N`).
    pub aut_galois: Signal<In, Bits<32>>,
    /// Automorphism unit `coeff` (coefficient form).
    pub aut_coeff: Signal<In, bool>,
    /// Automorphism unit `wr_en`.
    pub aut_wr_en: Signal<In, bool>,
    /// Automorphism unit `wr_row`, in `[0, N/P)`.
    pub aut_wr_row: Signal<In, Bits<16>>,
    /// Automorphism unit `din$j`, `j` in `[0, P)`.
    pub aut_din: Vec<Signal<In, Bits<32>>>,
    /// Automorphism unit `dout$j`, `j` in `[0, P)`.
    pub aut_dout: Vec<Signal<Out, Bits<32>>>,
    /// Automorphism unit `dneg$j` (coefficient form: negate `dout$j`).
    pub aut_dneg: Vec<Signal<Out, bool>>,
    /// Automorphism unit `out_valid`.
    pub aut_out_valid: Signal<Out, bool>,
    /// Automorphism unit `out_row`.
    pub aut_out_row: Signal<Out, Bits<16>>,
    /// Automorphism unit `busy`.
    pub aut_busy: Signal<Out, bool>,
    /// Automorphism unit `cycles`.
    pub aut_cycles: Signal<Out, Bits<32>>,
    /// The NTT unit.
    pub ntt: NttUnit,
    /// The element-wise multiplier lanes.
    pub mm: Vec<ModMul>,
    /// The automorphism unit.
    pub aut: AutomorphUnit,
}

impl std::fmt::Debug for Datapath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Datapath")
            .field("ntt", &self.ntt)
            .field("lanes", &self.mm.len())
            .field("aut", &self.aut)
            .finish_non_exhaustive()
    }
}

impl Datapath {
    /// The datapath of `lanes` lanes at `N = 2^log_n` for prime `q = 1 mod 2N`: the NTT
    /// unit needs `N >= 4P` and `P <= 128` ([`NttGeometry::new`]).
    pub fn new(q: Prime, log_n: u32, lanes: usize) -> Result<Self, HdlError> {
        let ntt_geo = NttGeometry::new(log_n, lanes)?;
        let aut_geo = AutomorphGeometry::new(log_n, lanes)?;
        fn sig<D: Direction>(n: usize) -> Vec<Signal<D, Bits<32>>> {
            (0..n).map(|_| Signal::default()).collect()
        }
        Ok(Datapath {
            clock: Signal::default(),
            ntt_start: Signal::default(),
            ntt_inverse: Signal::default(),
            ntt_wr_en: Signal::default(),
            ntt_wr_row: Signal::default(),
            ntt_rd_row: Signal::default(),
            ntt_din: sig(2 * lanes),
            ntt_dout: sig(2 * lanes),
            ntt_busy: Signal::default(),
            ntt_cycles: Signal::default(),
            mm_a: sig(lanes),
            mm_w: sig(lanes),
            mm_w_shoup: sig(lanes),
            mm_y: sig(lanes),
            aut_start: Signal::default(),
            aut_galois: Signal::default(),
            aut_coeff: Signal::default(),
            aut_wr_en: Signal::default(),
            aut_wr_row: Signal::default(),
            aut_din: sig(lanes),
            aut_dout: sig(lanes),
            aut_dneg: (0..lanes).map(|_| Signal::default()).collect(),
            aut_out_valid: Signal::default(),
            aut_out_row: Signal::default(),
            aut_busy: Signal::default(),
            aut_cycles: Signal::default(),
            ntt: NttUnit::new(q, ntt_geo)?,
            mm: (0..lanes).map(|_| ModMul::new(q)).collect(),
            aut: AutomorphUnit::new(aut_geo),
        })
    }

    /// Lanes `P`.
    pub fn lanes(&self) -> usize {
        self.mm.len()
    }
}

impl Logic for Datapath {
    fn update(&mut self) {
        self.ntt.clock.next = self.clock.val();
        self.ntt.start.next = self.ntt_start.val();
        self.ntt.inverse.next = self.ntt_inverse.val();
        self.ntt.wr_en.next = self.ntt_wr_en.val();
        self.ntt.wr_row.next = self.ntt_wr_row.val();
        self.ntt.rd_row.next = self.ntt_rd_row.val();
        for j in 0..self.ntt_din.len() {
            self.ntt.din[j].next = self.ntt_din[j].val();
            self.ntt_dout[j].next = self.ntt.dout[j].val();
        }
        self.ntt_busy.next = self.ntt.busy.val();
        self.ntt_cycles.next = self.ntt.cycles.val();
        for k in 0..self.mm.len() {
            self.mm[k].clock.next = self.clock.val();
            self.mm[k].a.next = self.mm_a[k].val();
            self.mm[k].w.next = self.mm_w[k].val();
            self.mm[k].w_shoup.next = self.mm_w_shoup[k].val();
            self.mm_y[k].next = self.mm[k].y.val();
        }
        self.aut.clock.next = self.clock.val();
        self.aut.start.next = self.aut_start.val();
        self.aut.galois.next = self.aut_galois.val();
        self.aut.coeff.next = self.aut_coeff.val();
        self.aut.wr_en.next = self.aut_wr_en.val();
        self.aut.wr_row.next = self.aut_wr_row.val();
        for j in 0..self.aut_din.len() {
            self.aut.din[j].next = self.aut_din[j].val();
            self.aut_dout[j].next = self.aut.dout[j].val();
            self.aut_dneg[j].next = self.aut.dneg[j].val();
        }
        self.aut_out_valid.next = self.aut.out_valid.val();
        self.aut_out_row.next = self.aut.out_row.val();
        self.aut_busy.next = self.aut.busy.val();
        self.aut_cycles.next = self.aut.cycles.val();
    }

    fn connect(&mut self) {
        self.ntt.clock.connect();
        self.ntt.start.connect();
        self.ntt.inverse.connect();
        self.ntt.wr_en.connect();
        self.ntt.wr_row.connect();
        self.ntt.rd_row.connect();
        for (d, o) in self.ntt.din.iter_mut().zip(&mut self.ntt_dout) {
            d.connect();
            o.connect();
        }
        self.ntt_busy.connect();
        self.ntt_cycles.connect();
        for (m, y) in self.mm.iter_mut().zip(&mut self.mm_y) {
            m.clock.connect();
            m.a.connect();
            m.w.connect();
            m.w_shoup.connect();
            y.connect();
        }
        self.aut.clock.connect();
        self.aut.start.connect();
        self.aut.galois.connect();
        self.aut.coeff.connect();
        self.aut.wr_en.connect();
        self.aut.wr_row.connect();
        for (d, o) in self.aut.din.iter_mut().zip(&mut self.aut_dout) {
            d.connect();
            o.connect();
        }
        for n in &mut self.aut_dneg {
            n.connect();
        }
        self.aut_out_valid.connect();
        self.aut_out_row.connect();
        self.aut_busy.connect();
        self.aut_cycles.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut v = String::from("always @(*) begin\n");
        let mut wire = |to: String, from: String| v += &format!("  {to} = {from};\n");
        for (to, from) in [
            ("ntt$clock", "clock"),
            ("ntt$start", "ntt_start"),
            ("ntt$inverse", "ntt_inverse"),
            ("ntt$wr_en", "ntt_wr_en"),
            ("ntt$wr_row", "ntt_wr_row"),
            ("ntt$rd_row", "ntt_rd_row"),
            ("ntt_busy", "ntt$busy"),
            ("ntt_cycles", "ntt$cycles"),
            ("aut$clock", "clock"),
            ("aut$start", "aut_start"),
            ("aut$galois", "aut_galois"),
            ("aut$coeff", "aut_coeff"),
            ("aut$wr_en", "aut_wr_en"),
            ("aut$wr_row", "aut_wr_row"),
            ("aut_out_valid", "aut$out_valid"),
            ("aut_out_row", "aut$out_row"),
            ("aut_busy", "aut$busy"),
            ("aut_cycles", "aut$cycles"),
        ] {
            wire(to.into(), from.into());
        }
        for j in 0..self.ntt_din.len() {
            wire(format!("ntt$din${j}"), format!("ntt_din${j}"));
            wire(format!("ntt_dout${j}"), format!("ntt$dout${j}"));
        }
        for k in 0..self.mm.len() {
            wire(format!("mm${k}$clock"), "clock".into());
            wire(format!("mm${k}$a"), format!("mm_a${k}"));
            wire(format!("mm${k}$w"), format!("mm_w${k}"));
            wire(format!("mm${k}$w_shoup"), format!("mm_w_shoup${k}"));
            wire(format!("mm_y${k}"), format!("mm${k}$y"));
        }
        for j in 0..self.aut_din.len() {
            wire(format!("aut$din${j}"), format!("aut_din${j}"));
            wire(format!("aut_dout${j}"), format!("aut$dout${j}"));
            wire(format!("aut_dneg${j}"), format!("aut$dneg${j}"));
        }
        v += "end\n";
        Verilog::Custom(v)
    }
}
