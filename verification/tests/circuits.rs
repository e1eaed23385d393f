//! Homomorphic circuits on CKKS: Chebyshev series at minimal depth, precise ReLU, max and
//! max-pooling from composite minimax sign approximations, each decrypted and compared with
//! (a) the same approximation evaluated in plaintext f64 (CKKS noise only) and (b) the exact
//! function (the composite's promised error times the bound B, plus that noise).
//!
//! Parameters: N = 2^12 with 30 levels of 40-bit primes and scale 2^40. That is far beyond
//! the 128-bit bound for N = 2^12 (log2 PQ ~ 1470) and is opted into with `allow_insecure`
//! for these functional tests only: depth-28 circuits at a secure N = 2^16 would take minutes.
//! Measured CKKS noise at these parameters stays below 2^-25 relative to B.

use heaccel_verification::circuits::{
    chebyshev_eval, evaluate_polynomial, max_error_bound, minimal_depth, relu_error_bound,
    MinimaxActivation, PolynomialPlan,
};
use heaccel_verification::ckks::{
    Ciphertext, Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, KeyGenerator, Parameters,
    ParametersLiteral,
};
use heaccel_verification::minimax::CompositeSign;
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

struct Fixture {
    params: Parameters,
    encoder: Encoder,
    encryptor: Encryptor<ChaCha20Rng>,
    decryptor: Decryptor,
    evaluator: Evaluator,
}

const WIDTH: usize = 16;

fn fixture() -> Fixture {
    let literal = ParametersLiteral {
        log_n: 12,
        log_q: std::iter::once(55).chain([40; 30]).collect(),
        q: vec![],
        log_p: vec![55; 4],
        p: vec![],
        log_scale: 40,
        dnum: 8,
        hamming_weight: None,
        allow_insecure: true,
    };
    let params = literal.build().unwrap();
    let mut keygen = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(7));
    let sk = keygen.gen_secret_key();
    let pk = keygen.gen_public_key(&sk).unwrap();
    let rlk = keygen.gen_relin_key(&sk).unwrap();
    let steps = [1, 2, WIDTH as i64, 2 * WIDTH as i64];
    let gks = keygen.gen_galois_keys(&sk, &steps, false).unwrap();
    Fixture {
        encoder: Encoder::new(&params),
        encryptor: Encryptor::with_rng(
            &params,
            EncryptionKey::Public(pk),
            ChaCha20Rng::seed_from_u64(8),
        )
        .unwrap(),
        decryptor: Decryptor::new(&params, &sk).unwrap(),
        evaluator: Evaluator::new(&params, Some(rlk), Some(gks)).unwrap(),
        params,
    }
}

impl Fixture {
    fn encrypt(&mut self, values: &[f64]) -> Ciphertext {
        let slots: Vec<Complex64> = values.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        let pt = self
            .encoder
            .encode(&slots, self.params.max_level(), self.params.default_scale())
            .unwrap();
        self.encryptor.encrypt(&pt).unwrap()
    }
    fn decrypt(&self, ct: &Ciphertext) -> Vec<f64> {
        self.encoder
            .decode(&self.decryptor.decrypt(ct).unwrap())
            .unwrap()
            .iter()
            .map(|c| c.re)
            .collect()
    }
}

/// Random values in `[-bound, bound]` with the corners 0, ±bound and ±tiny first.
fn values(seed: u64, n: usize, bound: f64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let corners = [0.0, bound, -bound, 1e-6, -1e-6, bound / 2.0];
    corners
        .into_iter()
        .chain((corners.len()..n).map(|_| rng.gen_range(-bound..bound)))
        .collect()
}

