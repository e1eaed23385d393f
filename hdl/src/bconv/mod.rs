//! The basis-conversion (bconv) unit: the fast, approximate RNS base conversion of hybrid key
//! switching (ModUp, ModDown) and rescale, from source primes `q_0 .. q_{K-1}` to target
//! primes `b_0 .. b_{L-1}`, bit-exact with
//! `heaccel_verification::rns::BasisConverter::convert`:
//!
//! `out_j = sum_i y_i (Q/q_i mod b_j) mod b_j`, `y_i = x_i (Q/q_i)^-1 mod q_i`,
//!
//! which is `x + u Q mod b_j` for some `0 <= u < K` (no correction of the `u Q` overflow);
//! and its **exact-centered variant** ([`BconvConstants::centered`]), bit-exact with
//! `BasisConverter::convert_centered` (what the key switch's ModUp and ModDown and the
//! rescale use): `out_j - u' Q mod b_j` with the fixed-point correction
//! `u' = (sum_i y_i c_i + 2^(F-1)) >> F`, `c_i = round(2^F / q_i)`
//! (`heaccel_verification::rns::CenteredCorrection`), the conversion of the representative of
//! `x` in `[-Q/2, Q/2)`.
//!
//! # Architecture
//!
//! One coefficient at a time, its `K` residues on one port in limb order, one residue per
//! cycle ([`BconvUnit`]):
//!
//! 1. **Scale** (`K` [`ModMul`]s, one per source prime `q_i`, fixed operand
//!    `(Q/q_i)^-1 mod q_i`): every multiplier takes the port's residue; the one of the limb's
//!    prime is selected 5 cycles later (the others' products are discarded).
//! 2. **Select**: one register stage takes `y_i` and reads row `i` of the **constant ROM**
//!    (`K` rows of `L` words `Q/q_i mod b_j` and their Shoup constants).
//! 3. **Multiply-accumulate** per target prime `b_j` (`L` [`ModMul`]s for `b_j`, one product
//!    per cycle each): `y_i (Q/q_i mod b_j) mod b_j` in `[0, b_j)`, summed over the `K` limbs
//!    of the coefficient in a `W + 2`-bit accumulator, **unreduced** (below `K b_j < 2^(W+2)`
//!    for `K <= 16`).
//! 4. **Final reduction**, once per coefficient and target: `ceil(log2 K)` pipelined
//!    compare-and-subtract steps by `2^t b_j` (`t` from `ceil(log2 K) - 1` down to 0), each
//!    halving the bound `2^(t+1) b_j`, leave `out_j` in `[0, b_j)`.
//!
//! 5. **Centered correction** (centered variant only), beside stages 3 and 4: the select
//!    stage also reads `c_i` (64 bits) from a ROM; `y_i c_i` is one `W x 64`-bit product
//!    (8 DSP48E2 at `W = 32`), summed over the limbs in 128 bits; the rounded `u'` (at most
//!    `K`, `ceil(log2(K + 1))` bits) waits in a delay line for the reduced sums, and one
//!    last stage subtracts `u' Q mod b_j` (a ROM of `K + 1` words per target) mod `b_j`.
//!
//! **Reduction schedule.** Each product is reduced by the Shoup multiplier itself (its
//! quotient estimate comes from the precomputed constant, so the product leaves the multiplier
//! in `[0, b_j)` with no wide reduction); only the sum over the limbs is kept unreduced and
//! reduced once, with subtractions and no multiplier. Accumulating the raw `2(W-2)`-bit
//! products instead would save the `Q q` product of each Shoup multiplication but need a wide
//! Barrett reduction of a `2W`-bit sum per coefficient and target (two wide products).
//!
//! **Timing.** [`BconvUnit::latency_for`]`(K) = 12 + ceil(log2 K)` edges from the one that samples
//! a coefficient's last residue to the one after which `out_valid` and `out$j` show its
//! conversion: scale 5, select 1, multiply 5, accumulate 1, reduction `ceil(log2 K)`; the
//! centered variant one more ([`BconvUnit::centered_latency_for`]), the subtraction of `u' Q`.
//! Throughput: one residue in per cycle, so one coefficient (`L` output residues) every `K`
//! cycles; the `L` multiply-accumulators are busy every cycle (`L` MACs per cycle), the `K`
//! scaling multipliers one cycle in `K` each.
//!
//! The unit is a custom rust-hdl `Logic` (hand-written `update` and Verilog body, as the NTT
//! and automorphism units) because its structure depends on `K` and `L` at generation time;
//! its multipliers are the [`ModMul`] blocks. Files by concern: the constants and their
//! validation ([`BconvConstants`], `constants.rs`), the unit's Rust model ([`BconvUnit`],
//! `unit.rs`), its Verilog text and testbench (`verilog.rs`), its reference vectors and
//! bundle ([`bconv_bundle`], `bundle.rs`) and the hand-stepped driver ([`BconvSim`], `sim.rs`).
//!
//! [`ModMul`]: crate::ModMul

mod bundle;
mod constants;
mod sim;
mod unit;
mod verilog;

pub use bundle::{bconv_bundle, corner_and_random_coefficients, reference_convert};
pub use constants::BconvConstants;
pub use sim::BconvSim;
pub use unit::BconvUnit;
