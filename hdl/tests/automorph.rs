//! The automorphism unit against the reference (`ntt_index_map` + `automorphism_ntt`) for
//! the Galois elements of rotations by 1, 2, 3, 5, N/4, -1 and conjugation, the
//! conflict-freedom of its bank schedule for every odd `g`, and its cycle count.

use heaccel_hdl::automorph::{AutomorphGeometry, AutomorphSim};
use heaccel_verification::arith::ntt_primes;
use heaccel_verification::automorphism::{
    automorphism_ntt, galois_element_conjugate, galois_element_for_rotation, ntt_index_map,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn required_elements(log_n: u32) -> Vec<(String, u64)> {
    let n = 1i64 << log_n;
    let mut v: Vec<(String, u64)> = [1, 2, 3, 5, n / 4, -1]
        .iter()
        .map(|&k| {
            (
                format!("rotation {k}"),
                galois_element_for_rotation(k, log_n),
            )
        })
        .collect();
    v.push(("conjugation".into(), galois_element_conjugate(log_n)));
    v
}

#[test]
fn every_odd_element_reads_each_bank_once_per_row() {
    for (log_n, lanes) in [(2, 2), (4, 4), (8, 8), (10, 64), (12, 8)] {
        let geo = AutomorphGeometry::new(log_n, lanes).unwrap();
        for g in (1..2u64 << log_n).step_by(2) {
            let idx = ntt_index_map(g, log_n).unwrap();
            for r in 0..geo.rows() {
                let mut hit = vec![false; lanes];
                let row = geo.row(geo.source(g, geo.position(0, r)));
                for j in 0..lanes {
                    let i = geo.position(j, r);
                    let s = geo.source(g, i);
                    assert_eq!(s, idx[i], "source formula, g = {g}");
                    assert!(
                        !hit[geo.bank(s)],
                        "conflict: N=2^{log_n} P={lanes} g={g} row {r}"
                    );
                    hit[geo.bank(s)] = true;
                    assert_eq!(geo.row(s), row, "one bank row per output row");
                }
            }
        }
    }
}

#[test]
fn unit_matches_reference_for_rotations_and_conjugation() {
    unit_matches_at::<32>(&[(8, 8), (9, 1), (10, 4), (11, 16), (12, 8)], 11);
}

/// Wider words (values up to `2^(W-2)`) at small sizes.
#[test]
fn unit_matches_reference_w36_w64() {
    unit_matches_at::<36>(&[(6, 2), (8, 4)], 12);
    unit_matches_at::<64>(&[(6, 2), (8, 4)], 13);
}

fn unit_matches_at<const W: usize>(sizes: &[(u32, usize)], seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for &(log_n, lanes) in sizes {
        let q = ntt_primes((W as u32 - 2).min(61), log_n, 1, &[]).unwrap()[0];
        let geo = AutomorphGeometry::new(log_n, lanes).unwrap();
        let mut sim = AutomorphSim::<W>::new(geo);
        let n = geo.n();
        let inputs = [
            (0..n as u64).collect::<Vec<_>>(), // distinct values: any misplacement shows
            (0..n).map(|_| rng.gen_range(0..q)).collect(),
            vec![q - 1; n],
        ];
        for a in &inputs {
            for (name, g) in required_elements(log_n) {
                let (got, cycles) = sim.apply(a, g).unwrap();
                let want = automorphism_ntt(a, &ntt_index_map(g, log_n).unwrap());
                assert_eq!(got, want, "N=2^{log_n} P={lanes} {name} (g = {g})");
                assert_eq!(cycles, geo.cycles(), "no stalls for {name}");
            }
        }
    }
}

#[test]
fn cycle_figures_at_n4096_p8() {
    let (log_n, lanes) = (12, 8);
    let geo = AutomorphGeometry::new(log_n, lanes).unwrap();
    assert_eq!(geo.cycles(), 1 + 4096 / 8 + 1);
    for (name, g) in required_elements(log_n) {
        eprintln!("{name:>14} g = {g:>4}: {} cycles, 0 stalls", geo.cycles());
    }
}

#[test]
fn invalid_elements_and_sizes_are_rejected() {
    let geo = AutomorphGeometry::new(8, 8).unwrap();
    let mut sim = AutomorphSim::<32>::new(geo);
    let a = vec![0; 256];
    assert!(sim.apply(&a, 4).is_err());
    assert!(sim.apply(&a, 513).is_err());
    assert!(AutomorphGeometry::new(8, 3).is_err());
    assert!(AutomorphGeometry::new(3, 8).is_err());
}

/// Coefficient form: `galois_inverse` against a brute-force inverse for every odd `g` below
/// `2^17`, the sources of every row in distinct banks for every odd `g` (small sizes), and the
/// unit (rust-hdl) against `automorphism_coeff` for the required elements and random odd
/// ones, with its negations done mod `q`, in the same cycles as the NTT form.
#[test]
fn coefficient_form_matches_automorphism_coeff() {
    use heaccel_hdl::automorph::galois_inverse;
    use heaccel_verification::arith::Modulus;
    use heaccel_verification::automorphism::automorphism_coeff;
    for g in (1u32..1 << 17).step_by(2) {
        assert_eq!(g.wrapping_mul(galois_inverse(g)), 1, "g = {g}");
    }
    for (log_n, lanes) in [(4, 4), (8, 8), (10, 64)] {
        let geo = AutomorphGeometry::new(log_n, lanes).unwrap();
        for g in (1..2u64 << log_n).step_by(2) {
            for r in 0..geo.rows() {
                let mut hit = vec![false; lanes];
                for j in 0..lanes {
                    let (s, _) = geo.coeff_source(g, geo.position(j, r));
                    assert!(!hit[geo.bank(s)], "conflict: N=2^{log_n} P={lanes} g={g}");
                    hit[geo.bank(s)] = true;
                }
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for (log_n, lanes) in [(6, 2), (8, 8), (10, 4)] {
        let q = ntt_primes(30, log_n, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        let geo = AutomorphGeometry::new(log_n, lanes).unwrap();
        let mut sim = AutomorphSim::<32>::new(geo);
        let n = geo.n();
        let inputs = [
            (1..=n as u64).collect::<Vec<_>>(),
            (0..n).map(|_| rng.gen_range(0..q)).collect(),
            vec![0; n],
        ];
        let mut elements = required_elements(log_n);
        elements
            .extend((0..4).map(|k| (format!("random {k}"), 2 * rng.gen_range(0..n as u64) + 1)));
        for a in &inputs {
            for (name, g) in &elements {
                let (got, cycles) = sim.apply_coeff(a, *g, q).unwrap();
                let want = automorphism_coeff(a, *g, &m).unwrap();
                assert_eq!(got, want, "N=2^{log_n} P={lanes} {name} (g = {g})");
                assert_eq!(cycles, geo.cycles(), "no stalls for {name}");
                // The NTT form still works after a coefficient-form run.
                let (ntt, _) = sim.apply(a, *g).unwrap();
                assert_eq!(ntt, automorphism_ntt(a, &ntt_index_map(*g, log_n).unwrap()));
            }
        }
    }
}
