//! The accelerator core: an instruction queue executing the ISA's on-chip instructions over
//! a banked scratchpad, with one NTT unit and one set of element-wise lanes per prime, and
//! one automorphism unit.
//!
//! # Structure
//!
//! - **Geometry** ([`CoreGeometry`]): `N = 2^log_n`, `P` NTT butterfly lanes, the primes
//!   (one per limb, each `q = 1 mod 2N`, `q < 2^30`, baked in as constants), `S` scratchpad
//!   slots and an instruction queue of `IQ` entries. The data path is one *row* of
//!   `W = 2P` words per cycle everywhere: element-wise lanes (`2P` per prime), the
//!   automorphism unit (`2P` lanes), the NTT unit's load/unload ports and the AXI4-Stream
//!   ports.
//! - **Scratchpad**: per slot `s` and lane `j`, a memory of `D = N / 2P` words (one read
//!   port, one write port, read registered); word `2P r + j` of slot `s` sits in row `r` of
//!   memory `(s, j)`. Each slot reads the row its owning engine asks for, so element-wise
//!   operations read any two or three slots at once, a `bconv` writes its `L` destination
//!   slots at once, and engines work on disjoint slots at the same time.
//! - **Basis conversion**: per conversion table and row lane one [`crate::bconv::BconvUnit`]
//!   with the table's constants in ROM, fed one residue per cycle (row by row, limb by limb).
//!   A core's tables are fixed when it is generated, as its primes are
//!   ([`CoreGeometry::with_conversions`]).
//! - **Execution**: five engines (stream, element-wise, NTT, automorphism, basis
//!   conversion), each running one instruction at a time; a dispatcher issues the queue's
//!   entries in program order to them, overlapped under a scoreboard of slot owners or one at
//!   a time ([`CoreIssue`], module `issue`); each instruction costs one dispatch cycle
//!   then its engine's phases ([`cycles_of`]); [`program_cycles`] is the exact schedule.
//!
//! # Interfaces
//!
//! - Clock `clock`; everything is synchronous to its rising edge; registers start at zero
//!   (no reset port: initial values, as rust-hdl's `DFF`).
//! - **Control and status: a simple register file** (chosen over AXI4-Lite to keep the
//!   core's own protocol minimal; an AXI4-Lite shim maps one-to-one onto it): `reg_we`,
//!   `reg_addr` (word address), `reg_wdata` write at the clock edge; `reg_rdata` shows the
//!   register at `reg_addr` combinationally. The map is [`reg`].
//! - **Data in: AXI4-Stream slave** `s_tvalid`, `s_tready`, `s_tdata$j` (`j` in `[0, 2P)`,
//!   32 bits each): a `load` instruction takes `D` beats, beat `r` carrying words
//!   `2P r + j`. **Data out: AXI4-Stream master** `m_tvalid`, `m_tready`, `m_tlast`,
//!   `m_tdata$j`: a `store` sends `D` beats in the same order, `m_tlast` on the last.
//!   The host streams the limbs named by the program's `load`/`store` instructions in
//!   program order (buffer and limb are the host's business; the core sees slots only).
//! - `busy` and `done` are also ports (an interrupt line is `done`).
//!
//! # Instruction word (two 32-bit words, written through the register file)
//!
//! `word0 = op | modulus << 4 | dst << 8 | a << 16 | b << 24`, `word1 = imm`, with `op` from
//! [`opcode`]; `ntt`/`intt` name their slot in both `dst` and `a`, `store` its source in
//! `a`, `mac` its accumulator in `dst`; `imm` is the scalar (`add_scalar`, `mul_scalar`) or
//! the Galois element (`automorph`). An unknown opcode, a modulus index `>= L` or a slot
//! `>= S` stops the run with the `error` status bit. Basis conversion is a multi-entry
//! instruction by one of the core's conversion tables ([`CoreConversion`],
//! [`bconv_entries`]); coefficient-form automorphisms are not on-chip instructions of this
//! core (callers refuse them).

mod bench;
mod conversion;
mod issue;
mod lane;
mod unit;

pub use bench::{build_verilator_core, core_bundle, first_store_word};
pub use conversion::{bconv_entries, extension_slots, CoreConversion, SLOTS_PER_EXTENSION};

