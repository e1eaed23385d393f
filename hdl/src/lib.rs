//! RTL blocks of the heaccel accelerator, written with rust-hdl 0.46: modular adder,
//! subtractor and multiplier, Cooley-Tukey and Gentleman-Sande butterflies, the NTT unit
//! ([`ntt`]) and the automorphism unit ([`automorph`]).
//!
//! Conventions (see `DESIGN.md`):
//! - Machine word `W = 32` bits ([`WORD_BITS`]); primes `q` are odd, `q < 2^30`
//!   ([`MAX_Q_BITS`]), so lazy sums in `[0, 2q)` fit a word. The prime is a generation-time
//!   parameter: it is baked into each block as a constant (a Verilog `localparam`).
//! - Every value on a data port is a residue in `[0, q)` unless the port says otherwise.
//! - Each block exports its pipeline latency as an associated constant `LATENCY` (cycles from
//!   the rising edge that samples an input to the one after which the output holds its
//!   result) and its throughput; these are the single source of truth of the simulator's
//!   unit latencies.
//! - Tests compare the rust-hdl simulation bit-exactly with `heaccel-verification`.

pub mod automorph;
pub mod blocks;
pub mod butterfly;
pub mod core;
pub mod modarith;
pub mod ntt;
pub mod params;
pub mod sim;
pub mod verify;
pub mod verilog;

pub use automorph::{AutomorphGeometry, AutomorphUnit};
pub use butterfly::{CtButterfly, GsButterfly};
pub use modarith::{ModAdd, ModMul, ModSub};
pub use ntt::{NttGeometry, NttLane, NttUnit};
pub use params::{HdlError, Prime};

/// Machine word of every data path, in bits.
pub const WORD_BITS: usize = 32;

/// Largest supported prime width in bits: `q < 2^MAX_Q_BITS`.
pub const MAX_Q_BITS: u32 = 30;
