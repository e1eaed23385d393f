//! Residue number system: bases with CRT, fast basis conversion, lazy dot products, slot-wise
//! products and RNS polynomials.

pub mod addsub;
pub mod basis;
pub mod centered;
pub mod dot;
pub mod mulmod;
pub mod poly;
#[cfg(target_arch = "x86_64")]
mod split_reduce;
pub mod wide;

pub use basis::{BasisConverter, RnsBasis};
pub use centered::CenteredCorrection;
pub use dot::DotPath;
pub use poly::RnsPoly;
