//! Samplers of secrets, errors and uniform polynomials. Every sampler takes the caller's RNG,
//! which must be cryptographic ([`rand::CryptoRng`]); [`secure_rng`] seeds one from the OS.

use rand::{CryptoRng, Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal};

use crate::arith::Modulus;

/// Standard deviation of the discrete Gaussian error (HE standard).
pub const ERROR_STD_DEV: f64 = 3.2;
/// Errors are rejected beyond this many standard deviations (|e| <= 19).
pub const ERROR_TAIL_CUT: f64 = 6.0;

/// A ChaCha20 generator seeded from the operating system's entropy source.
pub fn secure_rng() -> ChaCha20Rng {
    ChaCha20Rng::from_entropy()
}

/// `n` coefficients uniform in `{-1, 0, 1}`.
pub fn ternary<R: RngCore + CryptoRng>(rng: &mut R, n: usize) -> Vec<i64> {
    (0..n)
        .map(|_| {
            // Rejection keeps the three values exactly equiprobable.
            loop {
                let b = rng.next_u32() & 3;
                if b < 3 {
                    return b as i64 - 1;
                }
            }
        })
        .collect()
}

/// `n` coefficients in `{-1, 0, 1}` with exactly `hamming_weight` nonzero ones (`<= n`), at
/// uniformly random distinct positions, each sign uniform (partial Fisher-Yates shuffle).
pub fn sparse_ternary<R: RngCore + CryptoRng>(
    rng: &mut R,
    n: usize,
    hamming_weight: usize,
) -> Vec<i64> {
    assert!(
        hamming_weight <= n,
        "hamming weight {hamming_weight} > n = {n}"
    );
    let mut positions: Vec<usize> = (0..n).collect();
    let mut out = vec![0i64; n];
    for k in 0..hamming_weight {
        let pick = rng.gen_range(k..n);
        positions.swap(k, pick);
        out[positions[k]] = if rng.next_u32() & 1 == 0 { -1 } else { 1 };
    }
    out
}

/// `n` coefficients of a rounded Gaussian of standard deviation [`ERROR_STD_DEV`], rejected
/// beyond [`ERROR_TAIL_CUT`] standard deviations.
pub fn gaussian<R: RngCore + CryptoRng>(rng: &mut R, n: usize) -> Vec<i64> {
    let normal = Normal::new(0.0, ERROR_STD_DEV).expect("positive standard deviation");
    let bound = (ERROR_STD_DEV * ERROR_TAIL_CUT).round();
    (0..n)
        .map(|_| loop {
            let x: f64 = normal.sample(rng).round();
            if x.abs() <= bound {
                return x as i64;
            }
        })
        .collect()
}

/// `n` values uniform in `[0, q)`.
pub fn uniform<R: RngCore + CryptoRng>(rng: &mut R, n: usize, modulus: &Modulus) -> Vec<u64> {
    let q = modulus.value();
    (0..n).map(|_| rng.gen_range(0..q)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_have_the_stated_shape() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let n = 1 << 16;
        let t = ternary(&mut rng, n);
        for v in [-1, 0, 1] {
            let frac = t.iter().filter(|&&x| x == v).count() as f64 / n as f64;
            assert!((frac - 1.0 / 3.0).abs() < 0.01, "value {v}: {frac}");
        }
        let e = gaussian(&mut rng, n);
        assert!(e.iter().all(|x| x.abs() <= 19));
        let var = e.iter().map(|&x| (x * x) as f64).sum::<f64>() / n as f64;
        assert!(
            (var.sqrt() - ERROR_STD_DEV).abs() < 0.1,
            "std dev {}",
            var.sqrt()
        );
        let h = 192;
        let s = sparse_ternary(&mut rng, n, h);
        assert_eq!(s.iter().filter(|&&x| x != 0).count(), h);
        assert!(s.iter().all(|x| x.abs() <= 1));
        let plus = s.iter().filter(|&&x| x == 1).count();
        assert!((60..=132).contains(&plus), "{plus} of {h} signs positive");
        let again = sparse_ternary(&mut rng, n, h);
        assert_ne!(s, again, "positions are random");
        assert_eq!(
            sparse_ternary(&mut rng, 8, 8)
                .iter()
                .filter(|&&x| x != 0)
                .count(),
            8
        );
        let m = Modulus::new(97).unwrap();
        let u = uniform(&mut rng, n, &m);
        assert!(u.iter().all(|&x| x < 97));
        let mean = u.iter().sum::<u64>() as f64 / n as f64;
        assert!((mean - 48.0).abs() < 1.0);
    }
}
