//! `heaccel ckks report`: makes keys, runs every CKKS operation once on random slots, and
//! reports each operation's time and its precision against plain complex arithmetic.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use heaccel_verification::ckks::{
    precision_bits, Ciphertext, Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator,
    KeyGenerator, Parameters,
};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The parameter summary of a report.
#[derive(Debug, Clone, Serialize)]
pub struct ParamsSummary {
    /// `log2(N)`.
    pub log_n: u32,
    /// `log2(P * Q)`, one decimal.
    pub log_pq: f64,
    /// Number of rescales available: `L`.
    pub levels: usize,
    /// Key-switching digits.
    pub dnum: usize,
    /// Highest HE-standard security level met (128, 192 or 256), `null` when below 128.
    pub security_bits: Option<u32>,
}

/// One operation's time and precision.
#[derive(Debug, Clone, Serialize)]
pub struct OpReport {
    /// Operation name (encode, encrypt, add, pmult, hmult_relin, rescale, rotate, conjugate,
    /// decrypt_decode).
    pub name: String,
    /// Wall-clock milliseconds, single thread: the median of the timed runs after a warm-up.
    pub ms: f64,
    /// `-log2` of the worst slot error against plain complex arithmetic.
    pub precision_bits: f64,
}

/// The whole report; its JSON form is the `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct CkksReport {
    /// Parameters.
    pub params: ParamsSummary,
    /// Operations in the order they ran.
    pub ops: Vec<OpReport>,
    /// Milliseconds to generate the secret, public, relinearization and two Galois keys.
    #[serde(skip)]
    pub keygen_ms: f64,
    /// Where the parameters came from (preset name or file).
    #[serde(skip)]
    pub source: String,
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64() * 1e3)
}

/// Runs `f` once to warm up, then `reps` more times; returns the last result and the median
/// time in milliseconds.
fn timed_median<T>(reps: usize, mut f: impl FnMut() -> T) -> (T, f64) {
    let mut out = f();
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let (o, ms) = timed(&mut f);
            out = o;
            ms
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (out, times[times.len() / 2])
}

/// Runs the report on `params` with slot values drawn from `seed` (keys always come from the
/// operating system's entropy); each operation is timed as the median of `reps` runs after
/// one warm-up run.
pub fn run(params: &Parameters, source: &str, seed: u64, reps: usize) -> Result<CkksReport> {
    let n = params.max_slots();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut slots = || -> Vec<Complex64> {
        (0..n)
            .map(|_| Complex64::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)))
            .collect()
    };
    let (x, y) = (slots(), slots());

    let (keys, keygen_ms) = timed(|| -> Result<_> {
        let mut keygen = KeyGenerator::new(params);
        let sk = keygen.gen_secret_key();
        let pk = keygen.gen_public_key(&sk)?;
        let rlk = keygen.gen_relin_key(&sk)?;
        let gks = keygen.gen_galois_keys(&sk, &[1], true)?;
        Ok((sk, pk, rlk, gks))
    });
    let (sk, pk, rlk, gks) = keys?;
    let encoder = Encoder::new(params);
    let mut encryptor = Encryptor::new(params, EncryptionKey::Public(pk))?;
    let decryptor = Decryptor::new(params, &sk)?;
    let evaluator = Evaluator::new(params, Some(rlk), Some(gks))?;
    let level = params.max_level();
    let scale = params.default_scale();
    let decrypt = |ct: &Ciphertext| -> Result<Vec<Complex64>> {
        Ok(encoder.decode(&decryptor.decrypt(ct)?)?)
    };
    let mut ops = Vec::new();
    let mut record = |name: &str, ms: f64, want: &[Complex64], got: &[Complex64]| {
        ops.push(OpReport {
            name: name.into(),
            ms,
            precision_bits: precision_bits(want, got),
        })
    };

    let (px, ms) = timed_median(reps, || encoder.encode(&x, level, scale));
    let px = px?;
    record("encode", ms, &x, &encoder.decode(&px)?);
    let (cx, ms) = timed_median(reps, || encryptor.encrypt(&px));
    let cx = cx?;
    record("encrypt", ms, &x, &decrypt(&cx)?);
    let cy = encryptor.encrypt(&encoder.encode(&y, level, scale)?)?;
    let py = encoder.encode(&y, level, scale)?;

    let sum: Vec<_> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    let prod: Vec<_> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    // Into a destination kept across calls, as SEAL's baseline times `Evaluator.add(a, b,
    // dst)` (bench/seal_baseline.py): a fresh 2 x (L + 1) x N-word result per call would time
    // the kernel's page faults rather than the addition.
    let mut dst = cx.clone();
    let (added, ms) = timed_median(reps, || evaluator.add_into(&cx, &cy, &mut dst));
    added?;
    record("add", ms, &sum, &decrypt(&dst)?);
    let (c, ms) = timed_median(reps, || evaluator.mul_plain(&cx, &py));
    record("pmult", ms, &prod, &decrypt(&c?)?);
    let (c, ms) = timed_median(reps, || evaluator.mul_relin(&cx, &cy));
    let c = c?;
    record("hmult_relin", ms, &prod, &decrypt(&c)?);
    let (r, ms) = timed_median(reps, || evaluator.rescale(&c));
    record("rescale", ms, &prod, &decrypt(&r?)?);
    let rotated: Vec<_> = (0..n).map(|j| x[(j + 1) % n]).collect();
    let (c, ms) = timed_median(reps, || evaluator.rotate(&cx, 1));
    record("rotate", ms, &rotated, &decrypt(&c?)?);
    let conj: Vec<_> = x.iter().map(|a| a.conj()).collect();
    let (c, ms) = timed_median(reps, || evaluator.conjugate(&cx));
    record("conjugate", ms, &conj, &decrypt(&c?)?);
    let (got, ms) = timed_median(reps, || decrypt(&cx));
    record("decrypt_decode", ms, &x, &got?);

    Ok(CkksReport {
        params: ParamsSummary {
            log_n: params.log_n(),
            log_pq: (params.log_pq() * 10.0).round() / 10.0,
            levels: params.max_level(),
            dnum: params.dnum(),
            security_bits: params.security_bits(),
        },
        ops,
        keygen_ms,
        source: source.to_string(),
    })
}

impl CkksReport {
    /// The human-readable table.
    pub fn to_table(&self) -> String {
        let p = &self.params;
        let security = p
            .security_bits
            .map_or("below 128 bits (opted in)".to_string(), |b| {
                format!("{b} bits")
            });
        let mut s = String::new();
        let _ = writeln!(
            s,
            "CKKS report ({}): N = 2^{}, log2(PQ) = {:.1}, levels {}, dnum {}, security {security}",
            self.source, p.log_n, p.log_pq, p.levels, p.dnum
        );
        let _ = writeln!(
            s,
            "keys (secret, public, relinearization, rotation by 1, conjugation) in {:.1} ms; times: median of runs after a warm-up\n",
            self.keygen_ms
        );
        let _ = writeln!(
            s,
            "{:<16} {:>10} {:>17}",
            "operation", "time (ms)", "precision (bits)"
        );
        for op in &self.ops {
            let _ = writeln!(
                s,
                "{:<16} {:>10.3} {:>17.1}",
                op.name, op.ms, op.precision_bits
            );
        }
        let _ = writeln!(
            s,
            "\nprecision: -log2 of the worst slot error against plain complex arithmetic on {} random slots",
            1usize << (p.log_n - 1)
        );
        s
    }
}
