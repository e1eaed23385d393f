//! RNS-CKKS against plain complex arithmetic: every operation decrypts within a stated
//! precision of the plaintext result, rotations move slots as documented, hoisting is
//! bit-exact, serialization round-trips, and misuse is an error.
//!
//! Stated precision, preset `test-n13` (N = 2^13, scale 2^35, slots in the unit square), as
//! -log2 of the worst slot error over all 4096 slots:
//! - encoding alone: rounding of N coefficients, ~sqrt(N)/2 per slot -> ~2^-29; asserted >= 27 bits;
//! - public-key encryption runs over Q * P and divides by P, so what remains is the rounding
//!   r_0 + r_1 s: coefficient deviation ~sqrt(N / 18) (~21), slot deviation ~sqrt(N) times that
//!   (~2^11), worst slot ~4x -> ~2^-22; asserted >= 20.5 bits for fresh ciphertexts and linear
//!   operations on one, >= 20 for sums of two, products, rescales and one key switch, >= 19.5
//!   after three key switches, >= 18.5 after two products;
//! - secret-key encryption has only e (sigma 3.2): ~2^-25; asserted >= 23.5 bits;
//! - sparse packing (8, 16, 32 slots) has fewer slots to be worst in: asserted >= 25 bits.

use heaccel_verification::ckks::{
    precision_bits, Ciphertext, Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator,
    KeyGenerator, Parameters, SecretKey,
};
use heaccel_verification::{Error, KeyKind, Mismatched};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

struct Fixture {
    params: Parameters,
    sk: SecretKey,
    encoder: Encoder,
    encryptor: Encryptor<ChaCha20Rng>,
    decryptor: Decryptor,
    evaluator: Evaluator,
}

/// Whether `r` is the refusal of an unreduced word at `at` (e.g. `ciphertext part 1: limb 0
/// coefficient 5`) of value `value`.
fn is_unreduced<T>(r: &Result<T, Error>, at: &str, value: u64) -> bool {
    matches!(r, Err(Error::OutOfRange { what, value: v, .. }) if what == at && v == &value.to_string())
}

/// Whether `r` is a refusal of operands that differ in `property`.
fn is_mismatch<T>(r: &Result<T, Error>, property: Mismatched) -> bool {
    matches!(r, Err(Error::Mismatch { what, .. }) if *what == property)
}

const ROTATIONS: [i64; 7] = [1, 2, 3, 5, -1, 1024, 2048];

fn fixture(seed: u64) -> Fixture {
    let params = Parameters::preset("test-n13").unwrap();
    let mut keygen = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(seed));
    let sk = keygen.gen_secret_key();
    let pk = keygen.gen_public_key(&sk).unwrap();
    let rlk = keygen.gen_relin_key(&sk).unwrap();
    let gks = keygen.gen_galois_keys(&sk, &ROTATIONS, true).unwrap();
    Fixture {
        encoder: Encoder::new(&params),
        encryptor: Encryptor::with_rng(
            &params,
            EncryptionKey::Public(pk),
            ChaCha20Rng::seed_from_u64(seed + 1),
        )
        .unwrap(),
        decryptor: Decryptor::new(&params, &sk).unwrap(),
        evaluator: Evaluator::new(&params, Some(rlk), Some(gks)).unwrap(),
        params,
        sk,
    }
}

fn random_slots(seed: u64, n: usize) -> Vec<Complex64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| Complex64::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)))
        .collect()
}

impl Fixture {
    fn encrypt(&mut self, values: &[Complex64]) -> Ciphertext {
        let level = self.params.max_level();
        let pt = self
            .encoder
            .encode(values, level, self.params.default_scale())
            .unwrap();
        self.encryptor.encrypt(&pt).unwrap()
    }
    fn decrypt(&self, ct: &Ciphertext) -> Vec<Complex64> {
        self.encoder
            .decode(&self.decryptor.decrypt(ct).unwrap())
            .unwrap()
    }
}

fn assert_precision(what: &str, want: &[Complex64], got: &[Complex64], bits: f64) {
    let p = precision_bits(want, got);
    assert!(
        p >= bits,
        "{what}: {p:.1} bits of precision, expected at least {bits}"
    );
}

