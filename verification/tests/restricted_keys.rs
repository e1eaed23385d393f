//! Switching keys restricted to the low levels (`SwitchingKey::restricted`): bit for bit the
//! whole key's results at every level they serve, a clear error above, and validation that
//! takes both shapes and nothing else.

use heaccel_verification::automorphism::galois_element_for_rotation;
use heaccel_verification::ckks::{
    preset, Encoder, EncryptionKey, Encryptor, Evaluator, GaloisKeys, KeyGenerator, RelinKey,
};
use heaccel_verification::{Error, KeyKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

#[test]
fn a_restricted_key_switches_bit_for_bit_like_the_whole_key() {
    // n14-ks: 8 primes (L = 7), digits of 2 primes, two special primes
    let params = preset("n14-ks").unwrap().build().unwrap();
    assert_eq!(params.max_level(), 7);
    let mut kg = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(1));
    let sk = kg.gen_secret_key();
    let relin = kg.gen_relin_key(&sk).unwrap();
    let whole = kg.gen_galois_keys(&sk, &[3], false).unwrap();
    let g = galois_element_for_rotation(3, params.log_n());
    let restrict = |level: usize| {
        let mut keys = GaloisKeys {
            keys: Default::default(),
            ..whole.clone()
        };
        keys.keys
            .insert(g, whole.keys[&g].restricted(&params, level).unwrap());
        keys
    };
    let full_eval = Evaluator::new(&params, Some(relin.clone()), Some(whole.clone())).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let values: Vec<f64> = (0..params.max_slots())
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    let encoder = Encoder::new(&params);
    let mut enc = Encryptor::with_rng(
        &params,
        EncryptionKey::Secret(sk.clone()),
        ChaCha20Rng::seed_from_u64(3),
    )
    .unwrap();
    for restricted_to in [0, 2, 3, 6] {
        let key = whole.keys[&g].restricted(&params, restricted_to).unwrap();
        assert_eq!(key.max_level(), restricted_to);
        assert_eq!(key.digits.len(), (restricted_to + 1).div_ceil(2));
        assert!(key.seeded().is_none());
        let eval = Evaluator::new(&params, Some(relin.clone()), Some(restrict(restricted_to)))
            .expect("a restricted key validates");
        for level in [0, restricted_to / 2, restricted_to] {
            let pt = encoder
                .encode_real(&values, level, params.default_scale())
                .unwrap();
            let ct = enc.encrypt(&pt).unwrap();
            assert_eq!(
                eval.rotate(&ct, 3).unwrap(),
                full_eval.rotate(&ct, 3).unwrap(),
                "key to level {restricted_to}, ciphertext at level {level}"
            );
            assert_eq!(
                eval.rotate_hoisted(&ct, &[3]).unwrap(),
                full_eval.rotate_hoisted(&ct, &[3]).unwrap()
            );
        }
        // above its levels: refused, naming them
        let pt = encoder
            .encode_real(&values, restricted_to + 1, params.default_scale())
            .unwrap();
        let ct = enc.encrypt(&pt).unwrap();
        let err = eval.rotate(&ct, 3).unwrap_err();
        assert!(
            matches!(&err, Error::MissingKey { key: KeyKind::ForLevel(level), detail, .. }
                if *level == restricted_to + 1
                    && detail.contains(&format!("serves levels up to {restricted_to}"))),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("serves levels up to {restricted_to}")),
            "{err}"
        );
    }
    assert!(whole.keys[&g].restricted(&params, 8).is_err());
}

#[test]
fn validation_takes_whole_and_restricted_shapes_only() {
    let params = preset("n14-ks").unwrap().build().unwrap();
    let mut kg = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(4));
    let sk = kg.gen_secret_key();
    let relin = kg.gen_relin_key(&sk).unwrap();
    let key = relin.key.restricted(&params, 4).unwrap();
    key.validate(&params, "key").unwrap();
    // one digit too few for its limbs
    let mut short = key.clone();
    short.digits.pop();
    let err = short.validate(&params, "key").unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { what, found, expected }
            if what == "key" && found == "2 digits" && expected == "3 digits for levels up to 4"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("expected 3 digits for levels up to 4"),
        "{err}"
    );
    // a digit with a limb missing
    let mut ragged = key.clone();
    ragged.digits[1].0.q.limbs.pop();
    assert!(ragged.validate(&params, "key").is_err());
    // a restricted relinearization key multiplies at its levels and refuses above
    let restricted_relin = RelinKey {
        key: relin.key.restricted(&params, 2).unwrap(),
    };
    let eval = Evaluator::new(&params, Some(restricted_relin), None).unwrap();
    let whole = Evaluator::new(&params, Some(relin), None).unwrap();
    let encoder = Encoder::new(&params);
    let mut enc = Encryptor::with_rng(
        &params,
        EncryptionKey::Secret(sk),
        ChaCha20Rng::seed_from_u64(5),
    )
    .unwrap();
    let ct2 = enc
        .encrypt(
            &encoder
                .encode_real(&[0.5; 8], 2, params.default_scale())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        eval.mul_relin(&ct2, &ct2).unwrap(),
        whole.mul_relin(&ct2, &ct2).unwrap()
    );
    let ct3 = enc
        .encrypt(
            &encoder
                .encode_real(&[0.5; 8], 3, params.default_scale())
                .unwrap(),
        )
        .unwrap();
    let err = eval.mul_relin(&ct3, &ct3).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingKey {
                key: KeyKind::ForLevel(3),
                ..
            }
        ),
        "{err}"
    );
}
