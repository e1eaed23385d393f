//! The `heaccel` command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use heaccel_cli::{ckks_report, network, params_file, simulate};
use heaccel_verification::ckks::PRESET_NAMES;

/// heaccel: an open design kit for homomorphic-encryption accelerators.
///
/// With no subcommand, runs the main job on built-in defaults: LeNet compiled with the dense
/// baseline and SpENCNN, both simulated on `fpga-u280`, the SpENCNN program run encrypted on a
/// seeded input on the accelerator's functional executor and checked against the plaintext
/// pass; prints the comparison and writes JSON reports and per-layer SVGs into
/// `heaccel-report/` (or --out). The CKKS report is `heaccel ckks report`.
#[derive(Debug, Parser)]
#[command(name = "heaccel", version, about, long_about)]
struct Cli {
    /// Folder for the main job's reports (no subcommand only).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The software RNS-CKKS reference model.
    #[command(subcommand)]
    Ckks(CkksCommand),
    /// Simulate the timing of an ISA program, a lowered CKKS operation or a whole network.
    ///
    /// Examples: heaccel simulate --op hrot --log-n 16 --levels 35 --dnum 3 --config fpga-u280
    ///           heaccel simulate --program prog.json --config asic --json
    ///           heaccel simulate --model lenet --strategy spencnn --prune 0.5 --config asic
    Simulate(SimulateArgs),
    /// Dense baseline vs SpENCNN on a network: op counts and simulated latency side by side.
    ///
    /// Example: heaccel compare --model vgg5 --config fpga-u280 --json
    Compare(CompareArgs),
    /// Encrypted inference of a network, checked against the plaintext forward pass.
    ///
    /// Compiles the network into one CKKS program at N = 2^14, encrypts the input, runs the
    /// program (on the accelerator's functional executor by default), decrypts and compares.
    ///
    /// Examples: heaccel infer --model lenet --verify
    ///           heaccel infer --model hefnet --count 3 --backend reference --json
    ///           heaccel infer --model lenet --input digit.safetensors --verify
    Infer(heaccel_cli::infer::InferArgs),
    /// Write the Verilog, testbench and vector files of an RTL block.
    Verilog(heaccel_cli::rtl::VerilogArgs),
    /// Verification suites (`heaccel verify rtl`).
    #[command(subcommand)]
    Verify(heaccel_cli::rtl::VerifyCommand),
    /// Simulate every configuration of a grid in parallel; CSV and Pareto front.
    ///
    /// Example: heaccel sweep --op hrot --grid grid.toml --jobs 2 --out sweep-out
    Sweep(SweepArgs),
    /// Polynomial approximations (`heaccel approx sign`).
    #[command(subcommand)]
    Approx(heaccel_cli::approx::ApproxCommand),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["program", "op", "model"])))]