#[test]
fn encode_decode_and_encryption() {
    let mut f = fixture(1);
    let slots = f.params.max_slots();
    let z = random_slots(2, slots);
    let pt = f
        .encoder
        .encode(&z, f.params.max_level(), f.params.default_scale())
        .unwrap();
    assert_precision("encode/decode", &z, &f.encoder.decode(&pt).unwrap(), 27.0);
    let ct = f.encryptor.encrypt(&pt).unwrap();
    assert_precision("public-key encryption", &z, &f.decrypt(&ct), 20.5);
    let mut sk_enc = Encryptor::with_rng(
        &f.params,
        EncryptionKey::Secret(f.sk.clone()),
        ChaCha20Rng::seed_from_u64(9),
    )
    .unwrap();
    let ct = sk_enc.encrypt(&pt).unwrap();
    assert_precision("secret-key encryption", &z, &f.decrypt(&ct), 23.5);
    // Sparse packing: 8 slots.
    let small = random_slots(3, 8);
    let ct = f.encrypt(&small);
    assert_eq!(ct.log_slots, 3);
    assert_precision("sparse encryption", &small, &f.decrypt(&ct), 25.0);
}

#[test]
fn arithmetic_matches_plain_complex_arithmetic() {
    let mut f = fixture(3);
    let n = f.params.max_slots();
    let (x, y) = (random_slots(4, n), random_slots(5, n));
    let (cx, cy) = (f.encrypt(&x), f.encrypt(&y));
    let ev = &f.evaluator;
    let sum: Vec<_> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    assert_precision("add", &sum, &f.decrypt(&ev.add(&cx, &cy).unwrap()), 20.0);
    let diff: Vec<_> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
    assert_precision("sub", &diff, &f.decrypt(&ev.sub(&cx, &cy).unwrap()), 20.0);
    let neg: Vec<_> = x.iter().map(|a| -a).collect();
    assert_precision("neg", &neg, &f.decrypt(&ev.neg(&cx).unwrap()), 20.5);

    let level = cx.level();
    let py = f
        .encoder
        .encode(&y, level, f.params.default_scale())
        .unwrap();
    assert_precision(
        "add_plain",
        &sum,
        &f.decrypt(&ev.add_plain(&cx, &py).unwrap()),
        20.5,
    );
    let prod: Vec<_> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let pm = ev.rescale(&ev.mul_plain(&cx, &py).unwrap()).unwrap();
    assert_eq!(pm.level(), level - 1);
    assert_precision("mul_plain + rescale", &prod, &f.decrypt(&pm), 20.0);

    let c = -0.625;
    let plus: Vec<_> = x.iter().map(|a| a + c).collect();
    assert_precision(
        "add_const",
        &plus,
        &f.decrypt(&ev.add_const(&cx, c).unwrap()),
        20.5,
    );
    let times: Vec<_> = x.iter().map(|a| a * c).collect();
    let mc = ev
        .rescale(&ev.mul_const(&cx, c, f.params.default_scale()).unwrap())
        .unwrap();
    assert_precision("mul_const + rescale", &times, &f.decrypt(&mc), 20.0);

    // Degree-2 decryption, relinearization, rescale; then a second product down the chain.
    let d2 = ev.mul(&cx, &cy).unwrap();
    assert_eq!(d2.degree(), 2);
    assert_precision("mul (degree 2)", &prod, &f.decrypt(&d2), 20.0);
    let m = ev.rescale(&ev.mul_relin(&cx, &cy).unwrap()).unwrap();
    assert_eq!(m.degree(), 1);
    assert_precision("mul_relin + rescale", &prod, &f.decrypt(&m), 20.0);
    let sq = ev.rescale(&ev.mul_relin(&m, &m).unwrap()).unwrap();
    let prod2: Vec<_> = prod.iter().map(|a| a * a).collect();
    assert_precision("second mul_relin + rescale", &prod2, &f.decrypt(&sq), 18.5);
    assert_eq!(sq.level(), level - 2);
    // level drop keeps the message
    let dropped = ev.drop_level(&cx, 0).unwrap();
    assert_eq!(dropped.level(), 0);
    assert_precision("drop_level", &x, &f.decrypt(&dropped), 20.5);
}