pub use issue::{locked_slots, program_cycles, uses_fields, CoreIssue, Engine};
pub use lane::{lane_op, EwLane};
pub use unit::{Core, CoreRun, CoreSim};

use crate::automorph::check_galois;
use crate::ntt::{NttGeometry, NttUnit};
use crate::params::{HdlError, Prime};
use crate::AutomorphUnit;

/// Bit of an `automorph`'s `imm` selecting coefficient form (the bits below then hold
/// `g^-1 mod 2N`, precomputed by the host).
pub const COEFF_FORM: u32 = 1 << 31;

/// Name of the core's top module in [`core_verilog`]'s output.
pub const TOP_MODULE: &str = "top";

/// Opcodes of the instruction word.
pub mod opcode {
    /// `slot[dst] = ` the next `D` beats of the AXI4-Stream input.
    pub const LOAD: u32 = 0;
    /// The AXI4-Stream output `= slot[a]` (`D` beats).
    pub const STORE: u32 = 1;
    /// Forward NTT of slot `dst` (= `a`) in place.
    pub const NTT: u32 = 2;
    /// Inverse NTT of slot `dst` (= `a`) in place.
    pub const INTT: u32 = 3;
    /// `dst = a + b`.
    pub const ADD: u32 = 4;
    /// `dst = a - b`.
    pub const SUB: u32 = 5;
    /// `dst = a * b`.
    pub const MUL: u32 = 6;
    /// `dst = a + imm`.
    pub const ADD_SCALAR: u32 = 7;
    /// `dst = a * imm`.
    pub const MUL_SCALAR: u32 = 8;
    /// `dst = dst + a * b`.
    pub const MAC: u32 = 9;
    /// `dst = a(X^g)` in the NTT (bit-reversed) domain with `imm = g`, or in coefficient form
    /// with `imm = g^-1 mod 2N | COEFF_FORM` ([`super::COEFF_FORM`],
    /// [`crate::automorph::galois_inverse`]).
    pub const AUTOMORPH: u32 = 10;
    /// `dst = a`.
    pub const COPY: u32 = 11;
    /// Basis conversion by the table in the modulus field, its slots in the extension
    /// entries that follow ([`super::bconv_entries`]).
    pub const BCONV: u32 = 12;
    /// Extension entry of a `bconv` (seven slots); fetched as an instruction it is an error.
    pub const EXT: u32 = 13;
}

/// Register map of the control/status register file (word addresses on `reg_addr`).
pub mod reg {
    /// Write: bit 0 = start (ignored while busy): run queue entries `0 .. COUNT`.
    pub const CTRL: u32 = 0;
    /// Read: bit 0 busy, bit 1 done (the last run finished), bit 2 error (it stopped on a
    /// malformed instruction).
    pub const STATUS: u32 = 1;
    /// Read/write: number of queue entries a run executes (at most the queue depth).
    pub const COUNT: u32 = 2;
    /// Read: cycles of the current or last run, from the edge that sampled start to the one
    /// after which busy fell.
    pub const CYCLES: u32 = 3;
    /// Read: index of the next instruction to fetch.
    pub const PC: u32 = 4;
    /// Read/write: queue entry the next `IQ_WORD1` write fills.
    pub const IQ_ADDR: u32 = 5;
    /// Write: word 0 of an instruction (held until `IQ_WORD1`).
    pub const IQ_WORD0: u32 = 6;
    /// Write: word 1; stores `(IQ_WORD0, IQ_WORD1)` at `IQ_ADDR` and increments `IQ_ADDR`.
    pub const IQ_WORD1: u32 = 7;
    /// Read: geometry `log_n | P << 8 | S << 16 | L << 24`.
    pub const INFO: u32 = 8;
}

/// Size and primes of a core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreGeometry {
    ntt: NttGeometry,
    primes: Vec<Prime>,
    slots: usize,
    queue: usize,
    conversions: Vec<CoreConversion>,
    rom_fault: Option<BconvRomFault>,
    issue: CoreIssue,
    scoreboard_fault: bool,
}

