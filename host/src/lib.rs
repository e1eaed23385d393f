//! The heaccel host compiler. So far: the lowering of CKKS operations to ISA v1 programs
//! ([`lowering`]), bit-exact with the reference model.

pub mod lowering;