#[test]
fn rotations_and_conjugation_move_slots() {
    let mut f = fixture(5);
    let n = f.params.max_slots();
    let x = random_slots(6, n);
    let cx = f.encrypt(&x);
    for k in ROTATIONS {
        let got = f.decrypt(&f.evaluator.rotate(&cx, k).unwrap());
        let want: Vec<_> = (0..n)
            .map(|j| x[(j as i64 + k).rem_euclid(n as i64) as usize])
            .collect();
        assert_precision(&format!("rotate {k}"), &want, &got, 20.0);
    }
    // A step without its own key, composed of power-of-two keys (1 + 2 + 1024).
    let k = 1027;
    let got = f.decrypt(&f.evaluator.rotate(&cx, k).unwrap());
    let want: Vec<_> = (0..n).map(|j| x[(j + k as usize) % n]).collect();
    assert_precision("rotate 1027 by composition", &want, &got, 19.5);
    let conj: Vec<_> = x.iter().map(|a| a.conj()).collect();
    assert_precision(
        "conjugate",
        &conj,
        &f.decrypt(&f.evaluator.conjugate(&cx).unwrap()),
        20.0,
    );
    // Sparse packing: rotation is modulo the slot count.
    let small = random_slots(7, 16);
    let cs = f.encrypt(&small);
    let got = f.decrypt(&f.evaluator.rotate(&cs, 3).unwrap());
    let want: Vec<_> = (0..16).map(|j| small[(j + 3) % 16]).collect();
    assert_precision("sparse rotate 3", &want, &got, 25.0);
    // At a lower level too.
    let low = f.evaluator.drop_level(&cx, 1).unwrap();
    let got = f.decrypt(&f.evaluator.rotate(&low, 5).unwrap());
    let want: Vec<_> = (0..n).map(|j| x[(j + 5) % n]).collect();
    assert_precision("rotate 5 at level 1", &want, &got, 20.0);
}

#[test]
fn hoisted_rotations_equal_one_by_one_bit_exactly() {
    let mut f = fixture(7);
    let x = random_slots(8, f.params.max_slots());
    let cx = f.encrypt(&x);
    let steps = [1, 2, 3, 5, -1, 0];
    let hoisted = f.evaluator.rotate_hoisted(&cx, &steps).unwrap();
    for (ct, &k) in hoisted.iter().zip(&steps) {
        assert_eq!(ct, &f.evaluator.rotate(&cx, k).unwrap(), "step {k}");
    }
    assert!(hoisted[0] != hoisted[1]);
}

#[test]
fn serialization_round_trips() {
    let mut f = fixture(9);
    let x = random_slots(10, 32);
    let ct = f.encrypt(&x);
    let json = serde_json::to_string(&ct).unwrap();
    let back: Ciphertext = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ct);
    let bytes = bincode::serialize(&ct).unwrap();
    let back: Ciphertext = bincode::deserialize(&bytes).unwrap();
    assert_eq!(back, ct);
    let params_json = serde_json::to_string(&f.params).unwrap();
    let params_back: Parameters = serde_json::from_str(&params_json).unwrap();
    assert_eq!(params_back, f.params);
    let sk_back: SecretKey = bincode::deserialize(&bincode::serialize(&f.sk).unwrap()).unwrap();
    assert_eq!(sk_back, f.sk);
    // The deserialized ciphertext still decrypts.
    assert_precision("deserialized", &x, &f.decrypt(&back), 25.0);
}

