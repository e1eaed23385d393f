//! heaccel's reference model: the one definition of every piece of arithmetic that the RTL,
//! the simulator and the host compiler are checked against, bit for bit.
//!
//! Layering, bottom up: [`arith`] (moduli, products, primes) -> [`ntt`] -> [`automorphism`]
//! -> [`rns`] (bases, CRT, polynomials, basis conversion) -> [`ckks`]; [`minimax`] (Remez and
//! composite sign approximations) stands beside them; [`circuits`] (polynomials, ReLU, max) sits
//! on [`ckks`] and [`minimax`]; [`bootstrap`] on [`circuits`].

#![warn(missing_docs)]

pub mod arith;
pub mod automorphism;
pub mod bootstrap;
pub mod circuits;
pub mod ckks;
pub mod error;
pub mod memory;
pub mod minimax;
pub mod ntt;
pub(crate) mod ntt_avx2;
pub(crate) mod ntt_simd;
pub mod rns;
pub mod sampling;
pub mod threads;

pub use error::{Error, KeyKind, Mismatched, Result};
