//! `heaccel simulate --op bootstrap`: one bootstrapping lowered to ISA programs and timed
//! stage by stage on a hardware configuration; `--functional` runs it on the functional
//! executor against the reference bootstrapping, word for word.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use heaccel_host::bootsim::{simulate_bootstrap, BootstrapSim};
use heaccel_sim::HwConfig;
use heaccel_verification::ckks::{preset, ParametersLiteral};
use serde::Serialize;

/// Largest `log2(N)` `--functional` runs (the functional executor runs every instruction: a
/// bootstrapping at `N = 2^16` would take hours).
pub const MAX_FUNCTIONAL_LOG_N: u32 = 13;

/// What `--op bootstrap --functional` checked.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionalCheck {
    /// The parameter preset run (its own primes, not capped to the words).
    pub preset: String,
    /// Slots bootstrapped.
    pub slots: usize,
    /// Lowered programs run.
    pub programs: usize,
    /// Instructions executed.
    pub instructions: usize,
    /// `bit-exact` (a difference is an error).
    pub result: &'static str,
}

/// The report of `--op bootstrap`.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapSimReport {
    /// `bootstrap`.
    pub op: &'static str,
    /// The CKKS parameter preset.
    pub preset: String,
    /// The simulation.
    #[serde(flatten)]
    pub sim: BootstrapSim,
    /// The functional check, when asked for.
    pub functional: Option<FunctionalCheck>,
}

/// The literal of `name` with `allow_insecure` when opted in.
pub fn literal(name: &str, allow_insecure: bool) -> Result<ParametersLiteral> {
    let mut lit = preset(name).with_context(|| format!("--ckks-preset `{name}`"))?;
    lit.allow_insecure |= allow_insecure;
    // validate once here so an insecure preset is refused naming the flag
    lit.build().with_context(|| {
        format!("--ckks-preset `{name}` (--allow-insecure opts into test presets)")
    })?;
    Ok(lit)
}

/// `log2` of `slots` (default `N/2`); an error unless a power of two in `[2, N/2]`.
pub fn log_slots(slots: Option<usize>, log_n: u32) -> Result<u32> {
    let max = 1usize << (log_n - 1);
    let s = slots.unwrap_or(max);
    if !s.is_power_of_two() || s < 2 || s > max {
        bail!("--slots {s}: expected a power of two in [2, N/2 = {max}]");
    }
    Ok(s.trailing_zeros())
}

/// Simulates (and with `functional` checks) one bootstrapping of the preset `name` on `hw`.
pub fn run(
    name: &str,
    slots: Option<usize>,
    allow_insecure: bool,
    functional: bool,
    hw: &HwConfig,
) -> Result<BootstrapSimReport> {
    let lit = literal(name, allow_insecure)?;
    let log_slots = log_slots(slots, lit.log_n)?;
    let functional = if functional {
        Some(check_functional(name, &lit, log_slots)?)
    } else {
        None
    };
    let sim = simulate_bootstrap(&lit, log_slots, hw)
        .with_context(|| format!("simulating the bootstrapping of `{name}` on `{}`", hw.name))?;
    Ok(BootstrapSimReport {
        op: "bootstrap",
        preset: name.to_string(),
        sim,
        functional,
    })
}

