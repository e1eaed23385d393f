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

#[test]
fn simulated_bootstrapping_costs_every_stage() {
    use heaccel_host::bootsim::{bootstrap_trace, fit_to_words, simulate_bootstrap};
    use heaccel_verification::ckks::ops::{OpRecord, TracedOp};
    let mut lit = preset("boot-test").unwrap();
    lit.allow_insecure = true;
    let mut times = Vec::new();
    for config in ["asic", "fpga-u280"] {
        let hw = heaccel_sim::HwConfig::preset(config).unwrap();
        let sim = simulate_bootstrap(&lit, 11, &hw).unwrap();
        assert!(
            sim.primes_capped,
            "61-bit primes do not fit {config}'s words"
        );
        assert_eq!(sim.prime_bits, hw.word_bits - 2);
        assert_eq!((sim.level_top, sim.levels_after), (17, 2));
        // The capped set has the reference set's key switches and transforms; EvalMod may
        // align a few more scales (a constant product and a rescale each).
        let (_, reference) = bootstrap_trace(&lit.build().unwrap(), None, 11).unwrap();
        let fitted = fit_to_words(&lit, hw.word_bits).unwrap().build().unwrap();
        let (_, capped) = bootstrap_trace(&fitted, None, 11).unwrap();
        let outside = |t: &[TracedOp]| -> Vec<TracedOp> {
            t.iter()
                .filter(|o| o.stage != "eval_mod")
                .cloned()
                .collect()
        };
        assert_eq!(outside(&capped), outside(&reference));
        let switches = |t: &[TracedOp]| {
            t.iter()
                .filter(|o| {
                    matches!(
                        o.op,
                        OpRecord::MulRelin { .. } | OpRecord::Automorphisms { .. }
                    )
                })
                .count()
        };
        assert_eq!(switches(&capped), switches(&reference));
        assert!(
            capped.len() <= reference.len() + 16,
            "{} vs {}",
            capped.len(),
            reference.len()
        );
        assert_eq!(sim.ops, capped.len());
        let names: Vec<&str> = sim.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["mod_raise", "coeff_to_slot", "eval_mod", "slot_to_coeff"]
        );
        for s in &sim.stages {
            assert!(s.time_us > 0.0 && s.offchip_bytes > 0, "{config}: {s:?}");
            let shares: f64 = s.time_by_bound.values().sum();
            assert!((shares - s.time_us).abs() <= 1e-9 * s.time_us.max(1.0));
        }
        // as one program: the same operations, faster than one by one, every key and
        // diagonal read at least once
        let w = &sim.whole_program;
        assert_eq!(w.operations, sim.ops, "{config}");
        assert_eq!(w.bootstrappings, 1);
        assert!(
            w.time_us < sim.time_us,
            "{config}: {} vs {}",
            w.time_us,
            sim.time_us
        );
        assert!(w.offchip_bytes >= w.offchip_lower_bound_bytes && w.offchip_lower_bound_bytes > 0);
        assert!(w.offchip_bytes < sim.offchip_bytes, "{config}");
        times.push(sim.time_us);
    }
    // The ASIC preset (1 GHz, 1 TB/s) is faster than the FPGA one (300 MHz, 460 GB/s).
    assert!(times[0] < times[1], "{times:?}");
}