/// A deliberately wrong word in a conversion table's constant ROM (the negative control of
/// the co-runs): ROM word `(source, target)` of table `table` is one more than it should be
/// ([`crate::bconv::BconvConstants::with_rom_word`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BconvRomFault {
    /// Conversion table.
    pub table: usize,
    /// Source position `i` in `[0, K)`.
    pub source: usize,
    /// Target position `j` in `[0, L)`.
    pub target: usize,
}

impl CoreGeometry {
    /// Most conversion tables (the `bconv` head's 4-bit table field).
    pub const MAX_CONVERSIONS: usize = 16;

    /// Most primes (limbs) a core holds.
    pub const MAX_PRIMES: usize = 16;
    /// Most instructions the core's instruction queue holds.
    pub const MAX_QUEUE: usize = 4096;
    /// Most scratchpad slots.
    pub const MAX_SLOTS: usize = 256;
    /// Default instruction-queue depth.
    pub const DEFAULT_QUEUE: usize = 64;

    /// Validates: `log_n` and `lanes` as [`NttGeometry::new`]; 1 to 16 primes, each an odd
    /// prime `< 2^30` with `q = 1 mod 2N`, distinct; `slots` in `[1, 256]`; `queue` a power
    /// of two in `[2, 4096]`.
    pub fn new(
        log_n: u32,
        lanes: usize,
        primes: &[u64],
        slots: usize,
        queue: usize,
    ) -> Result<Self, HdlError> {
        let ntt = NttGeometry::new(log_n, lanes)?;
        let bad = |field: &str, value: u64, reason: String| HdlError::InvalidParameter {
            field: field.into(),
            value,
            reason,
        };
        if primes.is_empty() || primes.len() > Self::MAX_PRIMES {
            return Err(bad(
                "moduli",
                primes.len() as u64,
                format!("a core holds 1 to {} primes", Self::MAX_PRIMES),
            ));
        }
        let two_n = 2u64 << log_n;
        let mut checked = Vec::new();
        for (i, &q) in primes.iter().enumerate() {
            let p = Prime::new(q)?;
            if q % two_n != 1 {
                return Err(HdlError::InvalidModulus {
                    q,
                    reason: format!("must be 1 mod 2N = {two_n}"),
                });
            }
            if primes[..i].contains(&q) {
                return Err(HdlError::InvalidModulus {
                    q,
                    reason: "appears twice".into(),
                });
            }
            checked.push(p);
        }
        if slots == 0 || slots > Self::MAX_SLOTS {
            return Err(bad(
                "slots",
                slots as u64,
                format!("must lie in [1, {}]", Self::MAX_SLOTS),
            ));
        }
        if !queue.is_power_of_two() || !(2..=Self::MAX_QUEUE).contains(&queue) {
            return Err(bad(
                "queue",
                queue as u64,
                format!("must be a power of two in [2, {}]", Self::MAX_QUEUE),
            ));
        }
        Ok(CoreGeometry {
            ntt,
            primes: checked,
            slots,
            queue,
            conversions: Vec::new(),
            rom_fault: None,
            issue: CoreIssue::default(),
            scoreboard_fault: false,
        })
    }

    /// The same core with the basis-conversion tables `conversions` (at most
    /// [`CoreGeometry::MAX_CONVERSIONS`], each valid for these primes,
    /// [`CoreConversion::constants`]); table `t` is the `bconv` head's table field.
    pub fn with_conversions(mut self, conversions: Vec<CoreConversion>) -> Result<Self, HdlError> {
        if conversions.len() > Self::MAX_CONVERSIONS {
            return Err(HdlError::InvalidParameter {
                field: "conversions".into(),
                value: conversions.len() as u64,
                reason: format!("a core holds at most {}", Self::MAX_CONVERSIONS),
            });
        }
        for c in &conversions {
            c.constants(&self)?;
        }
        self.conversions = conversions;
        Ok(self)
    }

    /// The same core with `fault` in a conversion ROM (a negative control: the core then
    /// computes that table's conversions wrongly). Errors unless the table, source and target
    /// exist.
    pub fn with_rom_fault(mut self, fault: BconvRomFault) -> Result<Self, HdlError> {
        let ok = self
            .conversions
            .get(fault.table)
            .is_some_and(|c| fault.source < c.from.len() && fault.target < c.to.len());
        if !ok {
            return Err(HdlError::InvalidParameter {
                field: "rom_fault".into(),
                value: fault.table as u64,
                reason: "no such table, source or target on this core".into(),
            });
        }
        self.rom_fault = Some(fault);
        Ok(self)
    }

