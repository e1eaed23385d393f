//! RTL blocks of the heaccel accelerator, written with rust-hdl 0.46: modular adder,
//! subtractor and multiplier ([`modarith`]), Cooley-Tukey and Gentleman-Sande butterflies
//! ([`butterfly`]), the NTT unit ([`ntt`]), the automorphism unit ([`automorph`]), the
//! basis-conversion unit ([`bconv`]) and the accelerator core ([`core`]). Beside the blocks:
//! their Verilog emission and the Icarus/Verilator/Yosys checks ([`verilog`], [`blocks`],
//! [`verify`]), the Omega permutation network of the automorphism unit ([`permnet`]),
//! hand-stepped simulation and VCD recording ([`rtlsim`], named apart from the
//! cycle-approximate `heaccel-sim` crate), module sharing of emitted netlists ([`netlist`])
//! and the Yosys `stat` parser ([`yosys`]).
//!
//! Conventions (see `docs/DESIGN.md`):
//! - Every block is generic over the machine word `W` (a const generic, default `W = 32` =
//!   [`WORD_BITS`]; supported: [`SUPPORTED_WORDS`]); primes `q` are odd, `q < 2^(W-2)`
//!   ([`max_q_bits`]; `2^30` at `W = 32`, [`MAX_Q_BITS`]), so lazy sums in `[0, 2q)` fit a
//!   word. The prime is a generation-time parameter: it is baked into each block as a constant
//!   (a Verilog `localparam`).
//! - Naming a block: `ModMul::<36>::new(q)`, or with the default word `ModMul::<32>::new(q)`,
//!   `<ModMul>::LATENCY` or the aliases [`ModMul32`], [`CtButterfly32`], ... (a bare
//!   `ModMul::LATENCY` does not compile: Rust does not infer a const generic from its
//!   default).
//! - Every value on a data port is a residue in `[0, q)` unless the port says otherwise.
//! - Each block exports its pipeline latency as an associated constant `LATENCY` (cycles from
//!   the rising edge that samples an input to the one after which the output holds its
//!   result) and its throughput; these are the single source of truth of the simulator's
//!   unit latencies.
//! - Tests compare the rust-hdl simulation bit-exactly with `heaccel-verification`.

#![warn(missing_docs)]

pub mod automorph;
pub mod bconv;
pub mod blocks;
pub mod butterfly;
pub mod core;
pub mod modarith;
mod muxtree;
pub mod netlist;
pub mod ntt;
pub mod params;
pub mod permnet;
pub mod rtlsim;
pub mod verify;
pub mod verilog;
pub mod yosys;

pub use automorph::{AutomorphGeometry, AutomorphUnit};
pub use butterfly::{CtButterfly, GsButterfly};
pub use modarith::{ModAdd, ModMul, ModSub, MulLimbs};
pub use ntt::{NttGeometry, NttLane, NttUnit};
pub use params::{HdlError, Prime};

/// Default machine word of every data path, in bits.
pub const WORD_BITS: usize = 32;

/// Machine words (bits) the blocks are built and tested for.
pub const SUPPORTED_WORDS: [usize; 3] = [32, 36, 64];

/// Largest supported prime width in bits at the default word: `q < 2^MAX_Q_BITS`.
pub const MAX_Q_BITS: u32 = 30;

/// Largest prime width for a machine word of `word` bits: `q < 2^(word - 2)`.
pub const fn max_q_bits(word: usize) -> u32 {
    word as u32 - 2
}

/// `W = 32` modular adder.
pub type ModAdd32 = ModAdd<32>;
/// `W = 32` modular subtractor.
pub type ModSub32 = ModSub<32>;
/// `W = 32` modular multiplier.
pub type ModMul32 = ModMul<32>;
/// `W = 32` Cooley-Tukey butterfly.
pub type CtButterfly32 = CtButterfly<32>;
/// `W = 32` Gentleman-Sande butterfly.
pub type GsButterfly32 = GsButterfly<32>;
/// `W = 32` NTT butterfly lane.
pub type NttLane32 = NttLane<32>;
/// `W = 32` NTT unit.
pub type NttUnit32 = NttUnit<32>;
/// `W = 32` automorphism unit.
pub type AutomorphUnit32 = AutomorphUnit<32>;

/// Pipeline latencies (cycles) of the units at one machine word: what the simulator presets
/// must use (`cli/tests/latency.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitLatencies {
    /// [`ModMul::LATENCY`].
    pub modmul: usize,
    /// [`NttUnit::LATENCY`].
    pub ntt: usize,
    /// [`AutomorphUnit::LATENCY`].
    pub automorph: usize,
}

const fn latencies_of<const W: usize>() -> UnitLatencies {
    UnitLatencies {
        modmul: ModMul::<W>::LATENCY,
        ntt: NttUnit::<W>::LATENCY,
        automorph: AutomorphUnit::<W>::LATENCY,
    }
}

/// The unit latencies at machine word `word`, `None` when `word` is not one of
/// [`SUPPORTED_WORDS`].
pub const fn unit_latencies(word: usize) -> Option<UnitLatencies> {
    match word {
        32 => Some(latencies_of::<32>()),
        36 => Some(latencies_of::<36>()),
        64 => Some(latencies_of::<64>()),
        _ => None,
    }
}
