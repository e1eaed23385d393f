//! The NTT unit: forward (Cooley-Tukey) and inverse (Gentleman-Sande) negacyclic NTT of one
//! limb of `N = 2^log_n` coefficients with `P` butterfly lanes, `2P` memory banks and
//! per-lane twiddle ROMs, in the orders of `docs/DESIGN.md` (forward: standard order in,
//! bit-reversed order out; inverse: bit-reversed in, standard out, times `N^-1`).
//!
//! # Architecture
//!
//! In place, iterative: stage `s` of the forward transform pairs the addresses that differ in
//! bit `b = log_n - 1 - s` (`t = 2^b`); stage `s` of the inverse pairs bit `b = s`. The
//! twiddle of a pair with lower address `a` is `psi_rev[2^(log_n-1-b) + (a >> (b+1))]`
//! (`inv_psi_rev` for the inverse), exactly the reference's `NttTable` loops, so the memory
//! holds the reference's array after every stage.
//!
//! **Banks.** The `N` words live in `2P = 2^p` single-read single-write banks of depth
//! `N / 2P`: address `a` (`log_n` bits) sits in bank `fold(a)`, row `a >> p`, where `fold`
//! XORs the `p`-bit fields of `a` (`a[p-1:0] ^ a[2p-1:p] ^ ...`). Row and bank determine `a`
//! (`a[p-1:0] = bank ^ fold(a >> p << p)`).
//!
//! **Conflict-free schedule.** In cycle `c` (`0 <= c < N/2P`) of a stage the `2P` words read
//! are `a(c, v) = (c >> w0) << (w0 + p) | v << w0 | c mod 2^w0` for the `2P` window values
//! `v`, where the window `[w0, w0 + p)` is the `p` bit positions ending at `b`
//! (`w0 = max(b - p + 1, 0)`). Bit `j` of an address feeds bank bit `j mod p`, and `p`
//! consecutive positions have distinct residues mod `p`, so `v -> fold(a(c, v))` is the
//! bijection `v -> rotl_p(v, w0 mod p) ^ fold(a(c, 0))`: the `2P` reads (and, `LATENCY`
//! cycles later, the `2P` writes to the same addresses) hit every bank exactly once. Lane `k`
//! takes the window values `v_x` (bit `b - w0` clear) and `v_y = v_x | 2^(b - w0)` whose
//! other bits are those of `k`. Over the `N/2P` cycles every address is read once per stage
//! ([`NttGeometry::stage_accesses`]; tested in `tests/ntt.rs`). Loading and unloading use
//! the window `[0, p)`: row `r` of the ports (`2P` consecutive coefficients `2P r + j`) is
//! row `r` of every bank, coefficient `j` in bank `j ^ fold(2P r)`.
//!
//! **Routing.** No `2P`-way crossbar is needed: every bank-to-lane route is a fixed
//! permutation chosen by the stage, composed with an XOR by `z = fold(a(c, 0))`. Lane `k`
//! reads bank `rotl_p(v_x, w0 mod p) ^ z`: an XOR network (`p` stages of 2:1 multiplexers,
//! stage `s` swapping the banks whose numbers differ in bit `s` when `z` has it set) followed
//! by a multiplexer over the at most `log_n` distinct banks `rotl_p(v_x, w0 mod p)` of the
//! stages. Write-back is the mirror image (a stage-selected source per position, then the XOR
//! network by the write cycle's `z`), loading and unloading are XOR networks by
//! `fold(2P r)`. Per word and route that is `p` two-input stages and one `log_n`-input
//! multiplexer instead of a `2P`-input one (at `P = 64`, `N = 2^12`: 7 + 12 inputs, not 128).
//!
//! **Twiddles.** Lane `k` has its own ROM (`w` and its Shoup constant) holding, per stage,
//! the twiddles it needs in issue order: `2^(log_n-1-b)` words for stages whose window lies
//! at or below `b` (all lanes of a cycle share one group, the word changes every `2^w0`
//! cycles), `N/2P` words for the last `p - 1` stages (lanes span several groups). The
//! inverse's last stage holds `w N^-1` and the lanes scale the sum by `N^-1` there, so no
//! separate scaling pass is needed.
//!
//! **Stall policy.** A stage reads data the previous stage wrote, and a word is written
//! [`NttUnit::LATENCY`] edges after it was read; the unit issues the `N/2P` cycles of a stage
//! and then waits `LATENCY - 1` cycles for the pipeline to drain before the next stage. One
//! transform takes [`NttGeometry::cycles`]` = 1 + log_n (N/2P + LATENCY - 1)` cycles against the
//! bound `N/2 log_n / P`: +2.8% at `N = 2^12`, `P = 8`.
//!
//! The unit is a custom rust-hdl `Logic` (a hand-written `update` and Verilog body, as
//! rust-hdl's own RAM/ROM widgets) because its structure depends on `N` and `P` at generation
//! time; its butterfly lanes ([`NttLane`]) are `#[hdl_gen]` blocks. The Verilog co-simulation
//! checks that the two descriptions agree.
//!
//! Files by concern: [`NttLane`] (`lane.rs`), [`NttGeometry`] and its bank/schedule/ROM
//! arithmetic (`geometry.rs`), the unit's Rust model [`NttUnit`] (`unit.rs`), its Verilog
//! text (`verilog.rs`) and the hand-stepped driver [`NttSim`] (`sim.rs`).

mod geometry;
mod lane;
mod sim;
mod unit;
mod verilog;

pub use geometry::{BankAccess, NttGeometry};
pub use lane::NttLane;
pub use sim::NttSim;
pub use unit::NttUnit;
