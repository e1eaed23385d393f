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

/// Lawrie's claim, checked: the Omega network passes every `x -> a x + b mod P` (`a` odd)
/// and every `x -> brev(a brev(x) + b mod P)`, as a gather (output `d` reads input
/// `source[d]`) routed from the output side, for `P = 2..256`: no conflict, and the settings
/// carry every word forwards to its output and every tag backwards to its input.
#[test]
fn omega_network_passes_every_odd_affine_map_and_its_bit_reversed_conjugate() {
    use heaccel_hdl::permnet::OmegaNetwork;
    use heaccel_verification::arith::bit_reverse;
    for l in 1..=8u32 {
        let p = 1usize << l;
        let net = OmegaNetwork::new(p);
        let ids: Vec<usize> = (0..p).collect();
        for a in (1..p).step_by(2) {
            for b in 0..p {
                let affine: Vec<usize> = (0..p).map(|x| (a * x + b) % p).collect();
                let conjugate: Vec<usize> = (0..p)
                    .map(|x| bit_reverse((a * bit_reverse(x, l) + b) % p, l))
                    .collect();
                for (kind, source) in [("affine", &affine), ("bit-reversed", &conjugate)] {
                    let r = net.route(source, None);
                    assert_eq!(r.conflicts, 0, "{kind} P={p} a={a} b={b}");
                    let words: Vec<usize> = ids.iter().map(|x| x + 1000).collect();
                    let out = net.gather(&r, &words);
                    assert!(
                        (0..p).all(|d| out[d] == words[source[d]]),
                        "{kind} P={p} a={a} b={b} gather"
                    );
                    assert_eq!(net.scatter(&r, source), ids, "{kind} P={p} a={a} b={b}");
                }
            }
        }
    }
}