fn worst(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn chebyshev_series_match_plaintext_at_minimal_depth_with_planned_multiplications() {
    let mut f = fixture();
    let n = f.params.max_slots();
    let t = values(1, n, 1.0);
    let ct = f.encrypt(&t);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for degree in [1usize, 2, 3, 4, 7, 8, 15, 27, 31] {
        let odd = degree % 2 == 1;
        let coeffs: Vec<f64> = (0..=degree)
            .map(|k| {
                if odd && k % 2 == 0 {
                    0.0
                } else {
                    rng.gen_range(-1.0..1.0) / (k + 1) as f64
                }
            })
            .collect();
        let plan = PolynomialPlan::new(&coeffs).unwrap();
        let scale = f.params.default_scale();
        let (out, run) = evaluate_polynomial(&f.evaluator, &ct, &plan, scale).unwrap();
        assert_eq!(run.performed, plan.counts(), "degree {degree}");
        assert_eq!(plan.depth(), minimal_depth(degree));
        assert_eq!(ct.level() - out.level(), minimal_depth(degree) as usize);
        let expected: Vec<f64> = t.iter().map(|&x| chebyshev_eval(&coeffs, x)).collect();
        let err = worst(&f.decrypt(&out), &expected);
        assert!(err < 2f64.powi(-22), "degree {degree}: error {err:e}");
    }
}

#[test]
fn relu_alpha_13_decrypts_to_relu_within_the_promise() {
    let mut f = fixture();
    let bound = 8.0;
    let act = MinimaxActivation::new(CompositeSign::for_alpha(13, None).unwrap()).unwrap();
    assert_eq!(act.relu_depth(), 13 + 1);
    // activations in [-B, B], normalized by one constant multiplication (1 level)
    let x = values(3, f.params.max_slots(), bound);
    let ct = f.encrypt(&x);
    let (t, norm) = act.normalize(&f.evaluator, &ct, bound).unwrap();
    assert_eq!(norm.depth, 1);
    let (out, counts) = act.relu(&f.evaluator, &t).unwrap();
    assert_eq!(t.level() - out.level(), 14);
    assert_eq!(counts.depth, 14);
    assert_eq!(counts.ct_mults, act.relu_counts().ct_mults);
    // back in the original units: ReLU(x) = B ReLU(x / B)
    let got: Vec<f64> = f.decrypt(&out).iter().map(|v| v * bound).collect();
    let plain: Vec<f64> = x
        .iter()
        .map(|&v| bound * act.relu_plain(v / bound))
        .collect();
    let noise = worst(&got, &plain);
    assert!(noise < bound * 2f64.powi(-25), "CKKS noise {noise:e}");
    let exact: Vec<f64> = x.iter().map(|&v| v.max(0.0)).collect();
    let promise = bound * relu_error_bound(act.composite());
    let approx = worst(&plain, &exact);
    assert!(
        approx <= promise,
        "approximation {approx:e} > promise {promise:e}"
    );
    let total = worst(&got, &exact);
    assert!(total <= promise + noise, "{total:e}");
    // inputs at least eps B away from 0 get the composite's error, far below the eps term
    let away: f64 = x
        .iter()
        .zip(&got)
        .filter(|(v, _)| v.abs() >= bound * act.composite().eps())
        .map(|(v, g)| (g - v.max(0.0)).abs())
        .fold(0.0, f64::max);
    assert!(
        away <= bound * act.composite().max_error() / 2.0 + noise,
        "{away:e}"
    );
}

#[test]
fn relu_scaled_lands_its_multiplier_without_a_level() {
    let mut f = fixture();
    let act = MinimaxActivation::new(CompositeSign::for_alpha(8, None).unwrap()).unwrap();
    let t = values(5, f.params.max_slots(), 1.0);
    let ct = f.encrypt(&t);
    let (plain_relu, relu_counts) = act.relu(&f.evaluator, &ct).unwrap();
    let delta = f.params.default_scale();
    assert_ne!(plain_relu.scale, delta, "relu leaves t.scale * Delta / q");
    for multiplier in [1.0, 0.37, 2.5, -1.25] {
        let (out, counts) = act.relu_scaled(&f.evaluator, &ct, multiplier).unwrap();
        assert_eq!(
            out.level(),
            plain_relu.level(),
            "no extra level for {multiplier}"
        );
        assert!(
            ((out.scale - delta) / delta).abs() < 1e-12,
            "{multiplier}: scale {} vs {delta}",
            out.scale
        );
        assert_eq!(counts.const_mults, relu_counts.const_mults + 1);
        assert_eq!(counts.ct_mults, relu_counts.ct_mults);
        let got = f.decrypt(&out);
        let want: Vec<f64> = t.iter().map(|&v| multiplier * act.relu_plain(v)).collect();
        let noise = worst(&got, &want);
        assert!(noise < 2f64.powi(-25), "multiplier {multiplier}: {noise:e}");
    }
    for bad in [0.0, f64::NAN, f64::INFINITY] {
        assert!(act.relu_scaled(&f.evaluator, &ct, bad).is_err(), "{bad}");
    }
}

#[test]
fn max_pool_2x2_alpha_13_decrypts_to_the_window_max() {
    let mut f = fixture();
    let act = MinimaxActivation::new(CompositeSign::for_alpha(13, None).unwrap()).unwrap();
    // normalized values in [-1/2, 1/2] (a 1 / 2B folded into the previous layer), kept to
    // 0.45 so that approximate maxima stay in range for the next level of the tree
    let x = values(4, f.params.max_slots(), 0.45);
    let ct = f.encrypt(&x);
    let (out, counts) = act.max_pool(&f.evaluator, &ct, 2, WIDTH).unwrap();
    assert_eq!(counts.depth, 2 * act.max_depth());
    assert_eq!(counts.rotations, 2);
    assert_eq!(counts.ct_mults, 2 * act.max_counts().ct_mults);
    let got = f.decrypt(&out);
    let n = x.len();
    let exact: Vec<f64> = (0..n)
        .map(|p| {
            [0, 1, WIDTH, WIDTH + 1]
                .iter()
                .map(|&o| x[(p + o) % n])
                .fold(f64::MIN, f64::max)
        })
        .collect();
    // two levels of max, each within max(e, eps) / 2 of the exact max
    let promise = 2.0 * max_error_bound(act.composite());
    let err = worst(&got, &exact);
    assert!(
        err <= promise + 2f64.powi(-24),
        "error {err:e} > {promise:e}"
    );
    // the pairwise max alone against its plaintext twin: CKKS noise only
    let y = values(5, n, 0.45);
    let (a, b) = (f.encrypt(&x), f.encrypt(&y));
    let (m, _) = act.max(&f.evaluator, &a, &b).unwrap();
    let plain: Vec<f64> = x
        .iter()
        .zip(&y)
        .map(|(&p, &q)| act.max_plain(p, q))
        .collect();
    let noise = worst(&f.decrypt(&m), &plain);
    assert!(noise < 2f64.powi(-26), "max noise {noise:e}");
}

#[test]
fn max_pool_3x3_at_alpha_7() {
    let mut f = fixture();
    let act = MinimaxActivation::new(CompositeSign::for_alpha(7, None).unwrap()).unwrap();
    assert_eq!(act.max_depth(), 3 + 3 + 1);
    let x = values(6, f.params.max_slots(), 0.45);
    let ct = f.encrypt(&x);
    let (out, counts) = act.max_pool(&f.evaluator, &ct, 3, WIDTH).unwrap();
    assert_eq!(counts.depth, 4 * act.max_depth());
    assert_eq!(counts.rotations, 4);
    let got = f.decrypt(&out);
    let n = x.len();
    let exact: Vec<f64> = (0..n)
        .map(|p| {
            (0..3)
                .flat_map(|dy| (0..3).map(move |dx| dy * WIDTH + dx))
                .map(|o| x[(p + o) % n])
                .fold(f64::MIN, f64::max)
        })
        .collect();
    let promise = 4.0 * max_error_bound(act.composite());
    let err = worst(&got, &exact);
    assert!(
        err <= promise + 2f64.powi(-24),
        "error {err:e} > {promise:e}"
    );
}