#[test]
fn seeded_switching_keys_store_half_and_expand_to_the_key() {
    use heaccel_verification::automorphism::galois_element_for_rotation;
    use heaccel_verification::ckks::{GaloisKeys, SeededSwitchingKey};
    let mut f = fixture(11);
    let g = galois_element_for_rotation(1, f.params.log_n());
    let key = KeyGenerator::with_rng(&f.params, ChaCha20Rng::seed_from_u64(13))
        .gen_galois_key(&f.sk, g)
        .unwrap();
    let seeded = key.seeded().expect("generated keys carry their seed");
    // Stored form: b_j and 32 bytes, against b_j and a_j (8 bytes a word in both).
    let words: usize = key
        .digits
        .iter()
        .flat_map(|(b, a)| [b, a])
        .flat_map(|p| p.q.limbs.iter().chain(&p.p.limbs))
        .map(Vec::len)
        .sum();
    assert_eq!(seeded.bytes(), words * 8 / 2 + 32);
    let bytes = bincode::serialize(&seeded).unwrap();
    let full = bincode::serialize(&key).unwrap();
    assert!(
        bytes.len() * 2 <= full.len() + 128,
        "{} vs {}",
        bytes.len(),
        full.len()
    );
    let back: SeededSwitchingKey = bincode::deserialize(&bytes).unwrap();
    assert_eq!(back.expand(&f.params).unwrap(), key);
    // The expanded key rotates as the original.
    let x = random_slots(12, f.params.max_slots());
    let cx = f.encrypt(&x);
    let galois = |k| GaloisKeys {
        params_id: f.params.id(),
        key_id: f.sk.key_id,
        keys: [(g, k)].into_iter().collect(),
    };
    let original = Evaluator::new(&f.params, None, Some(galois(key.clone()))).unwrap();
    let eval = Evaluator::new(
        &f.params,
        None,
        Some(galois(back.expand(&f.params).unwrap())),
    )
    .unwrap();
    assert_eq!(
        eval.rotate(&cx, 1).unwrap(),
        original.rotate(&cx, 1).unwrap()
    );
    // Another seed expands to other uniform halves: the key no longer switches.
    let mut wrong = seeded.clone();
    wrong.seed[0] ^= 1;
    let eval = Evaluator::new(
        &f.params,
        None,
        Some(galois(wrong.expand(&f.params).unwrap())),
    )
    .unwrap();
    let got = f.decrypt(&eval.rotate(&cx, 1).unwrap());
    let want: Vec<_> = (0..x.len()).map(|j| x[(j + 1) % x.len()]).collect();
    assert!(
        precision_bits(&want, &got) < 0.0,
        "a wrong seed must not decrypt"
    );
    // Under other parameters, or with a digit missing, expansion is refused.
    let other = Parameters::preset("spencnn-n14").unwrap();
    assert!(is_mismatch(&seeded.expand(&other), Mismatched::Parameters));
    let mut short = seeded;
    short.b.pop();
    let digits = short.b.len();
    assert!(matches!(
        short.expand(&f.params),
        Err(Error::Malformed { what, found, .. })
            if what == "seeded switching key" && *found == format!("{digits} digits")
    ));
}

#[test]
fn add_and_sub_into_a_reused_destination_equal_add_and_sub() {
    let mut f = fixture(13);
    let n = f.params.max_slots();
    let (cx, cy) = (
        f.encrypt(&random_slots(14, n)),
        f.encrypt(&random_slots(15, n)),
    );
    let ev = &f.evaluator;
    let d2 = ev.mul(&cx, &cx).unwrap();
    let same_scale = ev.mul_const(&cy, 1.0, cy.scale).unwrap();
    let low = ev.drop_level(&cx, 1).unwrap();
    // Destinations of every other shape: fewer and more parts, fewer limbs, and the result
    // itself (a destination reused across calls).
    let mut out = low.clone();
    for (a, b) in [
        (&cx, &cy),
        (&d2, &same_scale),
        (&same_scale, &d2),
        (&cy, &cx),
        (&cy, &cx),
        (&low, &low),
        (&cx, &cy),
    ] {
        ev.add_into(a, b, &mut out).unwrap();
        assert_eq!(out, ev.add(a, b).unwrap());
        ev.sub_into(a, b, &mut out).unwrap();
        assert_eq!(out, ev.sub(a, b).unwrap());
    }
    // A refused operation leaves the destination as it was.
    let before = out.clone();
    assert!(is_mismatch(
        &ev.add_into(&cx, &low, &mut out),
        Mismatched::Level
    ));
    let mut bad_d2 = d2.clone();
    bad_d2.parts[2].limbs[0][1] = u64::MAX;
    assert!(is_unreduced(
        &ev.sub_into(&same_scale, &bad_d2, &mut out),
        "ciphertext part 2: limb 0 coefficient 1",
        u64::MAX
    ));
    assert_eq!(out, before);
    // An unreduced word in a common part is an error too.
    let mut bad = cx.clone();
    *bad.parts[1].limbs[0].last_mut().unwrap() = u64::MAX;
    let at = format!("ciphertext part 1: limb 0 coefficient {}", f.params.n() - 1);
    assert!(is_unreduced(
        &ev.add_into(&cy, &bad, &mut out),
        &at,
        u64::MAX
    ));
}

