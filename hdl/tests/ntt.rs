//! The NTT unit against the reference (`heaccel_verification::ntt::NttTable`): the bank
//! schedule is conflict-free, forward output is bit-exact at N = 2^8..2^12, forward then
//! inverse is the identity, a negacyclic product through the RTL equals the schoolbook one,
//! and the cycle count is the documented formula, within 5% of `N/2 log2(N) / P`.
//!
//! The N = 2^14 test is slow (about a minute): `cargo test -p heaccel-hdl --test ntt --
//! --ignored`. The wider words (W = 36, 64) are checked at N = 2^6 and 2^8 (`*_w36`, `*_w64`)
//! with primes of W - 2 bits (61 at W = 64, the reference model's limit).

use heaccel_hdl::ntt::{NttGeometry, NttSim, NttUnit};
use heaccel_hdl::Prime;
use heaccel_verification::arith::{ntt_primes, Modulus};
use heaccel_verification::ntt::{negacyclic_schoolbook, NttTable};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The largest NTT prime of `min(W - 2, 61)` bits for `N = 2^log_n`.
fn prime_w<const W: usize>(log_n: u32) -> u64 {
    ntt_primes((W as u32 - 2).min(61), log_n, 1, &[]).unwrap()[0]
}

fn random_poly(q: u64, n: usize, rng: &mut impl Rng) -> Vec<u64> {
    (0..n).map(|_| rng.gen_range(0..q)).collect()
}

#[test]
fn every_stage_reads_each_bank_once_per_cycle_and_each_address_once() {
    for (log_n, lanes) in [(3, 1), (5, 2), (8, 4), (9, 8), (12, 8), (14, 16), (13, 64)] {
        let g = NttGeometry::new(log_n, lanes).unwrap();
        for inverse in [false, true] {
            for s in 0..log_n as usize {
                let b = g.stage_bit(inverse, s);
                let mut seen = vec![false; g.n()];
                for c in 0..g.depth() {
                    let acc = g.stage_accesses(inverse, s, c);
                    assert_eq!(acc.len(), lanes);
                    let mut banks = vec![false; g.banks()];
                    for (x, y) in &acc {
                        assert_eq!(y.addr, x.addr | (1 << b), "pair of stage {s}");
                        assert_eq!(x.addr & (1 << b), 0);
                        for a in [x, y] {
                            assert!(
                                !banks[a.bank],
                                "bank {} twice: N=2^{log_n} P={lanes} stage {s} cycle {c}",
                                a.bank
                            );
                            banks[a.bank] = true;
                            assert!(a.row < g.depth());
                            assert!(!seen[a.addr], "address {} twice in stage {s}", a.addr);
                            seen[a.addr] = true;
                            // Bank and row identify the address.
                            let low = a.bank ^ g.fold(a.row << g.bank_bits());
                            assert_eq!((a.row << g.bank_bits()) | low, a.addr);
                        }
                    }
                }
                assert!(seen.iter().all(|&x| x), "stage {s} missed an address");
            }
        }
    }
}

/// Forward and inverse on random and corner inputs at one size; returns the cycle count.
fn check_size(log_n: u32, lanes: usize, random: usize, seed: u64) -> usize {
    check_size_w::<32>(log_n, lanes, random, seed)
}

/// [`check_size`] at word `W`.
fn check_size_w<const W: usize>(log_n: u32, lanes: usize, random: usize, seed: u64) -> usize {
    let q = prime_w::<W>(log_n);
    let g = NttGeometry::new(log_n, lanes).unwrap();
    let table = NttTable::new(q, log_n).unwrap();
    let mut sim = NttSim::<W>::new(Prime::for_word(q, W).unwrap(), g).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = g.n();
    let mut inputs = vec![
        vec![0; n],
        vec![q - 1; n],
        (0..n).map(|i| (i == 1) as u64).collect(), // X: every odd power of psi
    ];
    inputs.extend((0..random).map(|_| random_poly(q, n, &mut rng)));
    let mut cycles = 0;
    for a in inputs {
        let (got, c) = sim.transform(&a, false);
        let mut want = a.clone();
        table.forward(&mut want);
        assert_eq!(got, want, "forward N=2^{log_n} P={lanes}");
        assert_eq!(c, g.cycles());
        let (back, c) = sim.transform(&got, true);
        assert_eq!(back, a, "inverse(forward) N=2^{log_n} P={lanes}");
        assert_eq!(c, g.cycles());
        let mut inv = got.clone();
        table.inverse(&mut inv);
        assert_eq!(back, inv);
        cycles = c;
    }
    cycles
}