/// Keys, a random ciphertext, the reference bootstrapping and the same on the functional
/// executor; an error if any word differs.
fn check_functional(
    name: &str,
    lit: &ParametersLiteral,
    log_slots: u32,
) -> Result<FunctionalCheck> {
    use heaccel_host::funcexec::prime_table_program;
    use heaccel_host::funcops::FunctionalOps;
    use heaccel_verification::bootstrap::{BootstrapConfig, Bootstrapper};
    use heaccel_verification::ckks::{Encoder, EncryptionKey, Encryptor, Evaluator, KeyGenerator};
    use num_complex::Complex64;
    if lit.log_n > MAX_FUNCTIONAL_LOG_N {
        bail!(
            "--functional runs every instruction of the bootstrapping and takes N <= 2^{MAX_FUNCTIONAL_LOG_N}; \
             `{name}` has N = 2^{} (use --ckks-preset boot-test --allow-insecure)",
            lit.log_n
        );
    }
    let params = lit.build()?;
    let boot = Bootstrapper::new(&params, &BootstrapConfig::default_for(&params, log_slots)?)?;
    let mut kg = KeyGenerator::new(&params);
    let sk = kg.gen_secret_key();
    let relin = kg.gen_relin_key(&sk)?;
    let mut galois = kg.gen_galois_keys(&sk, &[], false)?;
    for &g in boot.galois_elements() {
        galois.keys.insert(g, kg.gen_galois_key(&sk, g)?);
    }
    let eval = Evaluator::new(&params, Some(relin.clone()), Some(galois.clone()))?;
    let values: Vec<Complex64> = (0..1usize << log_slots)
        .map(|i| Complex64::new((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos()))
        .collect();
    let pt = Encoder::new(&params).encode(&values, 0, boot.max_input_scale())?;
    let ct = Encryptor::new(&params, EncryptionKey::Secret(sk))?.encrypt(&pt)?;
    let (want, _) = boot.bootstrap(&eval, &ct)?;
    let template = prime_table_program(&params)?;
    let ops = FunctionalOps::new(&template, &params, Some(&relin), &galois)?;
    let (got, _) = boot.bootstrap_with(&ops, &ct)?;
    if got != want {
        bail!("functional check: the lowered bootstrapping differs from the reference");
    }
    let stats = ops.stats();
    Ok(FunctionalCheck {
        preset: name.to_string(),
        slots: 1 << log_slots,
        programs: stats.programs,
        instructions: stats.instructions,
        result: "bit-exact",
    })
}

impl BootstrapSimReport {
    /// The readable table.
    pub fn to_table(&self) -> String {
        let s = &self.sim;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "bootstrapping of `{}` ({} slots, N = 2^{}, levels {} -> {}, dnum {}, {} Galois keys) on `{}`",
            self.preset, s.slots, s.log_n, s.level_top, s.levels_after, s.dnum, s.galois_keys, s.config
        );
        if s.primes_capped {
            let _ = writeln!(
                out,
                "  primes capped at {} bits to fit the words (same levels, transforms and key switches; \
                 precision not claimed for the capped set)",
                s.prime_bits
            );
        }
        let _ = writeln!(
            out,
            "\n  {:<14} {:>6} {:>6} {:>7} {:>12} {:>14} {:>9}",
            "stage", "level", "ops", "keysw", "time (ms)", "off-chip (MB)", "bound"
        );
        for st in &s.stages {
            let _ = writeln!(
                out,
                "  {:<14} {:>6} {:>6} {:>7} {:>12.3} {:>14.1} {:>9}",
                st.name,
                st.level_in,
                st.ops,
                st.key_switches,
                st.time_us / 1e3,
                st.offchip_bytes as f64 / 1e6,
                st.bound
            );
        }
        let _ = writeln!(
            out,
            "  {:<14} {:>6} {:>6} {:>7} {:>12.3} {:>14.1}",
            "total",
            "",
            s.ops,
            s.key_switches,
            s.time_us / 1e3,
            s.offchip_bytes as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "\n  rows: every operation reads its operands from off-chip memory and writes its result \
             back (no overlap between operations), an upper estimate"
        );
        let w = &s.whole_program;
        let _ = writeln!(
            out,
            "  whole program (one allocated stream, {} scratchpad slots): {:.3} ms, {} instructions, \
             off-chip {:.1} MB ({:.1} MB compulsory), bound by {}",
            w.scratchpad_slots,
            w.time_us / 1e3,
            w.instructions,
            w.offchip_bytes as f64 / 1e6,
            w.offchip_lower_bound_bytes as f64 / 1e6,
            w.bound.name()
        );
        if let Some(f) = &self.functional {
            let _ = writeln!(
                out,
                "  functional        {} on `{}` ({} slots): {} programs, {} instructions",
                f.result, f.preset, f.slots, f.programs, f.instructions
            );
        }
        out
    }

    /// The figure: per-stage latency split by bounding unit.
    pub fn figure(&self, hw: &HwConfig) -> Result<String> {
        let stages: Vec<(String, Vec<(String, f64)>)> = self
            .sim
            .stages
            .iter()
            .map(|st| {
                (
                    st.name.clone(),
                    st.time_by_bound
                        .iter()
                        .map(|(u, us)| (u.to_string(), *us))
                        .collect(),
                )
            })
            .collect();
        let title = format!(
            "bootstrapping of {} on {}: latency per stage by bounding unit (us)",
            self.preset, self.sim.config
        );
        // The operations bootstrapping spends its time in, at its top level, for the bottom
        // panels (utilization, roofline).
        use heaccel_host::lowering;
        let fitted =
            heaccel_host::bootsim::fit_to_words(&literal(&self.preset, true)?, hw.word_bits)?;
        let params = fitted.build()?;
        let level = params.max_level();
        let g = heaccel_verification::automorphism::galois_element_for_rotation(1, params.log_n());
        let programs = [
            (
                "rotation",
                lowering::lower_automorphisms(&params, level, &[g])?,
            ),
            (
                "inner product (8)",
                lowering::lower_inner_product(&params, level, 8)?,
            ),
            ("hmult", lowering::lower_hmult_relin(&params, level)?),
            ("rescale", lowering::lower_rescale(&params, level)?),
            ("mod_raise", lowering::lower_mod_raise(&params, level)?),
        ];
        let mut ops = Vec::new();
        let mut points = Vec::new();
        for (name, program) in &programs {
            let report = heaccel_sim::simulate(program, hw)?;
            let work = heaccel_sim::program_work(program);
            if work.modmuls > 0 {
                points.push(crate::plot::RooflinePoint::of(name, &work, &report, hw));
            }
            ops.push((name.to_string(), report));
        }
        crate::plot::network_svg(&title, &stages, &ops, &points, hw)
    }
}
