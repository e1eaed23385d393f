//! The published security bounds: the largest `log2(PQ)` for a security level, by ring
//! degree, for uniform and for sparse ternary secrets.

/// Largest `log2(P * Q)` for 128/192/256-bit security with a uniform ternary secret
/// (HomomorphicEncryption.org standard; `2^16` and `2^17` give the 128-bit bound only).
/// Indexed by `log_n`; `None` where no bound is published.
pub fn he_standard_bound(log_n: u32, security_bits: u32) -> Option<u32> {
    let row: [Option<u32>; 3] = match log_n {
        10 => [Some(27), Some(19), Some(14)],
        11 => [Some(54), Some(37), Some(29)],
        12 => [Some(109), Some(75), Some(58)],
        13 => [Some(218), Some(152), Some(118)],
        14 => [Some(438), Some(305), Some(237)],
        15 => [Some(881), Some(611), Some(476)],
        16 => [Some(1747), None, None],
        17 => [Some(3523), None, None],
        _ => [None, None, None],
    };
    match security_bits {
        128 => row[0],
        192 => row[1],
        256 => row[2],
        _ => None,
    }
}

/// The highest standard security level (256, 192 or 128 bits) whose bound `log_pq` meets, or
/// `None` when it exceeds even the 128-bit bound.
pub fn security_level(log_n: u32, log_pq: f64) -> Option<u32> {
    [256, 192, 128]
        .into_iter()
        .find(|&bits| he_standard_bound(log_n, bits).is_some_and(|bound| log_pq <= bound as f64))
}

/// Sparse ternary secrets with a published 128-bit security estimate: `(log_n, smallest
/// Hamming weight h, largest log2(PQ))`. A denser secret of the same ring is at least as hard,
/// so a weight `>= h` inherits the bound.
///
/// - `N = 2^16`, `h = 192`, `log2(PQ) <= 1550`: Lattigo v6 states that "LogN = 16 with H = 192"
///   is "at least 128-bit if LogQP <= 1550" (`examples/singleparty/ckks_bootstrapping/basics/
///   main.go`, estimated with the lattice-estimator per its `SECURITY.md`); its default
///   bootstrapping set `N16QP1546H192H32` has 1546 bits.
pub const SPARSE_SECRET_BOUNDS: [(u32, usize, u32); 1] = [(16, 192, 1550)];

/// The largest `log2(PQ)` with a 128-bit estimate for a sparse ternary secret of Hamming weight
/// `h` at `N = 2^log_n` (see [`SPARSE_SECRET_BOUNDS`]), or `None` where none is published.
pub fn sparse_secret_bound(log_n: u32, h: usize) -> Option<u32> {
    SPARSE_SECRET_BOUNDS
        .iter()
        .find(|&&(n, min_h, _)| n == log_n && h >= min_h)
        .map(|&(_, _, bound)| bound)
}
