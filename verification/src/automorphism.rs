//! Ring automorphisms `X -> X^g` (`g` odd) of `Z_q[X] / (X^N + 1)`, in coefficient form and in
//! the bit-reversed NTT form of [`crate::ntt`].
//!
//! A rotation of the CKKS slots by `k` (left: new slot `j` holds old slot `j + k`) is the
//! automorphism with `g = 5^k mod 2N`; complex conjugation of the slots is `g = 2N - 1`.

use crate::arith::{bit_reverse, Modulus};
use crate::error::{Error, Result};

/// Galois element of a left rotation by `step` slots for ring degree `N = 2^log_n`
/// (`step` may be negative; it is taken modulo `N/2`). Result: odd, in `[1, 2N)`.
pub fn galois_element_for_rotation(step: i64, log_n: u32) -> u64 {
    let two_n = 2u64 << log_n;
    let slots = 1i64 << (log_n - 1);
    let mut exp = step.rem_euclid(slots) as u64;
    let mut base = 5u64;
    let mut acc = 1u64;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * base % two_n;
        }
        base = base * base % two_n;
        exp >>= 1;
    }
    acc
}

/// Galois element of complex conjugation: `2N - 1`.
pub fn galois_element_conjugate(log_n: u32) -> u64 {
    (2u64 << log_n) - 1
}

fn check_element(g: u64, log_n: u32) -> Result<()> {
    if g.is_multiple_of(2) || g >= 2u64 << log_n {
        return Err(Error::InvalidParameter {
            field: "galois element".into(),
            reason: format!("{g} must be odd and below 2N = {}", 2u64 << log_n),
        });
    }
    Ok(())
}

/// `a(X^g)` of a polynomial in coefficient form (standard order, values in `[0, q)`):
/// coefficient `i` moves to `i * g mod 2N`, negated when that exponent is `>= N`.
pub fn automorphism_coeff(a: &[u64], g: u64, modulus: &Modulus) -> Result<Vec<u64>> {
    let n = a.len();
    let log_n = n.trailing_zeros();
    if !n.is_power_of_two() || n < 2 {
        return Err(Error::InvalidParameter {
            field: "polynomial length".into(),
            reason: format!("{n} is not a power of two >= 2"),
        });
    }
    check_element(g, log_n)?;
    let mask = 2 * n as u64 - 1;
    let mut out = vec![0u64; n];
    for (i, &c) in a.iter().enumerate() {
        let e = (i as u64 * g) & mask;
        if e < n as u64 {
            out[e as usize] = c;
        } else {
            out[(e - n as u64) as usize] = modulus.neg(c);
        }
    }
    Ok(out)
}

/// Index map of `X -> X^g` in the bit-reversed NTT domain: `out[i] = in[idx[i]]` with
/// `idx[i] = brev(((g * (2 * brev(i) + 1) mod 2N) - 1) / 2)` (the map of SEAL and Lattigo).
pub fn ntt_index_map(g: u64, log_n: u32) -> Result<Vec<usize>> {
    check_element(g, log_n)?;
    let n = 1usize << log_n;
    let mask = (2 * n as u64) - 1;
    Ok((0..n)
        .map(|i| {
            let odd = 2 * bit_reverse(i, log_n) as u64 + 1;
            let e = (g * odd) & mask;
            bit_reverse(((e - 1) / 2) as usize, log_n)
        })
        .collect())
}

/// Applies an index map from [`ntt_index_map`]: `out[i] = a[idx[i]]`.
pub fn automorphism_ntt(a: &[u64], idx: &[usize]) -> Vec<u64> {
    idx.iter().map(|&j| a[j]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::ntt_primes;
    use crate::ntt::NttTable;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn rotation_elements() {
        assert_eq!(galois_element_for_rotation(0, 4), 1);
        assert_eq!(galois_element_for_rotation(1, 4), 5);
        assert_eq!(galois_element_for_rotation(2, 4), 25);
        // 5 has order N/2 = 8 mod 32: a rotation by -1 is a rotation by 7.
        assert_eq!(
            galois_element_for_rotation(-1, 4),
            galois_element_for_rotation(7, 4)
        );
        assert_eq!(galois_element_for_rotation(-1, 4) * 5 % 32, 1);
        assert_eq!(galois_element_conjugate(4), 31);
    }

    #[test]
    fn coefficient_automorphism_is_evaluation_at_x_to_the_g() {
        // a(X^g) evaluated at a root r equals a evaluated at r^g.
        let log_n = 5;
        let q = ntt_primes(40, log_n, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        let table = NttTable::new(q, log_n).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let a: Vec<u64> = (0..32).map(|_| rng.gen_range(0..q)).collect();
        let eval = |p: &[u64], x: u64| p.iter().rev().fold(0u64, |acc, &c| m.add(m.mul(acc, x), c));
        for g in [3u64, 5, 25, 63] {
            let b = automorphism_coeff(&a, g, &m).unwrap();
            let r = m.pow(table.psi(), 7);
            assert_eq!(eval(&b, r), eval(&a, m.pow(r, g)), "g={g}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn ntt_form_equals_ntt_of_coefficient_form(log_n in 1u32..=11, g_seed: u64, seed: u64) {
            let q = ntt_primes(50, log_n, 1, &[]).unwrap()[0];
            let m = Modulus::new(q).unwrap();
            let table = NttTable::new(q, log_n).unwrap();
            let n = 1usize << log_n;
            let g = (g_seed % (2 * n as u64)) | 1;
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let a: Vec<u64> = (0..n).map(|_| rng.gen_range(0..q)).collect();
            let mut expected = automorphism_coeff(&a, g, &m).unwrap();
            table.forward(&mut expected);
            let mut fa = a.clone();
            table.forward(&mut fa);
            let got = automorphism_ntt(&fa, &ntt_index_map(g, log_n).unwrap());
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn every_element_and_conjugation_at_small_n() {
        let log_n = 6;
        let n = 64usize;
        let q = ntt_primes(30, log_n, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        let table = NttTable::new(q, log_n).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let a: Vec<u64> = (0..n).map(|_| rng.gen_range(0..q)).collect();
        let mut fa = a.clone();
        table.forward(&mut fa);
        for g in (1..2 * n as u64).step_by(2) {
            let mut expected = automorphism_coeff(&a, g, &m).unwrap();
            table.forward(&mut expected);
            let idx = ntt_index_map(g, log_n).unwrap();
            assert_eq!(automorphism_ntt(&fa, &idx), expected, "g={g}");
            // the map is a permutation
            let mut seen = idx.clone();
            seen.sort_unstable();
            assert!(seen.iter().copied().eq(0..n));
        }
    }

    #[test]
    fn even_or_large_elements_are_refused() {
        let m = Modulus::new(97).unwrap();
        assert!(automorphism_coeff(&[0; 16], 4, &m).is_err());
        assert!(automorphism_coeff(&[0; 16], 33, &m).is_err());
        assert!(ntt_index_map(2, 4).is_err());
    }
}
