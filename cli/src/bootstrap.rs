//! `heaccel ckks bootstrap`: makes keys, encrypts uniform random slots at level 0, bootstraps,
//! decrypts, and reports each stage's time and levels, the keys' count and bytes, the peak
//! memory and the precision.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context, Result};
use heaccel_verification::bootstrap::{BootstrapConfig, Bootstrapper};
use heaccel_verification::ckks::{
    Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, GaloisKeys, KeyGenerator, Parameters,
};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

/// Overrides of the default [`BootstrapConfig`].
#[derive(Clone, Debug, Default)]
pub struct ConfigOverrides {
    /// CoeffToSlot levels.
    pub cts_budget: Option<usize>,
    /// SlotToCoeff levels.
    pub stc_budget: Option<usize>,
    /// Arcsine degree (odd, 0 for none).
    pub arcsine_degree: Option<usize>,
    /// `log2(q_0 / Delta)`.
    pub log_message_ratio: Option<u32>,
    /// Double-angle steps.
    pub double_angle: Option<u32>,
}

/// One stage in the report.
#[derive(Clone, Debug, Serialize)]
pub struct StageRow {
    /// Stage name.
    pub name: String,
    /// Level before.
    pub level_in: usize,
    /// Level after.
    pub level_out: usize,
    /// Wall-clock milliseconds.
    pub ms: f64,
}

/// The report; its JSON form is the `--json` output.
#[derive(Clone, Debug, Serialize)]
pub struct BootstrapReport {
    /// Where the parameters came from.
    pub source: String,
    /// `log2(N)`.
    pub log_n: u32,
    /// `log2(P Q)`.
    pub log_qp: f64,
    /// Hamming weight of the secret, `null` for uniform ternary.
    pub hamming_weight: Option<usize>,
    /// Security level met (128), `null` below the bound (test presets).
    pub security_bits: Option<u32>,
    /// Slots bootstrapped.
    pub slots: usize,
    /// The configuration used.
    pub config: BootstrapConfig,
    /// The cosine interpolant's degree.
    pub evalmod_degree: usize,
    /// Levels bootstrapping consumes.
    pub depth: usize,
    /// Level of the output (levels left for the circuit).
    pub levels_after: usize,
    /// `log2` of the output scale.
    pub log_scale_after: f64,
    /// `-log2` of the mean absolute slot error.
    pub precision_mean_bits: f64,
    /// `-log2` of the largest slot error.
    pub precision_min_bits: f64,
    /// Milliseconds of the bootstrapping (all stages).
    pub time_ms: f64,
    /// Per stage.
    pub stages: Vec<StageRow>,
    /// Galois keys made (only those the factorization uses).
    pub galois_keys: usize,
    /// Bytes of the Galois and relinearization keys (8 per word, expanded in memory).
    pub key_bytes: u64,
    /// Bytes of the same keys in their stored (seeded) form: `b_j` and a 32-byte seed each.
    pub key_bytes_seeded: u64,
    /// Bytes of the precomputed plaintext diagonals.
    pub diagonal_bytes: u64,
    /// Milliseconds of key generation.
    pub keygen_ms: f64,
    /// Milliseconds of the transforms' precomputation.
    pub setup_ms: f64,
    /// Peak resident memory of the process (VmHWM), bytes; `null` where not readable.
    pub peak_memory_bytes: Option<u64>,
}

/// Peak resident set size of this process from `/proc/self/status` (Linux).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The configuration for `params`: the default for `log_slots` with `overrides` applied.
pub fn config_for(
    params: &Parameters,
    log_slots: u32,
    overrides: &ConfigOverrides,
) -> Result<BootstrapConfig> {
    let mut config = BootstrapConfig::default_for(params, log_slots)?;
    if let Some(b) = overrides.cts_budget {
        config.cts_budget = b;
    }
    if let Some(b) = overrides.stc_budget {
        config.stc_budget = b;
    }
    if let Some(d) = overrides.arcsine_degree {
        config.evalmod.arcsine_degree = d;
    }
    if let Some(r) = overrides.log_message_ratio {
        config.evalmod.log_message_ratio = r;
    }
    if let Some(r) = overrides.double_angle {
        config.evalmod.double_angle = r;
        config.evalmod.degree = None;
    }
    Ok(config)
}