#[test]
fn misuse_is_an_error_not_garbage() {
    let mut f = fixture(11);
    let x = random_slots(12, f.params.max_slots());
    let cx = f.encrypt(&x);
    let ev = &f.evaluator;
    // mismatched levels
    let low = ev.drop_level(&cx, 1).unwrap();
    let err = ev.add(&cx, &low).unwrap_err();
    assert!(
        matches!(&err, Error::Mismatch { operation, what: Mismatched::Level, found, expected }
            if operation == "add" && found == &cx.level().to_string() && expected == "1"),
        "{err}"
    );
    assert!(is_mismatch(&ev.mul(&cx, &low), Mismatched::Level));
    // mismatched scales
    let scaled = ev.mul_const(&cx, 1.0, 2.0).unwrap();
    assert!(is_mismatch(&ev.add(&cx, &scaled), Mismatched::Scale));
    // rescale below level 0
    let bottom = ev.drop_level(&cx, 0).unwrap();
    let err = ev.rescale(&bottom).unwrap_err();
    assert!(
        matches!(&err, Error::Level { level: 0, allowed, .. } if *allowed.start() == 1),
        "{err}"
    );
    assert!(err.to_string().starts_with("level underflow"), "{err}");
    // dropping to a higher level
    let err = ev.drop_level(&low, 2).unwrap_err();
    assert!(
        matches!(&err, Error::Level { level: 1, allowed, .. } if *allowed.start() == 2),
        "{err}"
    );
    // missing keys
    assert!(matches!(
        ev.rotate(&cx, 7),
        Err(Error::MissingKey {
            key: KeyKind::Rotation(7),
            ..
        })
    ));
    let no_keys = Evaluator::new(&f.params, None, None).unwrap();
    let d2 = ev.mul(&cx, &cx).unwrap();
    assert!(matches!(
        no_keys.relinearize(&d2),
        Err(Error::MissingKey {
            key: KeyKind::Relinearization,
            ..
        })
    ));
    assert!(matches!(
        no_keys.conjugate(&cx),
        Err(Error::MissingKey {
            key: KeyKind::Conjugation,
            ..
        })
    ));
    // a degree-2 operand where degree 1 is taken
    assert!(is_mismatch(&ev.mul(&d2, &cx), Mismatched::Degree));
    // a wrong secret key (same parameters, other key set)
    let mut other = KeyGenerator::with_rng(&f.params, ChaCha20Rng::seed_from_u64(99));
    let other_sk = other.gen_secret_key();
    let wrong = Decryptor::new(&f.params, &other_sk).unwrap();
    assert!(is_mismatch(&wrong.decrypt(&cx), Mismatched::KeySet));
    let other_rlk = other.gen_relin_key(&other_sk).unwrap();
    let other_ev = Evaluator::new(&f.params, Some(other_rlk), None).unwrap();
    assert!(is_mismatch(&other_ev.relinearize(&d2), Mismatched::KeySet));
    // a ciphertext from other parameters
    let params2 = Parameters::preset("n14-ks").unwrap();
    let ev2 = Evaluator::new(&params2, None, None).unwrap();
    assert!(is_mismatch(&ev2.add(&cx, &cx), Mismatched::Parameters));
    // a tampered ciphertext: unreduced coefficient, missing limb, wrong part count
    let mut bad = cx.clone();
    bad.parts[1].limbs[0][5] = u64::MAX;
    assert!(is_unreduced(
        &ev.add(&bad, &cx),
        "ciphertext part 1: limb 0 coefficient 5",
        u64::MAX
    ));
    // in either operand, at the last word of the last limb, for every checked-in-pass operation
    let mut bad = cx.clone();
    let last = bad.parts[0].limbs.last_mut().unwrap();
    let q = f.params.q_moduli(cx.level()).last().unwrap().value();
    *last.last_mut().unwrap() = q;
    let at = format!(
        "ciphertext part 0: limb {} coefficient {}",
        cx.level(),
        f.params.n() - 1
    );
    assert!(is_unreduced(&ev.sub(&cx, &bad), &at, q));
    assert!(is_unreduced(&ev.add(&cx, &bad), &at, q));
    let pt = f
        .encoder
        .encode(&x, cx.level(), f.params.default_scale())
        .unwrap();
    assert!(is_unreduced(&ev.mul_plain(&bad, &pt), &at, q));
    let mut bad_pt = pt.clone();
    bad_pt.poly.limbs[0][0] = u64::MAX;
    assert!(is_unreduced(
        &ev.mul_plain(&cx, &bad_pt),
        "plaintext: limb 0 coefficient 0",
        u64::MAX
    ));
    // the third part of a degree-2 operand, which add copies rather than adds
    let mut bad_d2 = ev.mul(&cx, &cx).unwrap();
    bad_d2.parts[2].limbs[0][1] = u64::MAX;
    let same_scale = ev.mul_const(&cx, 1.0, cx.scale).unwrap();
    assert!(ev.add(&ev.mul(&cx, &cx).unwrap(), &same_scale).is_ok());
    let at = "ciphertext part 2: limb 0 coefficient 1";
    assert!(is_unreduced(&ev.add(&bad_d2, &same_scale), at, u64::MAX));
    assert!(is_unreduced(&ev.sub(&same_scale, &bad_d2), at, u64::MAX));
    let mut bad = cx.clone();
    bad.parts[1].limbs.pop();
    assert!(ev.add(&bad, &bad).is_err());
    let mut bad = cx.clone();
    bad.parts.truncate(1);
    assert!(matches!(
        ev.neg(&bad),
        Err(Error::Malformed { what, found, expected })
            if what == "ciphertext" && found == "1 parts" && expected == "2 or 3 parts"
    ));
    // malformed serialized input
    let text = serde_json::to_string(&cx)
        .unwrap()
        .replacen("\"scale\"", "\"scael\"", 1);
    assert!(serde_json::from_str::<Ciphertext>(&text).is_err());
    // bad encoder input
    assert!(f.encoder.encode(&x[..3], 0, 1024.0).is_err());
    assert!(f.encoder.encode(&x, 99, 1024.0).is_err());
    assert!(f
        .encoder
        .encode(&[Complex64::new(f64::INFINITY, 0.0)], 0, 1024.0)
        .is_err());
}

