//! The `heaccel` command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use heaccel_cli::{ckks_report, params_file, simulate};
use heaccel_verification::ckks::PRESET_NAMES;

/// heaccel: an open design kit for homomorphic-encryption accelerators.
///
/// With no subcommand, runs the main job on built-in defaults: the CKKS report of the
/// reference model on the `spencnn-n14` preset.
#[derive(Debug, Parser)]
#[command(name = "heaccel", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The software RNS-CKKS reference model.
    #[command(subcommand)]
    Ckks(CkksCommand),
    /// Simulate the timing of an ISA program on a hardware configuration.
    ///
    /// Example: heaccel simulate --program prog.json --config asic --json
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
struct SimulateArgs {
    /// An ISA v1 program, JSON or binary (`HEAX`).
    #[arg(long, value_name = "FILE")]
    program: PathBuf,
    /// A preset (fpga-u280, asic) or a TOML file.
    #[arg(long, default_value = "fpga-u280", value_name = "PRESET|FILE")]
    config: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum CkksCommand {
    /// Make keys, run every operation once on random slots, print time and precision.
    ///
    /// Example: heaccel ckks report --preset spencnn-n14 --json
    Report(ReportArgs),
    /// Print the validated parameters (explicit primes) of a preset or file as JSON.
    ///
    /// Example: heaccel ckks params --preset spencnn-n14
    Params(ParamsArgs),
    /// List the named parameter presets.
    ///
    /// Example: heaccel ckks presets
    Presets,
}

#[derive(Debug, Args)]
struct ReportArgs {
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
struct ParamsArgs {
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => report(&ReportArgs {
            preset: "spencnn-n14".into(),
            params: None,
            json: false,
            seed: 1,
            reps: 3,
        }),
        Some(Command::Ckks(CkksCommand::Report(args))) => report(&args),
        Some(Command::Simulate(args)) => {
            let config = simulate::load_config(&args.config)?;
            let program = simulate::load_program(&args.program)?;
            let report = heaccel_sim::simulate(&program, &config)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!(
                    "{}",
                    simulate::to_table(&report, &args.program.display().to_string())
                );
            }
            Ok(())
        }
        Some(Command::Ckks(CkksCommand::Params(args))) => {
            let (_, params) = params_file::resolve_params(&args.preset, args.params.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&params)?);
            Ok(())
        }
        Some(Command::Ckks(CkksCommand::Presets)) => {
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

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
