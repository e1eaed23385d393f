//! Tests of CKKS parameters: presets, literals, chains, security bounds and their errors.

use super::*;

#[test]
fn presets_build_and_are_secure() {
    for name in PRESET_NAMES {
        if INSECURE_PRESET_NAMES.contains(&name) {
            let err = Parameters::preset(name).unwrap_err();
            assert!(matches!(err, Error::InsecureSparse { .. }), "{name}: {err}");
            let mut lit = preset(name).unwrap();
            lit.allow_insecure = true;
            assert_eq!(lit.build().unwrap().security_bits(), None, "{name}");
            continue;
        }
        let p = Parameters::preset(name).unwrap();
        let bound = match p.hamming_weight() {
            None => he_standard_bound(p.log_n(), 128).unwrap(),
            Some(h) => sparse_secret_bound(p.log_n(), h).unwrap(),
        } as f64;
        assert!(p.log_pq() <= bound, "{name}: {} > {bound}", p.log_pq());
        assert_eq!(p.security_bits(), Some(128), "{name}");
        let again = p.literal().build().unwrap();
        assert_eq!(again, p);
    }
    let b = Parameters::preset("n16-boot").unwrap();
    assert_eq!(
        (b.max_level(), b.dnum(), b.hamming_weight()),
        (24, 7, Some(192))
    );
    assert!((1545.0..1547.0).contains(&b.log_pq()), "{}", b.log_pq());
    // key-switching digits are at most P (within 2^-20: the EvalMod primes were searched
    // first, so 4 of them exceed the 4 special primes by a hair), so the key-switching
    // noise, multiplied by Q_j / P, is not amplified
    let p_bits: f64 = b.p_moduli().iter().map(|m| (m.value() as f64).log2()).sum();
    for digit in b.q_moduli(b.max_level()).chunks(b.digit_size()) {
        let bits: f64 = digit.iter().map(|m| (m.value() as f64).log2()).sum();
        assert!(bits < p_bits + 1e-6, "digit of {bits} bits > P of {p_bits}");
    }
    let s = Parameters::preset("spencnn-n14").unwrap();
    assert_eq!(s.max_level(), 12);
    assert_eq!(s.q_tables()[0].modulus().bits(), 33);
    assert!(s.q_tables()[1..].iter().all(|t| t.modulus().bits() == 31));
    assert_eq!(s.p_tables()[0].modulus().bits(), 33);
}

#[test]
fn insecure_needs_opt_in() {
    let mut lit = preset("test-n13").unwrap();
    lit.log_q.push(40); // 240 bits > 218
    let err = lit.build().unwrap_err();
    assert!(matches!(err, Error::Insecure { bound: 218, .. }), "{err}");
    assert!(err.to_string().contains("allow_insecure"));
    lit.allow_insecure = true;
    let p = lit.build().unwrap();
    assert_eq!(p.security_bits(), None);
}

#[test]
fn field_errors_name_the_field() {
    let base = preset("test-n13").unwrap();
    let cases: Vec<(ParametersLiteral, &str)> = vec![
        (
            ParametersLiteral {
                log_n: 20,
                ..base.clone()
            },
            "log_n",
        ),
        (
            ParametersLiteral {
                dnum: 0,
                ..base.clone()
            },
            "dnum",
        ),
        (
            ParametersLiteral {
                dnum: 9,
                ..base.clone()
            },
            "dnum",
        ),
        (
            ParametersLiteral {
                log_scale: 0,
                ..base.clone()
            },
            "log_scale",
        ),
        (
            ParametersLiteral {
                log_q: vec![45, 62],
                ..base.clone()
            },
            "log_q[1]",
        ),
        (
            ParametersLiteral {
                q: vec![17],
                ..base.clone()
            },
            "log_q",
        ),
        (
            ParametersLiteral {
                log_q: vec![],
                q: vec![97],
                ..base.clone()
            },
            "q[0]",
        ),
        (
            ParametersLiteral {
                log_p: vec![],
                ..base.clone()
            },
            "log_p",
        ),
    ];
    for (lit, field) in cases {
        let err = lit.build().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParameter { field: f, .. } if f == field),
            "expected field {field}, got {err}"
        );
    }
}

#[test]
fn json_round_trip_and_malformed_input() {
    let p = Parameters::preset("test-n13").unwrap();
    let text = serde_json::to_string(&p).unwrap();
    let back: Parameters = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p);
    let err = ParametersLiteral::from_json(
        r#"{"log_n": 13, "log_q": [40], "log_p": [40], "log_scale": 30, "dnum": 1, "colour": 1}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
    let err = ParametersLiteral::from_json(r#"{"log_n": "x"}"#).unwrap_err();
    assert!(err.to_string().contains("log_n"), "{err}");
    let toml_text = "log_n = 13\nlog_q = [45, 35]\nlog_p = [50]\nlog_scale = 35\ndnum = 2\n";
    let lit = ParametersLiteral::from_toml(toml_text).unwrap();
    assert_eq!(lit.build().unwrap().max_level(), 1);
    let err = ParametersLiteral::from_toml("log_n = 13\nlog_scael = 3\n").unwrap_err();
    assert!(err.to_string().contains("log_scael"), "{err}");
}
