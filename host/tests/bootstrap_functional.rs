//! Bootstrapping on the accelerator's functional executor, word for word against the
//! reference bootstrapping, on the insecure `boot-test` preset (N = 2^12; opted into for this
//! test only).

use heaccel_host::funcexec::prime_table_program;
use heaccel_host::funcops::FunctionalOps;
use heaccel_verification::bootstrap::{BootstrapConfig, Bootstrapper};
use heaccel_verification::ckks::ops::Recorder;
use heaccel_verification::ckks::{
    preset, Encoder, EncryptionKey, Encryptor, Evaluator, KeyGenerator,
};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

#[test]
fn functional_bootstrapping_is_the_reference_word_for_word() {
    let mut lit = preset("boot-test").unwrap();
    lit.allow_insecure = true;
    let params = lit.build().unwrap();
    // Sparse packing (2^7 slots: SubSum, the [Re, Im] trick) and full packing (2^11 slots:
    // the conjugation trick, two EvalMods).
    for log_slots in [7, params.log_n() - 1] {
        let config = BootstrapConfig::default_for(&params, log_slots).unwrap();
        let boot = Bootstrapper::new(&params, &config).unwrap();
        let mut kg = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(1));
        let sk = kg.gen_secret_key();
        let relin = kg.gen_relin_key(&sk).unwrap();
        let mut galois = kg.gen_galois_keys(&sk, &[], false).unwrap();
        for &g in boot.galois_elements() {
            galois.keys.insert(g, kg.gen_galois_key(&sk, g).unwrap());
        }
        let eval = Evaluator::new(&params, Some(relin.clone()), Some(galois.clone())).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let values: Vec<Complex64> = (0..1usize << log_slots)
            .map(|_| Complex64::new(rng.gen_range(-1.0..=1.0), rng.gen_range(-1.0..=1.0)))
            .collect();
        let pt = Encoder::new(&params)
            .encode(&values, 0, boot.max_input_scale())
            .unwrap();
        let mut enc = Encryptor::with_rng(
            &params,
            EncryptionKey::Secret(sk.clone()),
            ChaCha20Rng::seed_from_u64(3),
        )
        .unwrap();
        let ct = enc.encrypt(&pt).unwrap();

        let recorder = Recorder::new(&eval);
        let (want, _) = boot.bootstrap_with(&recorder, &ct).unwrap();
        let reference_trace = recorder.into_trace();

        let template = prime_table_program(&params).unwrap();
        let ops = FunctionalOps::new(&template, &params, Some(&relin), &galois).unwrap();
        let (got, _) = boot.bootstrap_with(&ops, &ct).unwrap();
        assert_eq!(got.level(), boot.level_after());
        assert_eq!(got.scale, want.scale);
        assert!(
            got == want,
            "2^{log_slots} slots: the functional result differs"
        );
        let stats = ops.stats();
        assert_eq!(ops.into_trace(), reference_trace);
        assert_eq!(stats.programs, reference_trace.len());
        eprintln!(
            "2^{log_slots} slots: {} programs, {} instructions, bit-exact",
            stats.programs, stats.instructions
        );
    }
}
