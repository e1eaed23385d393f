//! The `heaccel ckks` subcommands of the binary (not the library): their arguments and how
//! each prints its report.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use heaccel_cli::{ckks_report, params_file};
use heaccel_verification::ckks::PRESET_NAMES;

#[derive(Debug, Subcommand)]
pub(crate) enum CkksCommand {
    /// Make keys, run every operation once on random slots, print time and precision.
    Report(ReportArgs),
    /// Print the validated parameters (explicit primes) of a preset or file as JSON.
    Params(ParamsArgs),
    /// List the named parameter presets.
    Presets(PresetsArgs),
    /// Print the CPU and the NTT and key-switching kernels each prime of a preset runs on it.
    Kernels(KernelsArgs),
    /// Bootstrap random slots: per-stage time and levels, keys, peak memory, precision.
    ///
    /// Makes keys (only the Galois keys the CoeffToSlot/SlotToCoeff factorization uses),
    /// encrypts uniform random real slots in [-1, 1] at level 0, bootstraps, decrypts and
    /// compares.
    Bootstrap(BootstrapArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BootstrapArgs {
    /// Named parameter set (see `heaccel ckks presets`); `boot-test` needs --allow-insecure.
    #[arg(long, default_value = "n16-boot", conflicts_with = "params")]
    preset: String,
    /// A parameter file (.json or .toml) with room for bootstrapping.
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// Slots to bootstrap, a power of two dividing N/2 (default N/2, full packing).
    #[arg(long)]
    slots: Option<usize>,
    /// Seed of the random slot values (keys always come from the OS entropy source).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Levels of CoeffToSlot (1..=5).
    #[arg(long)]
    cts_budget: Option<usize>,
    /// Levels of SlotToCoeff (1..=5).
    #[arg(long)]
    stc_budget: Option<usize>,
    /// Degree of EvalMod's arcsine correction (odd; 0 for none).
    #[arg(long)]
    arcsine_degree: Option<usize>,
    /// log2(q_0 / scale) at the input of bootstrapping (default 8).
    #[arg(long)]
    log_message_ratio: Option<u32>,
    /// Double-angle steps of EvalMod (default: the shallowest).
    #[arg(long)]
    double_angle: Option<u32>,
    /// Accept parameters below the 128-bit bound (test presets such as `boot-test`).
    #[arg(long)]
    allow_insecure: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

fn bootstrap_command(args: &BootstrapArgs) -> Result<()> {
    let (source, params) = params_file::resolve_params_opt_in(
        &args.preset,
        args.params.as_deref(),
        args.allow_insecure,
    )?;
    let overrides = heaccel_cli::bootstrap::ConfigOverrides {
        cts_budget: args.cts_budget,
        stc_budget: args.stc_budget,
        arcsine_degree: args.arcsine_degree,
        log_message_ratio: args.log_message_ratio,
        double_angle: args.double_angle,
    };
    let slots = args.slots.unwrap_or(params.max_slots());
    let report = heaccel_cli::bootstrap::run(&params, &source, slots, args.seed, &overrides)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct PresetsArgs {
    /// Print a JSON array of `{"name", "literal"}` instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Named parameter set (see `heaccel ckks presets`).
    #[arg(long, default_value = "spencnn-n14", conflicts_with = "params")]
    preset: String,
    /// A parameter file (.json or .toml) with log_n, log_q or q, log_p or p, log_scale, dnum
    /// and optionally allow_insecure.
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Seed of the random slot values (keys always come from the OS entropy source).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed runs per operation (after one warm-up run); the median is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1000))]
    reps: u64,
}

#[derive(Debug, Args)]
pub(crate) struct KernelsArgs {
    /// Named parameter set (see `heaccel ckks presets`).
    #[arg(long, default_value = "spencnn-n14", conflicts_with = "params")]
    preset: String,
    /// A parameter file (.json or .toml).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// Accept parameters below the 128-bit bound (test presets such as `boot-test`).
    #[arg(long)]
    allow_insecure: bool,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ParamsArgs {
    /// Named parameter set (see `heaccel ckks presets`).
    #[arg(long, default_value = "spencnn-n14", conflicts_with = "params")]
    preset: String,
    /// A parameter file (.json or .toml).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
}

fn report(args: &ReportArgs) -> Result<()> {
    let (source, params) = params_file::resolve_params(&args.preset, args.params.as_deref())?;
    let report = ckks_report::run(&params, &source, args.seed, args.reps as usize)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_table());
    }
    Ok(())
}

/// Runs one `heaccel ckks` subcommand.
pub(crate) fn run(command: CkksCommand) -> Result<()> {
    match command {
        CkksCommand::Report(args) => report(&args),
        CkksCommand::Bootstrap(args) => bootstrap_command(&args),
        CkksCommand::Params(args) => {
            let (_, params) = params_file::resolve_params(&args.preset, args.params.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&params)?);
            Ok(())
        }
        CkksCommand::Kernels(args) => {
            let (source, params) = params_file::resolve_params_opt_in(
                &args.preset,
                args.params.as_deref(),
                args.allow_insecure,
            )?;
            let report = heaccel_verification::ckks::kernels::KernelReport::of(&params);
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("cpu: {}", report.cpu);
                println!("features: {}", report.features.join(" "));
                println!("threads: {}", report.threads);
                println!("kernels of {source}:");
                for line in report.summary() {
                    println!("  {line}");
                }
            }
            Ok(())
        }
        CkksCommand::Presets(args) => {
            if args.json {
                let list = PRESET_NAMES
                    .iter()
                    .map(|name| {
                        let literal = heaccel_verification::ckks::preset(name)?;
                        Ok(serde_json::json!({ "name": name, "literal": literal }))
                    })
                    .collect::<Result<Vec<_>>>()?;
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            for name in PRESET_NAMES {
                let lit = heaccel_verification::ckks::preset(name)?;
                println!(
                    "{name:<12} log_n {:>2}  log_q {:?}  log_p {:?}  log_scale {}  dnum {}",
                    lit.log_n, lit.log_q, lit.log_p, lit.log_scale, lit.dnum
                );
            }
            Ok(())
        }
    }
}