    /// The same core issuing instructions by `issue` (default [`CoreIssue::Overlapped`]).
    pub fn with_issue(mut self, issue: CoreIssue) -> Self {
        self.issue = issue;
        self
    }

    /// How the core issues instructions.
    pub fn issue(&self) -> CoreIssue {
        self.issue
    }

    /// The same core with a broken scoreboard (a negative control: the dispatcher neither
    /// checks nor locks an instruction's second source `b`, so an overlapped core may
    /// overwrite it while it is read, or read it before it is written).
    pub fn with_scoreboard_fault(mut self) -> Self {
        self.scoreboard_fault = true;
        self
    }

    /// Whether the scoreboard fault is injected.
    pub fn scoreboard_fault(&self) -> bool {
        self.scoreboard_fault
    }

    /// The injected ROM fault, if any.
    pub fn rom_fault(&self) -> Option<BconvRomFault> {
        self.rom_fault
    }

    /// The basis-conversion tables, in table order.
    pub fn conversions(&self) -> &[CoreConversion] {
        &self.conversions
    }

    /// Most slots a `bconv` names (`K + L` over the tables; 0 without tables).
    pub fn max_bconv_slots(&self) -> usize {
        self.conversions
            .iter()
            .map(|c| c.from.len() + c.to.len())
            .max()
            .unwrap_or(0)
    }
    /// `log2(N)`.
    pub fn log_n(&self) -> u32 {
        self.ntt.log_n()
    }
    /// `N`.
    pub fn n(&self) -> usize {
        self.ntt.n()
    }
    /// NTT butterfly lanes `P`.
    pub fn lanes(&self) -> usize {
        self.ntt.lanes()
    }
    /// Words per row (per cycle) `2P`.
    pub fn width(&self) -> usize {
        self.ntt.banks()
    }
    /// Rows per slot `D = N / 2P`.
    pub fn depth(&self) -> usize {
        self.ntt.depth()
    }
    /// The primes, one per limb.
    pub fn primes(&self) -> &[Prime] {
        &self.primes
    }
    /// Scratchpad slots `S`.
    pub fn slots(&self) -> usize {
        self.slots
    }
    /// Instruction-queue depth.
    pub fn queue(&self) -> usize {
        self.queue
    }
    /// The NTT units' geometry.
    pub fn ntt_geometry(&self) -> NttGeometry {
        self.ntt
    }
    /// The `INFO` register value.
    pub fn info(&self) -> u32 {
        self.log_n()
            | (self.lanes() as u32) << 8
            | (self.slots as u32) << 16
            | (self.primes.len() as u32) << 24
    }
}

/// One on-chip instruction of the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreInstr {
    /// One of [`opcode`].
    pub op: u32,
    /// Prime index in `[0, L)`.
    pub modulus: u32,
    /// Destination slot (`ntt`/`intt`: the slot; `mac`: the accumulator).
    pub dst: u32,
    /// First source slot (`store`: the source).
    pub a: u32,
    /// Second source slot.
    pub b: u32,
    /// Scalar or Galois element.
    pub imm: u32,
}

impl CoreInstr {
    /// Builds and validates an instruction for `geo`: slots below `S`, the modulus index
    /// below `L`, a scalar below its prime, a Galois element odd in `[1, 2N)`.
    pub fn from_parts(
        geo: &CoreGeometry,
        op: u32,
        modulus: u32,
        dst: u32,
        a: u32,
        b: u32,
        imm: u64,
    ) -> Result<Self, HdlError> {
        let bad = |field: &str, value: u64, reason: String| HdlError::InvalidParameter {
            field: field.into(),
            value,
            reason,
        };
        if op > opcode::COPY {
            return Err(bad(
                "op",
                op as u64,
                "is not a one-entry opcode of the core (bconv: bconv_entries)".into(),
            ));
        }
        if modulus as usize >= geo.primes.len() {
            return Err(bad(
                "modulus",
                modulus as u64,
                format!("the core holds {} primes", geo.primes.len()),
            ));
        }
        for (name, s) in [("dst", dst), ("a", a), ("b", b)] {
            if s as usize >= geo.slots {
                return Err(bad(
                    name,
                    s as u64,
                    format!("the core has {} slots", geo.slots),
                ));
            }
        }
        let q = geo.primes[modulus as usize].value();
        match op {
            opcode::ADD_SCALAR | opcode::MUL_SCALAR if imm >= q => {
                return Err(bad("scalar", imm, format!("must be below q = {q}")))
            }
            opcode::AUTOMORPH => check_galois(imm & !(COEFF_FORM as u64), geo.log_n())?,
            opcode::ADD_SCALAR | opcode::MUL_SCALAR => {}
            _ if imm != 0 => return Err(bad("imm", imm, "must be 0 for this opcode".into())),
            _ => {}
        }
        Ok(CoreInstr {
            op,
            modulus,
            dst,
            a,
            b,
            imm: imm as u32,
        })
    }

