//! Tests of Chebyshev series evaluation: plans, depths, counts and accuracy.

use super::*;

#[test]
fn division_reconstructs_the_series() {
    let coeffs: Vec<f64> = (0..=13).map(|k| (k as f64 * 0.37).sin()).collect();
    let (q, r) = divide(&coeffs, 8);
    for t in [-0.9, -0.3, 0.1, 0.7, 1.0] {
        let t8 = chebyshev_eval(&[0., 0., 0., 0., 0., 0., 0., 0., 1.], t);
        let lhs = chebyshev_eval(&coeffs, t);
        let rhs = chebyshev_eval(&q, t) * t8 + chebyshev_eval(&r, t);
        assert!((lhs - rhs).abs() < 1e-12, "t = {t}");
    }
}

#[test]
fn plans_have_minimal_depth_and_hand_counted_multiplications() {
    // Degree 3 (depth 2): a leaf c1 T1 + c3 T3 would need depth(T3) + 1 = 3 levels, so
    // p = (2 c3 T1) T2 + (c1 - c3) T1: T2 (1 mult) + the split (1 mult) = 2.
    let plan = PolynomialPlan::new(&[0.0, 1.0, 0.0, 0.5]).unwrap();
    assert_eq!(plan.depth(), 2);
    assert_eq!(plan.counts().ct_mults, 2);
    // Degree 7 odd (depth 3): p = q T4 + r, q and r odd of degree 3; q has 2 levels, so
    // q = q' T2 + r' (1 split); r has 3 levels: either split by T2 (1 mult) or a leaf
    // with T3 (1 mult to build T3). Basis T2, T4 (2) + split by T4 (1) + 1 + 1 = 5.
    let plan = PolynomialPlan::new(&[0.0, 1.0, 0.0, 0.5, 0.0, 0.25, 0.0, 0.125]).unwrap();
    assert_eq!(plan.depth(), 3);
    assert_eq!(plan.counts().ct_mults, 5);
    for d in [1usize, 2, 3, 5, 7, 8, 15, 16, 27, 29, 31, 63, 64] {
        let coeffs: Vec<f64> = (0..=d).map(|k| 1.0 / (k + 1) as f64).collect();
        let plan = PolynomialPlan::new(&coeffs).unwrap();
        assert_eq!(plan.depth(), minimal_depth(d), "degree {d}");
    }
}

#[test]
fn interpolation_is_exact_at_the_nodes_and_converges() {
    let f = |t: f64| (3.0 * t).sin() + 0.25 * t * t;
    let coeffs = chebyshev_interpolate(f, 9);
    for j in 0..10 {
        let t = (std::f64::consts::PI * (j as f64 + 0.5) / 10.0).cos();
        assert!(
            (chebyshev_eval(&coeffs, t) - f(t)).abs() < 1e-13,
            "node {j}"
        );
    }
    let coeffs = chebyshev_interpolate(f, 25);
    let worst = (0..=1000)
        .map(|i| -1.0 + i as f64 / 500.0)
        .map(|t| (chebyshev_eval(&coeffs, t) - f(t)).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-14, "{worst}");
    // T_3 is its own interpolant
    let t3 = chebyshev_interpolate(|t| 4.0 * t * t * t - 3.0 * t, 5);
    for (k, c) in t3.iter().enumerate() {
        assert!(
            (c - if k == 3 { 1.0 } else { 0.0 }).abs() < 1e-14,
            "c_{k} = {c}"
        );
    }
}

#[test]
fn bad_series_are_refused() {
    assert!(PolynomialPlan::new(&[1.0]).is_err());
    assert!(PolynomialPlan::new(&[0.0, f64::NAN]).is_err());
    assert!(PolynomialPlan::new(&vec![1.0; 2000]).is_err());
}