/// Runs one bootstrapping of `slots` uniform random real slots in `[-1, 1]` (seeded by `seed`;
/// keys from the OS entropy source).
pub fn run(
    params: &Parameters,
    source: &str,
    slots: usize,
    seed: u64,
    overrides: &ConfigOverrides,
) -> Result<BootstrapReport> {
    if slots == 0 || !slots.is_power_of_two() || slots > params.max_slots() {
        anyhow::bail!(
            "--slots {slots}: expected a power of two in [2, N/2 = {}] (it must divide N/2)",
            params.max_slots()
        );
    }
    let log_slots = slots.trailing_zeros();
    let config = config_for(params, log_slots, overrides)?;
    let start = Instant::now();
    let boot = Bootstrapper::new(params, &config).context("bootstrapping setup")?;
    let setup_ms = start.elapsed().as_secs_f64() * 1e3;

    let start = Instant::now();
    let mut keygen = KeyGenerator::new(params);
    let sk = keygen.gen_secret_key();
    let relin = keygen.gen_relin_key(&sk)?;
    let mut galois = GaloisKeys {
        params_id: params.id(),
        key_id: sk.key_id,
        keys: Default::default(),
    };
    for &g in boot.galois_elements() {
        galois.keys.insert(g, keygen.gen_galois_key(&sk, g)?);
    }
    let keygen_ms = start.elapsed().as_secs_f64() * 1e3;
    let key_bytes =
        galois.keys.values().map(|k| k.bytes() as u64).sum::<u64>() + relin.key.bytes() as u64;
    let key_bytes_seeded = galois
        .keys
        .values()
        .chain([&relin.key])
        .map(|k| k.seeded().map_or(k.bytes() as u64, |s| s.bytes() as u64))
        .sum::<u64>();
    let galois_keys = galois.keys.len();
    let eval = Evaluator::new(params, Some(relin), Some(galois))?;

    let encoder = Encoder::new(params);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let values: Vec<Complex64> = (0..slots)
        .map(|_| Complex64::new(rng.gen_range(-1.0..=1.0), 0.0))
        .collect();
    let pt = encoder.encode(&values, 0, params.default_scale())?;
    let mut encryptor = Encryptor::new(params, EncryptionKey::Secret(sk.clone()))?;
    let ct = encryptor.encrypt(&pt)?;

    let start = Instant::now();
    let (out, stages) = boot.bootstrap(&eval, &ct)?;
    let time_ms = start.elapsed().as_secs_f64() * 1e3;

    let got = encoder.decode(&Decryptor::new(params, &sk)?.decrypt(&out)?)?;
    let errors: Vec<f64> = values
        .iter()
        .zip(&got)
        .map(|(a, b)| (a - b).norm())
        .collect();
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    let worst = errors.iter().copied().fold(0.0, f64::max);
    let diagonal_bytes = boot
        .coeff_to_slot()
        .iter()
        .chain(boot.slot_to_coeff())
        .map(|t| t.plaintext_bytes() as u64)
        .sum();
    Ok(BootstrapReport {
        source: source.to_string(),
        log_n: params.log_n(),
        log_qp: (params.log_pq() * 10.0).round() / 10.0,
        hamming_weight: params.hamming_weight(),
        security_bits: params.security_bits(),
        slots,
        evalmod_degree: boot.evalmod().degree(),
        config,
        depth: boot.depth(),
        levels_after: out.level(),
        log_scale_after: out.scale.log2(),
        precision_mean_bits: -mean.log2(),
        precision_min_bits: -worst.log2(),
        time_ms,
        stages: stages
            .into_iter()
            .map(|s| StageRow {
                name: s.name,
                level_in: s.level_in,
                level_out: s.level_out,
                ms: s.seconds * 1e3,
            })
            .collect(),
        galois_keys,
        key_bytes,
        key_bytes_seeded,
        diagonal_bytes,
        keygen_ms,
        setup_ms,
        peak_memory_bytes: peak_memory_bytes(),
    })
}

impl BootstrapReport {
    /// The human-readable form.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let security = self
            .security_bits
            .map_or("INSECURE (test only)".to_string(), |b| format!("{b}-bit"));
        let secret = self
            .hamming_weight
            .map_or("uniform ternary".to_string(), |h| {
                format!("sparse ternary h = {h}")
            });
        let _ = writeln!(
            s,
            "bootstrapping {}: N = 2^{}, log2 QP = {:.1}, {secret}, {security}",
            self.source, self.log_n, self.log_qp
        );
        let em = &self.config.evalmod;
        let _ = writeln!(
            s,
            "slots {}, CoeffToSlot {} levels, SlotToCoeff {}, EvalMod K = {} cosine degree {} \
             double angles {} arcsine {} message ratio 2^{}",
            self.slots,
            self.config.cts_budget,
            self.config.stc_budget,
            em.k,
            self.evalmod_degree,
            em.double_angle,
            em.arcsine_degree,
            em.log_message_ratio
        );
        let _ = writeln!(
            s,
            "{:<14} {:>9} {:>9} {:>11}",
            "stage", "level in", "level out", "ms"
        );
        for st in &self.stages {
            let _ = writeln!(
                s,
                "{:<14} {:>9} {:>9} {:>11.1}",
                st.name, st.level_in, st.level_out, st.ms
            );
        }
        let _ = writeln!(
            s,
            "{:<14} {:>9} {:>9} {:>11.1}",
            "total", "", "", self.time_ms
        );
        let _ = writeln!(
            s,
            "levels after {} (scale 2^{:.1}), depth {}",
            self.levels_after, self.log_scale_after, self.depth
        );
        let _ = writeln!(
            s,
            "precision: mean {:.2} bits, worst slot {:.2} bits",
            self.precision_mean_bits, self.precision_min_bits
        );
        let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
        let _ = writeln!(
            s,
            "keys: {} Galois + relinearization, {:.1} MiB ({:.1} MiB stored seeded); diagonals {:.1} MiB; keygen {:.0} ms, setup {:.0} ms",
            self.galois_keys,
            mib(self.key_bytes),
            mib(self.key_bytes_seeded),
            mib(self.diagonal_bytes),
            self.keygen_ms,
            self.setup_ms
        );
        if let Some(peak) = self.peak_memory_bytes {
            let _ = writeln!(s, "peak memory {:.1} MiB", mib(peak));
        }
        s
    }
}
