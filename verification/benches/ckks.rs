//! CKKS operation benchmarks. Ids: `ckks/<op>/<set>`. Threads: `RAYON_NUM_THREADS` (default
//! one per core; 1 for single-thread figures).
//!
//! `spencnn-n14` is the parameter set of the SEAL comparison in docs/RESULTS.md (N = 2^14,
//! 33 + 12 x 31-bit primes, one 33-bit special prime, dnum 13); `HEACCEL_BENCH_PARAMS=FILE`
//! (a `.toml` or `.json` literal) adds a set named after the file's stem, with one rotation key
//! (the eight-rotation benchmarks are left out there). `bash bench/compare_seal.sh` runs both
//! beside `bench/seal_baseline.py`.

/// The `heaccel` command's allocator (heaccel_verification::memory says why), so the figures
/// are the command's.
#[global_allocator]
static ALLOCATOR: heaccel_verification::memory::Allocator = heaccel_verification::memory::Allocator;

use criterion::{criterion_group, BatchSize, Criterion};
use heaccel_verification::ckks::{
    Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, KeyGenerator, Parameters,
    ParametersLiteral,
};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

fn bench_preset(c: &mut Criterion, preset: &str, params: &Parameters, many_rotations: bool) {
    for line in heaccel_verification::ckks::kernels::KernelReport::of(params).summary() {
        println!("kernels of {preset}: {line}");
    }
    let mut keygen = KeyGenerator::with_rng(params, ChaCha20Rng::seed_from_u64(1));
    let sk = keygen.gen_secret_key();
    let pk = keygen.gen_public_key(&sk).unwrap();
    let rlk = keygen.gen_relin_key(&sk).unwrap();
    let steps: Vec<i64> = if many_rotations {
        (1..=8).collect()
    } else {
        vec![1]
    };
    let gks = keygen.gen_galois_keys(&sk, &steps, true).unwrap();
    let encoder = Encoder::new(params);
    let mut encryptor = Encryptor::with_rng(
        params,
        EncryptionKey::Public(pk),
        ChaCha20Rng::seed_from_u64(2),
    )
    .unwrap();
    let decryptor = Decryptor::new(params, &sk).unwrap();
    let evaluator = Evaluator::new(params, Some(rlk), Some(gks)).unwrap();
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
        // Into a destination reused across iterations, as SEAL's baseline times
        // `add(ct, ct, dst)` (bench/seal_baseline.py).
        let mut dst = ct.clone();
        b.iter(|| evaluator.add_into(&ct, &ct2, &mut dst).unwrap())
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
    if many_rotations {
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
    }
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
    let n14 = Parameters::preset("spencnn-n14").unwrap();
    bench_preset(c, "spencnn-n14", &n14, true);
    if let Ok(path) = std::env::var("HEACCEL_BENCH_PARAMS") {
        let path = std::path::Path::new(&path);
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("HEACCEL_BENCH_PARAMS {}: {e}", path.display()));
        let literal = if path.extension().is_some_and(|e| e == "json") {
            ParametersLiteral::from_json(&text)
        } else {
            ParametersLiteral::from_toml(&text)
        };
        let params = literal
            .and_then(|l| l.build())
            .unwrap_or_else(|e| panic!("HEACCEL_BENCH_PARAMS {}: {e}", path.display()));
        let name = path
            .file_stem()
            .map_or("params".into(), |s| s.to_string_lossy());
        bench_preset(c, &name, &params, false);
    }
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