/// Key switching adds noise of the analytic size and no bias: with centered digits and a
/// rounding ModDown, the added coefficients are dominated by the rounding error times `s`,
/// rms ~ sqrt(N/18) ~ 2^4.4 at N = 2^13, mean ~0 (std ~0.23). Uncentered digits gave means of
/// 3.5 and -16.5 here and ~2 bits less slot precision at N = 2^14.
#[test]
fn key_switching_noise_is_small_and_unbiased() {
    use heaccel_verification::automorphism::ntt_index_map;
    use heaccel_verification::rns::RnsBasis;
    let f = fixture(13);
    let params = &f.params;
    let x: Vec<f64> = (0..params.max_slots())
        .map(|i| (i as f64 * 0.37).sin())
        .collect();
    let mut enc = Encryptor::with_rng(
        params,
        EncryptionKey::Secret(f.sk.clone()),
        ChaCha20Rng::seed_from_u64(2),
    )
    .unwrap();
    let ct = enc
        .encrypt(
            &f.encoder
                .encode_real(&x, params.max_level(), params.default_scale())
                .unwrap(),
        )
        .unwrap();
    let tables = &params.q_tables()[..=ct.level()];
    let basis = RnsBasis::new(&params.q_moduli(ct.level())).unwrap();
    let n = params.n() as f64;
    for g in [5u64, 2 * params.n() as u64 - 1] {
        let mut got = f
            .decryptor
            .decrypt(&f.evaluator.automorphism(&ct, g).unwrap())
            .unwrap()
            .poly;
        let idx = ntt_index_map(g, params.log_n()).unwrap();
        let mut want = f
            .decryptor
            .decrypt(&ct)
            .unwrap()
            .poly
            .automorphism(g, &idx, tables)
            .unwrap();
        got.intt(tables);
        want.intt(tables);
        got.sub_assign(&want, tables);
        let (mut sum, mut sum2) = (0.0, 0.0);
        for k in 0..params.n() {
            let res: Vec<u64> = got.limbs.iter().map(|l| l[k]).collect();
            let v = basis.compose_centered_f64(&res);
            sum += v;
            sum2 += v * v;
        }
        let (mean, rms) = (sum / n, (sum2 / n).sqrt());
        assert!(
            rms < 32.0,
            "g = {g}: key-switching noise rms {rms:.1} above 2^5"
        );
        assert!(
            mean.abs() < 2.0,
            "g = {g}: key-switching noise mean {mean:.2} is biased"
        );
    }
}