#[test]
fn forward_and_inverse_match_reference_n256_to_n1024() {
    check_size(8, 4, 3, 1);
    check_size(8, 1, 1, 2);
    check_size(9, 2, 2, 3);
    check_size(10, 8, 2, 4);
}

#[test]
fn forward_and_inverse_match_reference_n2048() {
    check_size(11, 16, 1, 5);
}

#[test]
fn forward_and_inverse_match_reference_n4096_p8_within_5_percent() {
    let cycles = check_size(12, 8, 1, 6);
    let g = NttGeometry::new(12, 8).unwrap();
    let bound = g.bound() + <NttUnit>::LATENCY;
    assert_eq!(cycles, 1 + 12 * (256 + <NttUnit>::LATENCY - 1));
    let over = (cycles as f64 - bound as f64) / bound as f64;
    eprintln!(
        "N=2^12 P=8: {cycles} cycles, bound {} + fill {} = {bound}, +{:.2}%",
        g.bound(),
        <NttUnit>::LATENCY,
        100.0 * over
    );
    assert!(over < 0.05, "{cycles} cycles vs {bound}");
}

#[test]
#[ignore = "slow: cargo test -p heaccel-hdl --test ntt -- --ignored"]
fn forward_and_inverse_match_reference_n16384() {
    check_size(14, 16, 1, 7);
}

#[test]
fn negacyclic_product_through_the_rtl_equals_schoolbook() {
    negacyclic_product_at::<32>(8, 4);
}

fn negacyclic_product_at<const W: usize>(log_n: u32, lanes: usize) {
    let q = prime_w::<W>(log_n);
    let m = Modulus::new(q).unwrap();
    let g = NttGeometry::new(log_n, lanes).unwrap();
    let mut sim = NttSim::<W>::new(Prime::for_word(q, W).unwrap(), g).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let a = random_poly(q, g.n(), &mut rng);
    let b = random_poly(q, g.n(), &mut rng);
    let (fa, _) = sim.transform(&a, false);
    let (fb, _) = sim.transform(&b, false);
    let prod: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| m.mul(x, y)).collect();
    let (c, _) = sim.transform(&prod, true);
    assert_eq!(c, negacyclic_schoolbook(&a, &b, &m));
}

#[test]
fn geometry_and_modulus_are_validated() {
    assert!(NttGeometry::new(12, 3).is_err());
    assert!(NttGeometry::new(12, 256).is_err());
    assert!(NttGeometry::new(4, 8).is_err()); // N < 4P
    assert!(NttGeometry::new(17, 8).is_err());
    assert!(NttGeometry::new(5, 8).is_ok());
    let g = NttGeometry::new(11, 8).unwrap();
    // 12289 = 1 mod 2^12 is fine for N = 2^11; 7681 = 1 mod 2^9 is not.
    assert!(NttUnit::<32>::new(Prime::new(12289).unwrap(), g).is_ok());
    assert!(NttUnit::<32>::new(Prime::new(7681).unwrap(), g).is_err());
    // A prime of a wider word does not fit a narrower unit.
    let q34 = Prime::for_word(prime_w::<36>(11), 36).unwrap();
    assert!(NttUnit::<36>::new(q34, g).is_ok());
    assert!(NttUnit::<32>::new(q34, g).is_err());
}

/// Wider words at small sizes: forward against the reference, forward then inverse, cycle
/// counts (in `check_size_w`), and the negacyclic product against the schoolbook one.
#[test]
fn wider_words_w36() {
    check_size_w::<36>(6, 2, 2, 21);
    check_size_w::<36>(8, 4, 1, 22);
    negacyclic_product_at::<36>(6, 2);
}

#[test]
fn wider_words_w64() {
    check_size_w::<64>(6, 2, 2, 23);
    check_size_w::<64>(8, 4, 1, 24);
    negacyclic_product_at::<64>(6, 2);
}
