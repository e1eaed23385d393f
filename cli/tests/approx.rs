//! `heaccel approx sign`: JSON shape, values checked against the reference, bad input.

mod support;

use support::heaccel;

#[test]
fn approx_sign_json_has_the_documented_shape_and_true_values() {
    let out = heaccel(&["approx", "sign", "--alpha", "12", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["alpha"], 12);
    assert_eq!(v["degrees"], serde_json::json!([7, 15, 27]));
    assert_eq!(v["depth"], 3 + 4 + 5);
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 3);
    for (stage, d) in stages.iter().zip([7, 15, 27]) {
        let c = stage.as_array().unwrap();
        assert_eq!(c.len(), d + 1);
        // odd polynomials: even coefficients are zero
        assert!(c.iter().step_by(2).all(|x| x.as_f64() == Some(0.0)));
    }
    // The composite evaluated from the printed power-basis coefficients (an independent
    // evaluation path: Horner in f64) meets 2^-12 on [2^-8, 1].
    let coeffs: Vec<Vec<f64>> = stages
        .iter()
        .map(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    let eval = |x: f64| {
        coeffs
            .iter()
            .fold(x, |y, c| c.iter().rev().fold(0.0, |acc, &a| acc * y + a))
    };
    let eps = v["eps"].as_f64().unwrap();
    assert_eq!(eps, 2f64.powi(-8));
    let worst = (0..=5000)
        .map(|i| eps + (1.0 - eps) * i as f64 / 5000.0)
        .map(|x| (eval(x) - 1.0).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 2f64.powi(-12) * 1.000001, "Horner error {worst:e}");
    let max_error = v["max_error"].as_object().unwrap();
    let keys: Vec<&str> = max_error.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 5);
    for k in ["8", "9", "10", "11", "12"] {
        assert!(max_error[k].as_f64().unwrap() > 0.0);
    }
    assert!(max_error["8"].as_f64().unwrap() <= 2f64.powi(-12));
    assert!(max_error["12"].as_f64().unwrap() > 2f64.powi(-12));
}

#[test]
fn approx_sign_bad_inputs_are_explained() {
    let out = heaccel(&["approx", "sign", "--alpha", "20"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--alpha"));
    let out = heaccel(&["approx", "sign", "--degrees", "7,8"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--degrees") && err.contains('8'), "{err}");
    let out = heaccel(&["approx", "sign", "--alpha", "9", "--eps", "1.5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--eps"));
    let out = heaccel(&["approx", "sign"]);
    assert!(!out.status.success());
}
