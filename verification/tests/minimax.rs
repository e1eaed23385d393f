//! Composite minimax sign approximations: the precision table, equioscillation certificates,
//! and error bounds checked by dense sampling independent of the Remez extrema search.

use heaccel_verification::minimax::{
    alpha_default_eps, alpha_degrees, odd_polynomial_depth, CompositeSign, OddMinimax,
};

/// Every stage is certified minimax: `d/2 + 2` extrema with alternating signs and equal
/// magnitudes, and a dense scan of `[a, b]` never finds a larger error.
fn assert_certified(stage: &OddMinimax) {
    let (spread, alternates) = stage.equioscillation();
    let d = stage.degree();
    assert!(alternates, "degree {d}: extrema do not alternate");
    assert!(
        spread < 1e-10,
        "degree {d}: extrema magnitudes spread {spread:e}"
    );
    assert_eq!(stage.extrema().len(), d / 2 + 2);
    let (a, b) = stage.interval();
    let e = stage.max_error();
    let worst = (0..=20_000)
        .map(|i| a + (b - a) * i as f64 / 20_000.0)
        .map(|x| (stage.eval(x) - 1.0).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= e * (1.0 + 1e-9) + 1e-15,
        "degree {d} on [{a}, {b}]: sampled error {worst:e} above minimax error {e:e}"
    );
    // odd: p(-x) = -p(x)
    assert_eq!(stage.eval(-0.3 * b), -stage.eval(0.3 * b));
}

#[test]
fn alpha_table_reaches_two_to_minus_alpha_on_its_interval_and_no_wider() {
    for alpha in 4..=14 {
        let degrees = alpha_degrees(alpha).unwrap();
        let eps = alpha_default_eps(alpha).unwrap();
        let composite = CompositeSign::for_alpha(alpha, None).unwrap();
        assert_eq!(composite.degrees(), degrees);
        for stage in composite.stages() {
            assert_certified(stage);
        }
        let bound = 2f64.powi(-(alpha as i32));
        let err = composite.max_error();
        assert!(
            err <= bound,
            "alpha {alpha}: error {err:e} > 2^-{alpha} on [{eps}, 1]"
        );
        // The same degrees on [eps/2, 1] miss 2^-alpha: the table's interval is the tightest.
        let wider = CompositeSign::new(degrees, eps / 2.0).unwrap();
        assert!(
            wider.max_error() > bound,
            "alpha {alpha}: [eps/2, 1] also reaches 2^-alpha"
        );
        // Sampling the composite itself (extended precision) never beats the promise.
        let sampled = composite.sampled_max_error(eps, 4000);
        assert!(
            sampled <= err * (1.0 + 1e-9),
            "alpha {alpha}: sampled {sampled:e} > promised {err:e}"
        );
        assert!(sampled > 0.5 * err, "alpha {alpha}: sampling too coarse");
        let depth: u32 = degrees.iter().map(|&d| odd_polynomial_depth(d)).sum();
        assert_eq!(composite.depth(), depth);
    }
}

#[test]
fn alpha_fourteen_depth_target() {
    // Target of the issue: depth per sign at alpha = 14 no greater than 4 + 5 + 5 = 14.
    let c = CompositeSign::for_alpha(14, None).unwrap();
    assert_eq!(c.degrees(), vec![15, 27, 29]);
    assert_eq!(c.depth(), 14);
}

#[test]
fn composite_is_odd_and_bounded_on_the_whole_interval() {
    let c = CompositeSign::for_alpha(13, None).unwrap();
    let bound = 1.0 + c.max_error();
    for i in 0..=4000 {
        let x = i as f64 / 4000.0;
        let y = c.eval(x);
        assert!(y.abs() <= bound * (1.0 + 1e-12), "|p({x})| = {y}");
        assert_eq!(c.eval(-x), -y);
        // monotone rise below eps: p in [0, 1 + err] there, never negative
        assert!(y >= 0.0);
    }
}

#[test]
fn user_degree_lists_and_narrow_late_stages_work() {
    // Four stages of degree 7 from 2^-6: later intervals shrink towards 1 fast; extended
    // precision keeps them solvable far below f64's resolution around 1.
    let c = CompositeSign::new(&[7, 7, 7, 7, 7], 2f64.powi(-6)).unwrap();
    let errors: Vec<f64> = c.stages().iter().map(|s| s.max_error()).collect();
    assert!(errors.windows(2).all(|w| w[1] < w[0]), "{errors:?}");
    assert!(c.max_error() < 1e-20, "{errors:?}");
    for stage in c.stages() {
        let (spread, alternates) = stage.equioscillation();
        assert!(alternates && spread < 1e-10);
    }
}
