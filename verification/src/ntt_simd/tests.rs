//! The vector back ends against the scalar path, bit for bit.

use super::Path;
use crate::arith::ntt_primes;
use crate::ntt::NttTable;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Inputs of size `n`: corner ones (zero, `q - 1`, the top of each accepted range,
/// monomials `X^k` and `(q - 1) X^k`) and random ones over `[0, q)`, `[0, 2q)`, `[0, 4q)`;
/// each with the bound `r` of its range in multiples of `q`.
fn inputs(n: usize, q: u64, rng: &mut ChaCha8Rng) -> Vec<(Vec<u64>, u64)> {
    let mut inputs: Vec<(Vec<u64>, u64)> = vec![
        (vec![0; n], 1),
        (vec![q - 1; n], 1),
        (vec![2 * q - 1; n], 2),
        (vec![4 * q - 1; n], 4),
    ];
    for k in [0, 1, n / 2, n - 1] {
        let mut v = vec![0u64; n];
        v[k] = 1;
        inputs.push((v.clone(), 1));
        v[k] = q - 1;
        inputs.push((v, 1));
    }
    for r in [1, 2, 4] {
        for _ in 0..2 {
            inputs.push(((0..n).map(|_| rng.gen_range(0..r * q)).collect(), r));
        }
    }
    inputs
}

/// Every vector back end this CPU has equals the scalar path bit for bit, for every size
/// 2^1..2^14 and prime widths 20..61, on corner and random inputs over the whole accepted
/// input range (`[0, 4q)` forward, `[0, 2q)` inverse); and so does the dispatching
/// transform.
#[test]
fn vector_paths_equal_scalar_path() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x51_3d);
    let (mut u32_runs, mut ifma_runs, mut avx512_runs) = (0, 0, 0);
    // Forward (table, input) cases with N >= 16, those with q < 2^50, and those with
    // q < 2^30 and N >= 32.
    let (mut vector_cases, mut q50_cases, mut q30_cases) = (0, 0, 0);
    for log_n in 1..=14u32 {
        let n = 1usize << log_n;
        for bits in [20u32, 30, 31, 40, 49, 50, 51, 52, 55, 60, 61] {
            if bits < log_n + 2 {
                continue;
            }
            for q in ntt_primes(bits, log_n, 2, &[]).unwrap() {
                let table = NttTable::new(q, log_n).unwrap();
                for (a, r) in inputs(n, q, &mut rng) {
                    if n >= 16 {
                        vector_cases += 1;
                        q50_cases += usize::from(q < 1 << 50);
                        q30_cases += usize::from(q < 1 << 30 && n >= 32);
                    }
                    let mut expected = a.clone();
                    table.forward_scalar(&mut expected);
                    let mut got = a.clone();
                    table.forward(&mut got);
                    assert_eq!(got, expected, "forward, N={n}, q={q}, input < {r}q");
                    for only in [Path::U32x16, Path::Ifma52, Path::Avx512] {
                        let mut got = a.clone();
                        match table.forward_vector(&mut got, only) {
                            Some(Path::U32x16) => u32_runs += 1,
                            Some(Path::Ifma52) => ifma_runs += 1,
                            Some(Path::Avx512) => avx512_runs += 1,
                            None => continue,
                        }
                        assert_eq!(
                            got, expected,
                            "forward vector ({only:?}), N={n}, q={q}, input < {r}q"
                        );
                    }
                    if r > 2 {
                        continue;
                    }
                    let mut expected = a.clone();
                    table.inverse_scalar(&mut expected);
                    let mut got = a.clone();
                    table.inverse(&mut got);
                    assert_eq!(got, expected, "inverse, N={n}, q={q}, input < {r}q");
                    for only in [Path::U32x16, Path::Ifma52, Path::Avx512] {
                        let mut got = a.clone();
                        if table.inverse_vector(&mut got, only).is_some() {
                            assert_eq!(
                                got, expected,
                                "inverse vector ({only:?}), N={n}, q={q}, input < {r}q"
                            );
                        }
                    }
                }
            }
        }
    }
    // Guard: each back end the CPU has ran on every case it applies to.
    if std::is_x86_feature_detected!("avx512f") {
        assert_eq!(u32_runs, q30_cases);
        if std::is_x86_feature_detected!("avx512ifma") {
            assert_eq!(ifma_runs, q50_cases);
        }
        if std::is_x86_feature_detected!("avx512dq") {
            assert_eq!(avx512_runs, vector_cases);
        }
        assert!(q30_cases > 0 && q50_cases > q30_cases && vector_cases > q50_cases);
    }
}