    /// The two instruction words.
    pub fn encode(&self) -> (u32, u32) {
        (
            self.op | self.modulus << 4 | self.dst << 8 | self.a << 16 | self.b << 24,
            self.imm,
        )
    }

    /// Decodes the two instruction words (no validation).
    pub fn decode(w0: u32, w1: u32) -> Self {
        CoreInstr {
            op: w0 & 15,
            modulus: (w0 >> 4) & 15,
            dst: (w0 >> 8) & 255,
            a: (w0 >> 16) & 255,
            b: w0 >> 24,
            imm: w1,
        }
    }
}

/// Cycles the core spends on one instruction, fetch included, when the AXI4-Stream side
/// never stalls (`s_tvalid`, `m_tready` always high):
///
/// | op | cycles |
/// |---|---|
/// | load | `1 + D` |
/// | store | `1 + 1 + D` (one read before the first beat) |
/// | element-wise | `1 + D + EwLane::LATENCY + 1` (read, lanes, write) |
/// | ntt, intt | `1 + (D + 1) + 1 + NttGeometry::cycles() + (D + 1)` (load the unit, start, transform, unload) |
/// | automorph | `1 + (D + 1) + 1 + AutomorphGeometry::cycles()` (load, start, rows written as they come out) |
///
/// A run adds two cycles: the edge that samples start and the fetch that finds the queue
/// empty ([`run_cycles`]).
pub fn cycles_of(geo: &CoreGeometry, op: u32) -> usize {
    let d = geo.depth();
    match op {
        opcode::EXT | opcode::BCONV => 0,
        opcode::LOAD => 1 + d,
        opcode::STORE => 2 + d,
        opcode::NTT | opcode::INTT => 1 + (d + 1) + 1 + geo.ntt.cycles() + d + 1,
        opcode::AUTOMORPH => 1 + (d + 1) + 1 + (1 + d + <AutomorphUnit>::LATENCY - 1),
        _ => 1 + d + EwLane::LATENCY + 1,
    }
}

/// The core's Verilog for `geo` (rust-hdl output, top module [`TOP_MODULE`]): one file
/// holding the top and every sub-block module ([`module_names`] lists them). Ports as in the
/// module documentation: `clock`; `reg_we`, `reg_addr[7:0]`, `reg_wdata[31:0]`, `reg_rdata[31:0]`;
/// `s_tvalid`, `s_tready`, `s_tdata$0..$2P-1[31:0]`; `m_tvalid`, `m_tready`, `m_tlast`,
/// `m_tdata$0..[31:0]`; `busy`, `done`.
pub fn core_verilog(geo: &CoreGeometry) -> Result<String, HdlError> {
    let mut core = Core::new(geo.clone())?;
    core.connect_all();
    Ok(rust_hdl::prelude::generate_verilog(&core))
}

/// [`core_verilog`] with identical modules shared
/// ([`crate::netlist::share_identical_modules`]) within each block of [`block_instances`]:
/// the same hierarchy and behaviour, one module per distinct body (e.g. one element-wise
/// lane per prime instead of `2P`), which Verilator and synthesis tools build once; sharing
/// never crosses blocks, so per-block resource counts stay exact. The co-run bundle
/// ([`core_bundle`]) uses it; `heaccel fpga build --design core` groups the same way.
pub fn shared_core_verilog(geo: &CoreGeometry) -> Result<String, HdlError> {
    let v = core_verilog(geo)?;
    let blocks = block_instances(geo);
    let owner = |module: &str| {
        blocks
            .iter()
            .find(|(name, _)| crate::netlist::within_instance(module, name))
            .map_or("", |(_, kind)| kind)
            .to_string()
    };
    crate::netlist::share_identical_modules(&v, owner)
        .map(|s| s.verilog)
        .map_err(HdlError::Netlist)
}

