//! CKKS operation benchmarks, single thread. Ids: `ckks/<op>/<preset>`.
//!
//! `spencnn-n14` is the parameter set of the SEAL comparison in the README (N = 2^14,
//! 33 + 12 x 31-bit primes, one 33-bit special prime, dnum 13): run
//! `cargo bench -p heaccel-verification --bench ckks` beside `python3 bench/seal_baseline.py`.

use criterion::{criterion_group, BatchSize, Criterion};
use heaccel_verification::ckks::{
    Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, KeyGenerator, Parameters,
};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

fn bench_preset(c: &mut Criterion, preset: &str) {
    let params = Parameters::preset(preset).unwrap();
    let mut keygen = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(1));
    let sk = keygen.gen_secret_key();
    let pk = keygen.gen_public_key(&sk).unwrap();
    let rlk = keygen.gen_relin_key(&sk).unwrap();
    let steps: Vec<i64> = (1..=8).collect();
    let gks = keygen.gen_galois_keys(&sk, &steps, true).unwrap();
    let encoder = Encoder::new(&params);
    let mut encryptor = Encryptor::with_rng(
        &params,
        EncryptionKey::Public(pk),
        ChaCha20Rng::seed_from_u64(2),
    )
    .unwrap();
    let decryptor = Decryptor::new(&params, &sk).unwrap();
    let evaluator = Evaluator::new(&params, Some(rlk), Some(gks)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let values: Vec<Complex64> = (0..params.max_slots())
        .map(|_| Complex64::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)))
        .collect();
    let level = params.max_level();
    let scale = params.default_scale();
    let pt = encoder.encode(&values, level, scale).unwrap();
    let ct = encryptor.encrypt(&pt).unwrap();
    let ct2 = encryptor.encrypt(&pt).unwrap();
    let product = evaluator.mul_relin(&ct, &ct2).unwrap();

    let mut g = c.benchmark_group("ckks");
    g.sample_size(10);
    g.bench_function(format!("encode/{preset}"), |b| {
        b.iter(|| encoder.encode(&values, level, scale).unwrap())
    });
    g.bench_function(format!("encrypt/{preset}"), |b| {
        b.iter(|| encryptor.encrypt(&pt).unwrap())
    });
    g.bench_function(format!("add/{preset}"), |b| {
        b.iter(|| evaluator.add(&ct, &ct2).unwrap())
    });
    g.bench_function(format!("pmult/{preset}"), |b| {
        b.iter(|| evaluator.mul_plain(&ct, &pt).unwrap())
    });
    g.bench_function(format!("hmult_relin/{preset}"), |b| {
        b.iter(|| evaluator.mul_relin(&ct, &ct2).unwrap())
    });
    g.bench_function(format!("rescale/{preset}"), |b| {
        b.iter_batched(
            || product.clone(),
            |p| evaluator.rescale(&p).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.bench_function(format!("rotate/{preset}"), |b| {
        b.iter(|| evaluator.rotate(&ct, 1).unwrap())
    });
    g.bench_function(format!("conjugate/{preset}"), |b| {
        b.iter(|| evaluator.conjugate(&ct).unwrap())
    });
    g.bench_function(format!("rotate_8_one_by_one/{preset}"), |b| {
        b.iter(|| {
            steps
                .iter()
                .map(|&s| evaluator.rotate(&ct, s).unwrap())
                .collect::<Vec<_>>()
        })
    });
    g.bench_function(format!("rotate_8_hoisted/{preset}"), |b| {
        b.iter(|| evaluator.rotate_hoisted(&ct, &steps).unwrap())
    });
    g.bench_function(format!("decrypt_decode/{preset}"), |b| {
        b.iter(|| encoder.decode(&decryptor.decrypt(&ct).unwrap()).unwrap())
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    heaccel_verification::memory::keep_freed_memory();
    println!(
        "threads: {} (RAYON_NUM_THREADS sets it)",
        heaccel_verification::threads::current_threads()
    );
    bench_preset(c, "spencnn-n14");
}

criterion_group!(ckks, benches);

/// `criterion_main!`, run on a pool thread (RAYON_NUM_THREADS threads, default one per core) so
/// that with one thread every parallel loop runs inline rather than being handed to a worker.
fn main() {
    heaccel_verification::threads::run_in_pool(None, || {
        ckks();
        criterion::Criterion::default()
            .configure_from_args()
            .final_summary();
    })
    .expect("a thread pool");
}