struct SimulateArgs {
    /// A zoo network (lenet, vgg5, hefnet, resnet20): per-layer counts, levels and latency.
    #[arg(long, value_name = "NAME")]
    model: Option<String>,
    /// Strategy for --model.
    #[arg(long, value_enum, default_value = "spencnn")]
    strategy: network::StrategyArg,
    #[command(flatten)]
    model_args: network::ModelArgs,
    /// An ISA v1 program, JSON or binary (`HEAX`).
    #[arg(long, value_name = "FILE")]
    program: Option<PathBuf>,
    /// A CKKS operation, lowered at the top level of parameters from --log-n/--levels/--dnum.
    #[arg(long, value_enum)]
    op: Option<simulate::Op>,
    /// log2(N) for --op.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(4..=17))]
    log_n: u32,
    /// Levels L for --op (L + 1 primes in Q).
    #[arg(long, default_value_t = 35, value_parser = clap::value_parser!(u64).range(1..=200))]
    levels: u64,
    /// Key-switching digits for --op (ceil((L + 1) / dnum) special primes).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=200))]
    dnum: u64,
    /// Run the lowered --op on real data and check it bit-exactly against the reference model.
    #[arg(long)]
    functional: bool,
    /// Accept --op parameters beyond the 128-bit HE-standard bound.
    #[arg(long)]
    allow_insecure: bool,
    /// A preset (fpga-u280, asic) or a TOML file.
    #[arg(long, default_value = "fpga-u280", value_name = "PRESET|FILE")]
    config: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write an SVG figure: unit utilization and the roofline position.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SweepArgs {
    /// The CKKS operation simulated at every grid point (lowered as for `simulate --op`).
    #[arg(long, value_enum)]
    op: simulate::Op,
    /// The grid file (TOML: `base` and a [grid] table of arrays).
    #[arg(long, value_name = "FILE")]
    grid: PathBuf,
    /// log2(N) for --op.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(4..=17))]
    log_n: u32,
    /// Levels L for --op.
    #[arg(long, default_value_t = 35, value_parser = clap::value_parser!(u64).range(1..=200))]
    levels: u64,
    /// Key-switching digits for --op.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=200))]
    dnum: u64,
    /// Accept --op parameters beyond the 128-bit HE-standard bound.
    #[arg(long)]
    allow_insecure: bool,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Folder for sweep.csv and pareto.svg.
    #[arg(long, default_value = "heaccel-sweep", value_name = "DIR")]
    out: PathBuf,
    /// Print one JSON object (the rows and the files written) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// A zoo network (lenet, vgg5, hefnet, resnet20).
    #[arg(long, value_name = "NAME")]
    model: String,
    #[command(flatten)]
    model_args: network::ModelArgs,
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

fn simulate_command(args: &SimulateArgs) -> Result<()> {
    if let Some(model) = &args.model {
        let r = network::simulate_model(model, args.strategy, &args.model_args, &args.config)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            print!("{}", network::format_sim(&r));
        }
        return Ok(());
    }
    let config = simulate::load_config(&args.config)?;
    let (program, what, op) = match (&args.program, args.op) {
        (Some(path), _) => (
            simulate::load_program(path)?,
            path.display().to_string(),
            None,
        ),
        (None, Some(op)) => {
            let params = simulate::op_params(
                args.log_n,
                args.levels as usize,
                args.dnum as usize,
                config.word_bits,
                args.allow_insecure,
            )?;
            let program = simulate::op_program(op, &params)?;
            if args.functional {
                simulate::check_functional(op, &params, &program)?;
            }
            let what = format!(
                "{op:?} at N = 2^{}, L = {}, dnum {}, {} special primes",
                args.log_n,
                args.levels,
                args.dnum,
                params.p_tables().len()
            );
            (program, what, Some(op))
        }
        (None, None) => unreachable!("clap requires --program, --op or --model"),
    };
    let report = heaccel_sim::simulate(&program, &config)?;
    let key_bytes = simulate::key_bytes(&program, config.word_bytes());
    let key_bound_us = key_bytes as f64 / (config.memory.bandwidth_gb_s * 1e3);
    let work = heaccel_sim::program_work(&program);
    if let Some(path) = &args.svg {
        let label = op.map_or("program".to_string(), |op| format!("{op:?}").to_lowercase());
        let point = heaccel_cli::plot::RooflinePoint::of(&label, &work, &report, &config);
        let svg = heaccel_cli::plot::simulation_svg(&report, &[point], &config)?;
        heaccel_cli::plot::write_whole(path, &svg)?;
        if !args.json {
            println!("wrote {}", path.display());
        }
    }
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["work"] = serde_json::to_value(work)?;
        v["key_bytes"] = key_bytes.into();
        v["key_stream_bound_us"] = key_bound_us.into();
        if let Some(op) = op {
            v["op"] = format!("{op:?}").to_lowercase().into();
            v["functional"] = if args.functional {
                "bit-exact".into()
            } else {
                serde_json::Value::Null
            };
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", simulate::to_table(&report, &what));
        if key_bytes > 0 {
            println!(
                "\n  keys streamed     {key_bytes} bytes: >= {key_bound_us:.3} us at {} GB/s",
                config.memory.bandwidth_gb_s
            );
        }
        if args.functional {
            println!("  functional        bit-exact with the reference model");
        }
    }
    Ok(())
}

fn sweep_command(args: &SweepArgs) -> Result<()> {
    use heaccel_cli::sweep;
    let text = std::fs::read_to_string(&args.grid)
        .map_err(|e| anyhow::anyhow!("cannot read grid file {}: {e}", args.grid.display()))?;
    let grid = sweep::Grid::parse(&text, &args.grid.display().to_string())?;
    // One program per word size (the primes' width follows the config's words).
    let configs = grid.configs()?;
    let mut word_sizes: Vec<u32> = configs.iter().map(|c| c.word_bits).collect();
    word_sizes.sort_unstable();
    word_sizes.dedup();
    let mut programs = std::collections::HashMap::new();
    for w in word_sizes {
        let params = simulate::op_params(
            args.log_n,
            args.levels as usize,
            args.dnum as usize,
            w,
            args.allow_insecure,
        )?;
        programs.insert(w, simulate::op_program(args.op, &params)?);
    }
    let progress = indicatif::ProgressBar::new(grid.len() as u64);
    let rows = sweep::run(&grid, &configs, args.jobs, &progress, |config| {
        Ok(heaccel_sim::simulate(&programs[&config.word_bits], config)?)
    })?;
    let title = format!(
        "{:?} at N = 2^{}, L = {}: {} configurations",
        args.op,
        args.log_n,
        args.levels,
        rows.len()
    );
    let files = sweep::write_outputs(&args.out, &grid, &rows, &title)?;
    if args.json {
        let v = serde_json::json!({
            "axes": grid.axes.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            "rows": rows,
            "files": files,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{title}; Pareto front (cost = multiplier lanes x word bits):");
        let keys: Vec<&str> = grid.axes.iter().map(|(k, _)| k.as_str()).collect();
        println!(
            "  {:>12} {:>12}  {:<10} {}",
            "time_us",
            "cost",
            "bound",
            keys.join("  ")
        );
        let mut front: Vec<&sweep::SweepRow> = rows.iter().filter(|r| r.pareto).collect();
        front.sort_by_key(|r| r.cost_lane_bits);
        let infeasible = rows.iter().filter(|r| r.time_us.is_none()).count();
        for r in front {
            println!(
                "  {:>12.3} {:>12}  {:<10} {}",
                r.time_us.unwrap_or(f64::NAN),
                r.cost_lane_bits,
                r.bound,
                r.values.join("  ")
            );
        }
        if infeasible > 0 {
            println!("  {infeasible} configurations cannot run it (marked infeasible in the CSV)");
        }
        for f in files {
            println!("wrote {}", f.display());
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    if cli.out.is_some() && cli.command.is_some() {
        anyhow::bail!("--out applies to the main job (heaccel with no subcommand)");
    }
    match cli.command {
        None => {
            let mut args = heaccel_cli::mainjob::MainJobArgs::default();
            if let Some(out) = cli.out {
                args.out = out;
            }
            let r = heaccel_cli::mainjob::main_job(&args, true)?;
            print!("{}", heaccel_cli::mainjob::format_main_job(&r));
            anyhow::ensure!(
                r.verification.pass,
                "the encrypted result does not match the plaintext pass"
            );
            Ok(())
        }
        Some(Command::Ckks(CkksCommand::Report(args))) => report(&args),
        Some(Command::Simulate(args)) => simulate_command(&args),
        Some(Command::Compare(args)) => {
            let c = network::compare_model(&args.model, &args.model_args, &args.config)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print!("{}", network::format_compare(&c));
            }
            Ok(())
        }
        Some(Command::Infer(args)) => {
            let r = heaccel_cli::infer::infer_command(&args, true)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", heaccel_cli::infer::format_infer(&r));
            }
            if args.verify && !r.pass {
                anyhow::bail!(
                    "verification failed: {} of {} inputs pass (error < {:e} of the output range and the same argmax)",
                    r.summary.passed,
                    r.summary.count,
                    r.tolerance
                );
            }
            Ok(())
        }
        Some(Command::Verilog(args)) => heaccel_cli::rtl::verilog_command(&args).map(|dirs| {
            dirs.iter().for_each(|d| println!("wrote {}", d.display()));
        }),
        Some(Command::Verify(heaccel_cli::rtl::VerifyCommand::Rtl(args))) => {
            let report = heaccel_cli::rtl::verify_rtl(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", heaccel_cli::rtl::format_table(&report));
            }
            anyhow::ensure!(report.pass, "some RTL checks failed");
            Ok(())
        }
        Some(Command::Sweep(args)) => sweep_command(&args),
        Some(Command::Approx(heaccel_cli::approx::ApproxCommand::Sign(args))) => {
            let report = heaccel_cli::approx::sign_report(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", heaccel_cli::approx::format_sign_report(&report));
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
