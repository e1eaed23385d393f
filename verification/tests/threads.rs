//! The evaluator's parallel loops are bit-exact: every operation gives the same words on one
//! thread as on several (each output word is computed by the same operations whatever the
//! split). Keys and inputs come from seeded RNGs, so both runs see identical operands.

use heaccel_verification::ckks::{
    Ciphertext, Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, KeyGenerator, Parameters,
};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

/// Every operation that has a parallel loop, on fixed operands: its outputs in order, the
/// encoded plaintext's words and the decoding (with the secret key) of a product.
fn run_all(params: &Parameters, seed: u64) -> (Vec<Ciphertext>, Vec<Vec<u64>>, Vec<Complex64>) {
    let mut keygen = KeyGenerator::with_rng(params, ChaCha20Rng::seed_from_u64(seed));
    let sk = keygen.gen_secret_key();
    let pk = keygen.gen_public_key(&sk).unwrap();
    let rlk = keygen.gen_relin_key(&sk).unwrap();
    let steps = [1i64, 3, -2, 17];
    let gks = keygen.gen_galois_keys(&sk, &steps, true).unwrap();
    let encoder = Encoder::new(params);
    let mut encryptor = Encryptor::with_rng(
        params,
        EncryptionKey::Public(pk),
        ChaCha20Rng::seed_from_u64(seed + 1),
    )
    .unwrap();
    let ev = Evaluator::new(params, Some(rlk), Some(gks)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 2);
    let values: Vec<Complex64> = (0..params.max_slots())
        .map(|_| Complex64::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)))
        .collect();
    let level = params.max_level();
    let pt = encoder
        .encode(&values, level, params.default_scale())
        .unwrap();
    let a = encryptor.encrypt(&pt).unwrap();
    let b = encryptor.encrypt(&pt).unwrap();
    let prod = ev.mul_relin(&a, &b).unwrap();
    let mut out = vec![
        a.clone(),
        ev.add(&a, &b).unwrap(),
        ev.sub(&a, &b).unwrap(),
        ev.mul_plain(&a, &pt).unwrap(),
        ev.mul(&a, &b).unwrap(),
        prod.clone(),
        ev.rescale(&prod).unwrap(),
        ev.rotate(&a, 3).unwrap(),
        ev.rotate(&a, -2).unwrap(),
        ev.conjugate(&a).unwrap(),
        ev.mul_const(&a, 0.75, 1024.0).unwrap(),
        ev.neg(&a).unwrap(),
    ];
    out.extend(ev.rotate_hoisted(&a, &steps).unwrap());
    let decryptor = Decryptor::new(params, &sk).unwrap();
    let decoded = encoder
        .decode(&decryptor.decrypt(&ev.rescale(&prod).unwrap()).unwrap())
        .unwrap();
    (out, pt.poly.limbs.clone(), decoded)
}

#[test]
fn one_thread_and_several_give_the_same_words() {
    let params = Parameters::preset("test-n13").unwrap();
    let pool = |k: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(k)
            .build()
            .unwrap()
    };
    let (single, single_pt, single_dec) = pool(1).install(|| run_all(&params, 5));
    for k in [2, 3] {
        let (multi, multi_pt, multi_dec) = pool(k).install(|| run_all(&params, 5));
        assert!(single_pt == multi_pt, "encoding differs on {k} threads");
        assert!(
            single_dec
                .iter()
                .zip(&multi_dec)
                .all(|(a, b)| a.re.to_bits() == b.re.to_bits() && a.im.to_bits() == b.im.to_bits()),
            "decoding differs on {k} threads"
        );
        assert_eq!(single.len(), multi.len());
        for (i, (s, m)) in single.iter().zip(&multi).enumerate() {
            assert_eq!(s.parts.len(), m.parts.len(), "output {i}, {k} threads");
            for (ps, pm) in s.parts.iter().zip(&m.parts) {
                assert!(ps.limbs == pm.limbs, "output {i} differs on {k} threads");
            }
            assert_eq!(s.scale, m.scale);
        }
    }
}