use rust_hdl::prelude::Block as _;

/// Module names defined in a Verilog text such as [`core_verilog`]'s output, in order
/// (`top` first). rust-hdl names each instance after its path: per prime `m` the NTT unit
/// `top$ntt$m` (butterfly lanes `top$ntt$m$lanes$k`, their `ModAdd`/`ModSub`/`ModMul`
/// children), the element-wise lanes `top$ew$i` (`i = m 2P + j`), the automorphism unit
/// `top$aut`; every `DFF` is a module of its own (`...$out`).
pub fn module_names(verilog: &str) -> Vec<String> {
    verilog
        .lines()
        .filter_map(|l| l.strip_prefix("module "))
        .filter_map(|l| l.split('(').next())
        .map(|n| n.trim().to_string())
        .collect()
}

/// The sub-blocks instantiated by the core's top module, with the block kind of each:
/// `("top$ntt$m", "ntt")` per prime, `("top$ew$i", "ew_lane")` per element-wise lane,
/// `("top$aut", "automorph")`, and per conversion table and row lane `("top$bconv$i",
/// "bconv")` (`i = t 2P + j`). A module belongs to the block whose name prefixes it.
pub fn block_instances(geo: &CoreGeometry) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = (0..geo.primes.len())
        .map(|m| (format!("top$ntt${m}"), "ntt"))
        .collect();
    v.extend((0..geo.primes.len() * geo.width()).map(|i| (format!("top$ew${i}"), "ew_lane")));
    v.push(("top$aut".into(), "automorph"));
    v.extend((0..geo.conversions.len() * geo.width()).map(|i| (format!("top$bconv${i}"), "bconv")));
    v
}

// NttUnit is referenced in the docs of `cycles_of`. Block types are named `<Block>::` so
// their constants keep resolving when the blocks take a defaulted word-width parameter.
const _: usize = <NttUnit>::LATENCY;

/// Cycles of a whole run of `ops` (opcodes) without stream stalls: `2 + sum cycles_of`
/// (a program without `bconv`; see [`program_cycles`]).
pub fn run_cycles(geo: &CoreGeometry, ops: impl IntoIterator<Item = u32>) -> usize {
    2 + ops.into_iter().map(|op| cycles_of(geo, op)).sum::<usize>()
}

/// Cycles of one queue entry: [`cycles_of`] its opcode, a `bconv` head
/// [`bconv_cycles`] its table (its extension entries count 0, as they are part of it).
pub fn entry_cycles(geo: &CoreGeometry, ins: &CoreInstr) -> usize {
    match ins.op {
        opcode::BCONV => geo
            .conversions()
            .get(ins.modulus as usize)
            .map_or(0, |c| bconv_cycles(geo, c)),
        op => cycles_of(geo, op),
    }
}

/// Cycles of a `bconv` by `c` without stream stalls: fetch 1, one per extension entry `E`,
/// then `D K + latency + 1`: a residue per cycle and row lane read from the scratchpad (row by
/// row, limb by limb; the unit samples each one edge after its read), the unit's latency
/// ([`CoreConversion::latency`]), and the edge writing the last row's `L` slots:
/// `1 + E + D K + latency + 1`.
pub fn bconv_cycles(geo: &CoreGeometry, c: &CoreConversion) -> usize {
    1 + c.extension_entries() + geo.depth() * c.from.len() + c.latency() + 1
}

/// Cycles of a whole run of queue entries `entries` one instruction at a time, without
/// stream stalls: `2 + sum entry_cycles` ([`program_cycles`] of an in-order core; an upper
/// bound for an overlapped one).
pub fn serial_cycles(geo: &CoreGeometry, entries: &[CoreInstr]) -> usize {
    2 + entries.iter().map(|i| entry_cycles(geo, i)).sum::<usize>()
}
