//! Residue number system: bases with CRT, fast basis conversion, and RNS polynomials.

pub mod basis;
pub mod poly;

pub use basis::{BasisConverter, RnsBasis};
pub use poly::RnsPoly;
