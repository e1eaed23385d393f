//! Oracle test: negacyclic products through heaccel's [`NttTable`] equal negacyclic products
//! through tfhe-ntt (an independent, widely used implementation).
//!
//! The two libraries choose different roots of unity and (for tfhe-ntt) may keep transforms in
//! other orders, so transforms are not compared; products are, which are unique in
//! `Z_q[X] / (X^N + 1)` with coefficients in `[0, q)`.
//!
//! - 64-bit words: `tfhe_ntt::prime64::Plan` for N = 2^4..2^14 and primes of 30, 50, 60 and
//!   61 bits (every code path of tfhe-ntt that applies: IFMA for q < 2^50, AVX-512/AVX2/scalar
//!   Shoup for q < 2^62).
//! - 32-bit words: `tfhe_ntt::prime32::Plan` (N >= 32) for 30- and 31-bit primes.

use heaccel_verification::arith::{ntt_primes, Modulus};
use heaccel_verification::ntt::{negacyclic_schoolbook, NttTable};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Prime widths checked against `prime64::Plan`.
const BITS_64: [u32; 4] = [30, 50, 60, 61];
/// Prime widths checked against `prime32::Plan`.
const BITS_32: [u32; 2] = [30, 31];
/// Random polynomial pairs per (N, prime).
const RANDOM_CASES: usize = 8;

fn ours_product(table: &NttTable, a: &[u64], b: &[u64]) -> Vec<u64> {
    let m = table.modulus();
    let (mut fa, mut fb) = (a.to_vec(), b.to_vec());
    table.forward(&mut fa);
    table.forward(&mut fb);
    let mut prod: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| m.mul(x, y)).collect();
    table.inverse(&mut prod);
    prod
}

/// tfhe-ntt product by `fwd`, `mul_accumulate` into zeros, `inv`, `normalize` (times N^-1).
fn tfhe64_product_accumulate(plan: &tfhe_ntt::prime64::Plan, a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut fa, mut fb) = (a.to_vec(), b.to_vec());
    plan.fwd(&mut fa);
    plan.fwd(&mut fb);
    let mut acc = vec![0u64; a.len()];
    plan.mul_accumulate(&mut acc, &fa, &fb);
    plan.inv(&mut acc);
    plan.normalize(&mut acc);
    acc
}

/// tfhe-ntt product by `fwd`, `mul_assign_normalize`, `inv`.
fn tfhe64_product_normalize(plan: &tfhe_ntt::prime64::Plan, a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut fa, mut fb) = (a.to_vec(), b.to_vec());
    plan.fwd(&mut fa);
    plan.fwd(&mut fb);
    plan.mul_assign_normalize(&mut fa, &fb);
    plan.inv(&mut fa);
    fa
}

fn tfhe32_product(plan: &tfhe_ntt::prime32::Plan, a: &[u64], b: &[u64]) -> Vec<u64> {
    let narrow = |v: &[u64]| -> Vec<u32> { v.iter().map(|&x| u32::try_from(x).unwrap()).collect() };
    let (mut fa, mut fb) = (narrow(a), narrow(b));
    plan.fwd(&mut fa);
    plan.fwd(&mut fb);
    let mut acc = vec![0u32; a.len()];
    plan.mul_accumulate(&mut acc, &fa, &fb);
    plan.inv(&mut acc);
    plan.normalize(&mut acc);
    acc.into_iter().map(u64::from).collect()
}