/// The network is blocking (so the test above is not vacuous): of the 40,320 permutations of
/// 8 lines it passes 2^12 = 4,096 (one per setting of its 12 switches).
#[test]
fn omega_network_of_eight_lines_passes_4096_permutations() {
    use heaccel_hdl::permnet::OmegaNetwork;
    let net = OmegaNetwork::new(8);
    let mut passed = 0;
    let mut perm: Vec<usize> = (0..8).collect();
    // Heap's algorithm over all permutations.
    let mut c = [0usize; 8];
    let mut check = |s: &[usize]| passed += usize::from(net.route(s, None).conflicts == 0);
    check(&perm);
    let mut i = 0;
    while i < 8 {
        if c[i] < i {
            if i % 2 == 0 {
                perm.swap(0, i);
            } else {
                perm.swap(c[i], i);
            }
            check(&perm);
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    assert_eq!(passed, 4096);
}

/// The exact lane-to-bank maps of the unit (source bank of each lane, per output row) in both
/// forms route through the Omega network without conflict for every odd `g`, and the
/// backward network delivers each lane's row to its bank.
#[test]
fn unit_bank_maps_route_without_conflict_for_every_odd_element() {
    use heaccel_hdl::permnet::OmegaNetwork;
    for (log_n, lanes) in [
        (2, 2),
        (4, 4),
        (6, 8),
        (8, 16),
        (8, 32),
        (9, 64),
        (9, 128),
        (9, 256),
    ] {
        let geo = AutomorphGeometry::new(log_n, lanes).unwrap();
        let net = OmegaNetwork::new(lanes);
        for g in (1..2u64 << log_n).step_by(2) {
            for r in 0..geo.rows() {
                for coeff in [false, true] {
                    let src: Vec<usize> = (0..lanes)
                        .map(|j| {
                            let i = geo.position(j, r);
                            if coeff {
                                geo.coeff_source(g, i).0
                            } else {
                                geo.source(g, i)
                            }
                        })
                        .collect();
                    let banks: Vec<usize> = src.iter().map(|&s| geo.bank(s)).collect();
                    let route = net.route(&banks, None);
                    assert_eq!(
                        route.conflicts, 0,
                        "N=2^{log_n} P={lanes} g={g} row {r} coeff={coeff}"
                    );
                    let rows: Vec<usize> = src.iter().map(|&s| geo.row(s)).collect();
                    let at_banks = net.scatter(&route, &rows);
                    for j in 0..lanes {
                        assert_eq!(at_banks[banks[j]], rows[j]);
                    }
                }
            }
        }
    }
}

/// Both routings (rust-hdl model) against `automorphism_ntt` and `automorphism_coeff`: every
/// odd `g` at N = 2^5 and 2^6 for every lane count, sampled `g` at N = 2^8 and 2^10 up to
/// 256 lanes; each result in `AutomorphGeometry::cycles`.
#[test]
fn both_routings_match_the_reference_in_both_forms() {
    use heaccel_hdl::automorph::{AutomorphRouting, AutomorphSim, AutomorphUnit};
    use heaccel_verification::arith::Modulus;
    use heaccel_verification::automorphism::automorphism_coeff;
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let mut cases: Vec<(u32, usize, Vec<u64>)> = Vec::new();
    for log_n in [5u32, 6] {
        for l in 0..log_n {
            cases.push((log_n, 1 << l, (1..2u64 << log_n).step_by(2).collect()));
        }
    }
    for (log_n, max_l) in [(8u32, 7), (10, 8)] {
        for l in 0..=max_l {
            let mut gs: Vec<u64> = required_elements(log_n).iter().map(|e| e.1).collect();
            gs.extend((0..4).map(|_| 2 * rng.gen_range(0..1u64 << log_n) + 1));
            cases.push((log_n, 1 << l, gs));
        }
    }
    for (log_n, lanes, gs) in cases {
        let q = ntt_primes(30, log_n, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        let geo = AutomorphGeometry::new(log_n, lanes).unwrap();
        let a: Vec<u64> = (0..geo.n()).map(|_| rng.gen_range(0..q)).collect();
        for routing in [AutomorphRouting::Crossbar, AutomorphRouting::Omega] {
            if routing == AutomorphRouting::Crossbar && lanes > 64 {
                continue; // P^2 model steps: the crossbar is checked up to 64 lanes
            }
            let mut sim = AutomorphSim::<32>::with_unit(AutomorphUnit::with_routing(geo, routing));
            for &g in &gs {
                let what = format!("N=2^{log_n} P={lanes} {routing:?} g={g}");
                let (got, cycles) = sim.apply(&a, g).unwrap();
                assert_eq!(
                    got,
                    automorphism_ntt(&a, &ntt_index_map(g, log_n).unwrap()),
                    "{what}"
                );
                assert_eq!(cycles, geo.cycles(), "{what}");
                let (got, cycles) = sim.apply_coeff(&a, g, q).unwrap();
                assert_eq!(got, automorphism_coeff(&a, g, &m).unwrap(), "{what} coeff");
                assert_eq!(cycles, geo.cycles(), "{what} coeff");
            }
        }
    }
}

/// Negative control of the model: one switch's control inverted (each stage, first and last
/// switch) breaks the result of a rotation in both forms.
#[test]
fn an_inverted_switch_breaks_the_result() {
    use heaccel_hdl::automorph::{AutomorphRouting, AutomorphSim, AutomorphUnit};
    use heaccel_verification::arith::Modulus;
    use heaccel_verification::automorphism::automorphism_coeff;
    let (log_n, lanes) = (8, 16);
    let q = ntt_primes(30, log_n, 1, &[]).unwrap()[0];
    let m = Modulus::new(q).unwrap();
    let geo = AutomorphGeometry::new(log_n, lanes).unwrap();
    let a: Vec<u64> = (1..=geo.n() as u64).collect();
    let g = galois_element_for_rotation(1, log_n);
    for stage in 0..4 {
        for switch in [0, lanes / 2 - 1] {
            let unit = AutomorphUnit::with_routing(geo, AutomorphRouting::Omega)
                .with_inverted_switch(stage, switch);
            let mut sim = AutomorphSim::<32>::with_unit(unit);
            let (got, _) = sim.apply(&a, g).unwrap();
            assert_ne!(got, automorphism_ntt(&a, &ntt_index_map(g, log_n).unwrap()));
            let (got, _) = sim.apply_coeff(&a, g, q).unwrap();
            assert_ne!(got, automorphism_coeff(&a, g, &m).unwrap());
        }
    }
}
