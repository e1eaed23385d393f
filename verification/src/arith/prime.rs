//! Primality, NTT-friendly prime search and the one documented choice of `psi`.

use super::modulus::Modulus;
use crate::error::{Error, Result};

/// Deterministic Miller-Rabin for all `n < 2^64` (the first twelve primes as bases are
/// a proven witness set for this range).
pub fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let mul = |a: u64, b: u64| (a as u128 * b as u128 % n as u128) as u64;
    let pow = |mut b: u64, mut e: u64| {
        let mut acc = 1u64;
        while e > 0 {
            if e & 1 == 1 {
                acc = mul(acc, b);
            }
            b = mul(b, b);
            e >>= 1;
        }
        acc
    };
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'witness: for a in BASES {
        let mut x = pow(a, d);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul(x, x);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

/// `count` distinct primes `q = 1 mod 2N` of exactly `bits` bits (`q` in `[2^(bits-1), 2^bits)`),
/// the largest first, skipping those in `exclude`. `bits` in `[2 + log_n, 61]`.
pub fn ntt_primes(bits: u32, log_n: u32, count: usize, exclude: &[u64]) -> Result<Vec<u64>> {
    if bits > super::modulus::MAX_MODULUS_BITS || bits < log_n + 2 {
        return Err(Error::InvalidParameter {
            field: "prime bits".into(),
            reason: format!(
                "{bits} bits is outside [{}, {}] for N = 2^{log_n}",
                log_n + 2,
                super::modulus::MAX_MODULUS_BITS
            ),
        });
    }
    let step = 2u64 << log_n;
    let low = 1u64 << (bits - 1);
    // Largest candidate below 2^bits that is 1 mod 2N.
    let mut candidate = (1u64 << bits) - step + 1;
    let mut found = Vec::with_capacity(count);
    while found.len() < count && candidate >= low {
        if is_prime(candidate) && !exclude.contains(&candidate) {
            found.push(candidate);
        }
        candidate = match candidate.checked_sub(step) {
            Some(c) => c,
            None => break,
        };
    }
    if found.len() < count {
        return Err(Error::NotEnoughPrimes {
            bits,
            log_n,
            wanted: count,
            found: found.len(),
        });
    }
    Ok(found)
}

/// The `psi` of the NTT for prime `q` and ring degree `n` (a power of two): the smallest
/// primitive `2n`-th root of unity modulo `q`, as an integer in `[0, q)`.
///
/// This is the single documented choice used by every layer (the same rule as SEAL's
/// `try_minimal_primitive_root`). Requires `q` prime with `q = 1 mod 2n`.
pub fn minimal_primitive_root(q: u64, n: usize) -> Result<u64> {
    let m = Modulus::new(q)?;
    let order = 2 * n as u64;
    if !n.is_power_of_two() || !(q - 1).is_multiple_of(order) || !is_prime(q) {
        return Err(Error::InvalidModulus {
            q,
            reason: format!("must be a prime congruent to 1 mod 2N = {order}"),
        });
    }
    let cofactor = (q - 1) / order;
    // Any root r with r^n = -1 is a primitive 2n-th root; all of them are r^k, k odd.
    let mut root = None;
    for x in 2..q {
        let r = m.pow(x, cofactor);
        if m.pow(r, n as u64) == q - 1 {
            root = Some(r);
            break;
        }
    }
    let root = root.expect("a prime q = 1 mod 2n has a primitive 2n-th root");
    let square = m.mul(root, root);
    let mut best = root;
    let mut current = root;
    for _ in 1..n {
        current = m.mul(current, square);
        best = best.min(current);
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primality_small_and_known() {
        let small: Vec<u64> = (0..100).filter(|&n| is_prime(n)).collect();
        assert_eq!(
            small,
            vec![
                2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79,
                83, 89, 97
            ]
        );
        assert!(is_prime((1 << 61) - 1));
        assert!(is_prime(0xffff_ffff_0000_0001)); // Goldilocks
        assert!(!is_prime(3_215_031_751)); // strong pseudoprime to bases 2, 3, 5, 7
        assert!(!is_prime(3_825_123_056_546_413_051)); // strong pseudoprime to bases up to 23
    }

    #[test]
    fn primes_are_ntt_friendly_and_sized() {
        for (bits, log_n) in [(30, 12), (31, 14), (40, 15), (60, 16), (61, 10)] {
            let ps = ntt_primes(bits, log_n, 5, &[]).unwrap();
            for window in ps.windows(2) {
                assert!(window[0] > window[1]);
            }
            for p in ps {
                assert!(is_prime(p));
                assert_eq!(p % (2 << log_n), 1);
                assert_eq!(64 - p.leading_zeros(), bits);
            }
        }
    }

    #[test]
    fn not_enough_primes_is_an_error() {
        assert!(matches!(
            ntt_primes(20, 16, 10, &[]),
            Err(Error::NotEnoughPrimes { .. })
        ));
    }

    #[test]
    fn psi_is_minimal_primitive_root() {
        // 7681 = 1 mod 512: check against a brute-force search of all roots.
        let q = 7681u64;
        for n in [4usize, 16, 256] {
            let psi = minimal_primitive_root(q, n).unwrap();
            let m = Modulus::new(q).unwrap();
            let brute = (2..q)
                .find(|&x| m.pow(x, n as u64) == q - 1 && m.pow(x, 2 * n as u64) == 1)
                .unwrap();
            assert_eq!(psi, brute);
        }
    }
}