/// Input pairs: corner polynomials (zero, all ones, all `q - 1`, monomials, `q - 1` at the
/// top degree, which wraps negacyclically) and seeded random ones.
fn input_pairs(n: usize, q: u64, rng: &mut ChaCha8Rng) -> Vec<(String, Vec<u64>, Vec<u64>)> {
    let random =
        |rng: &mut ChaCha8Rng| -> Vec<u64> { (0..n).map(|_| rng.gen_range(0..q)).collect() };
    let monomial = |k: usize, c: u64| -> Vec<u64> {
        let mut v = vec![0u64; n];
        v[k] = c;
        v
    };
    let zeros = vec![0u64; n];
    let ones = vec![1u64; n];
    let max = vec![q - 1; n];
    let r = random(rng);
    let mut pairs = vec![
        ("zero * random".to_string(), zeros.clone(), r.clone()),
        ("zero * zero".to_string(), zeros.clone(), zeros),
        ("(q-1) * (q-1)".to_string(), max.clone(), max.clone()),
        ("(q-1) * random".to_string(), max.clone(), r.clone()),
        ("ones * (q-1)".to_string(), ones, max),
        ("1 * random".to_string(), monomial(0, 1), r.clone()),
        (
            "X^(N-1) * X".to_string(),
            monomial(n - 1, 1),
            monomial(1, 1),
        ),
        (
            "(q-1)X^(N-1) * (q-1)X^(N-1)".to_string(),
            monomial(n - 1, q - 1),
            monomial(n - 1, q - 1),
        ),
    ];
    for k in [1, n / 2, n - 1] {
        pairs.push((format!("X^{k} * random"), monomial(k, 1), r.clone()));
    }
    for i in 0..RANDOM_CASES {
        pairs.push((format!("random #{i}"), random(rng), random(rng)));
    }
    pairs
}

#[test]
fn products_match_tfhe_ntt_prime64() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7f4e_0001);
    let mut checked = 0usize;
    for log_n in 4..=14u32 {
        let n = 1usize << log_n;
        for bits in BITS_64 {
            let q = ntt_primes(bits, log_n, 1, &[]).unwrap()[0];
            let table = NttTable::new(q, log_n).unwrap();
            let plan = tfhe_ntt::prime64::Plan::try_new(n, q)
                .unwrap_or_else(|| panic!("tfhe-ntt has no prime64 plan for N={n} q={q}"));
            for (name, a, b) in input_pairs(n, q, &mut rng) {
                let ours = ours_product(&table, &a, &b);
                assert!(
                    ours.iter().all(|&x| x < q),
                    "ours out of [0,q): {name} N={n} q={q}"
                );
                let theirs = tfhe64_product_accumulate(&plan, &a, &b);
                assert_eq!(
                    ours, theirs,
                    "mul_accumulate path: {name}, N={n}, q={q} ({bits} bits)"
                );
                let theirs = tfhe64_product_normalize(&plan, &a, &b);
                assert_eq!(
                    ours, theirs,
                    "mul_assign_normalize path: {name}, N={n}, q={q}"
                );
                if n <= 64 {
                    let m = Modulus::new(q).unwrap();
                    assert_eq!(
                        ours,
                        negacyclic_schoolbook(&a, &b, &m),
                        "schoolbook: {name}"
                    );
                }
                checked += 1;
            }
        }
    }
    // Guard against a silently empty loop.
    assert_eq!(checked, 11 * BITS_64.len() * (11 + RANDOM_CASES));
}

#[test]
fn products_match_tfhe_ntt_prime32() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7f4e_0002);
    let mut checked = 0usize;
    for log_n in 5..=14u32 {
        let n = 1usize << log_n;
        for bits in BITS_32 {
            let q = ntt_primes(bits, log_n, 1, &[]).unwrap()[0];
            let table = NttTable::new(q, log_n).unwrap();
            let plan = tfhe_ntt::prime32::Plan::try_new(n, u32::try_from(q).unwrap())
                .unwrap_or_else(|| panic!("tfhe-ntt has no prime32 plan for N={n} q={q}"));
            for (name, a, b) in input_pairs(n, q, &mut rng) {
                let ours = ours_product(&table, &a, &b);
                let theirs = tfhe32_product(&plan, &a, &b);
                assert_eq!(ours, theirs, "prime32: {name}, N={n}, q={q} ({bits} bits)");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 10 * BITS_32.len() * (11 + RANDOM_CASES));
}

/// The plans of both libraries agree on which (N, q) pairs are valid for N >= 16.
#[test]
fn tfhe_plan_exists_for_our_primes() {
    for log_n in 4..=16u32 {
        for bits in [30u32, 40, 50, 51, 55, 60, 61] {
            let q = ntt_primes(bits, log_n, 1, &[]).unwrap()[0];
            assert!(
                tfhe_ntt::prime64::Plan::try_new(1 << log_n, q).is_some(),
                "q={q}"
            );
        }
    }
}
