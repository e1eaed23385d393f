//! Residue number system: bases with CRT, fast basis conversion, lazy dot products and RNS
//! polynomials.

pub mod basis;
pub mod dot;
pub mod poly;

pub use basis::{BasisConverter, RnsBasis};
pub use dot::DotPath;
pub use poly::RnsPoly;
