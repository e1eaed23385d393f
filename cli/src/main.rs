//! The `heaccel` command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use heaccel_cli::{ckks_report, network, params_file, simulate};
use heaccel_verification::ckks::PRESET_NAMES;

/// mimalloc, kept from returning freed memory (heaccel_verification::memory says why).
#[global_allocator]
static ALLOCATOR: heaccel_verification::memory::Allocator = heaccel_verification::memory::Allocator;

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
    /// Threads for the CKKS evaluator, encoder and key switching (default: one per core; 1
    /// for reproducible single-thread timings). Results are bit-identical for every count.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The software RNS-CKKS reference model.
    #[command(subcommand)]
    Ckks(CkksCommand),
    /// Simulate the timing of an ISA program, a lowered CKKS operation or a whole network.
    Simulate(SimulateArgs),
    /// Dense baseline vs SpENCNN on a network: op counts and simulated latency side by side.
    Compare(CompareArgs),
    /// Encrypted inference of a network, checked against the plaintext forward pass.
    ///
    /// Compiles the network into one CKKS program at N = 2^14, encrypts the input, runs the
    /// program (on the accelerator's functional executor by default), decrypts and compares.
    Infer(heaccel_cli::infer::InferArgs),
    /// A trained CIFAR ResNet on encrypted images with minimax ReLU and bootstrapping.
    ///
    /// Chooses the minimax bounds on calibration images, compiles the network into one CKKS
    /// program at N/2 slots of a bootstrapping parameter set (bootstrappings placed where the
    /// levels run out), generates the keys, and for each image encrypts, runs the program on
    /// the reference evaluator, decrypts and compares with the plaintext pass with the same
    /// minimax ReLU (top-1 agreement, largest logit error).
    InferBoot(heaccel_cli::infer_boot::InferBootArgs),
    /// Top-1 accuracy of a trained network on labelled images, ReLU exact or minimax.
    ///
    /// Loads the weights (safetensors, PyTorch names), reads the images (ImageFolder, CIFAR-10
    /// binary or MNIST IDX) and classifies them with a multi-threaded f32 forward pass. With
    /// `--activation relu-minimax:ALPHA` every ReLU is the composite minimax polynomial the
    /// encrypted circuit evaluates, scaled by one bound per layer chosen on calibration images.
    Accuracy(heaccel_cli::accuracy::AccuracyArgs),
    /// HE-aware training of a zoo network (LeNet on MNIST, VGG-5 and HEFNet on CIFAR-10) with
    /// trainable quadratic activations; writes f32 safetensors with PyTorch names that
    /// --weights reads.
    Train(heaccel_cli::train::TrainArgs),
    /// Accuracy vs simulated latency of sub-block pruning: one network trained (or
    /// fine-tuned) per ratio, compiled and simulated; tradeoff.csv, .json and .svg.
    Tradeoff(heaccel_cli::tradeoff::TradeoffArgs),
    /// Write the Verilog, testbench and vector files of an RTL block.
    Verilog(heaccel_cli::rtl::VerilogArgs),
    /// Verification suites (`heaccel verify rtl`, `heaccel verify core`).
    #[command(subcommand)]
    Verify(heaccel_cli::rtl::VerifyCommand),
    /// Simulate every configuration of a grid (an operation or a network) in parallel; CSV
    /// and Pareto front.
    Sweep(heaccel_cli::sweep::SweepArgs),
    /// Merge the partial results of a sharded run (`--shard I/N` of sweep, accuracy,
    /// infer-boot) into exactly what the unsharded run writes.
    Merge(heaccel_cli::merge::MergeArgs),
    /// Polynomial approximations (`heaccel approx sign`).
    #[command(subcommand)]
    Approx(heaccel_cli::approx::ApproxCommand),
    /// FPGA flows: Verilog + Vivado/XDC/Yosys scripts, Yosys resource estimates, lane fit.
    #[command(subcommand)]
    Fpga(heaccel_cli::fpga::FpgaCommand),
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
    /// log2(N) for --op, in [4, 17].
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(4..=17))]
    log_n: u32,
    /// Levels L for --op (L + 1 primes in Q).
    #[arg(long, default_value_t = 35, value_parser = clap::value_parser!(u64).range(1..=200))]
    levels: u64,
    /// Key-switching digits for --op (ceil((L + 1) / dnum) special primes).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=200))]
    dnum: u64,
    /// Run the lowered --op on real data and check it bit-exactly against the reference model
    /// (--op bootstrap: on --ckks-preset, N <= 2^13).
    #[arg(long)]
    functional: bool,
    /// CKKS parameter preset of --op bootstrap (`boot-test` needs --allow-insecure); primes
    /// wider than the configuration's words are capped to fit them.
    #[arg(long, default_value = "n16-boot", value_name = "NAME")]
    ckks_preset: String,
    /// Slots of --op bootstrap (a power of two up to N/2; default N/2).
    #[arg(long)]
    slots: Option<usize>,
    /// Accept --op parameters beyond the 128-bit HE-standard bound.
    #[arg(long)]
    allow_insecure: bool,
    #[command(flatten)]
    hw: heaccel_cli::config_args::HwConfigArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write an SVG figure: unit utilization and the roofline position (--op,
    /// --program); with --model, the latency of each layer split by the unit bounding its
    /// operations, and each HE operation's utilization and roofline position.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// A zoo network (lenet, vgg5, hefnet, resnet20).
    #[arg(long, value_name = "NAME")]
    model: String,
    #[command(flatten)]
    model_args: network::ModelArgs,
    #[command(flatten)]
    hw: heaccel_cli::config_args::HwConfigArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum CkksCommand {
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
struct BootstrapArgs {
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
struct PresetsArgs {
    /// Print a JSON array of `{"name", "literal"}` instead of a table.
    #[arg(long)]
    json: bool,
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
struct KernelsArgs {
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
    if let Some(path) = &args.svg {
        heaccel_cli::output::check_output_file(path).context("--svg")?;
    }
    let config = args.hw.load()?;
    if let Some(model) = &args.model {
        let start = std::time::Instant::now();
        let r = network::simulate_model(model, args.strategy, &args.model_args, &config)?;
        let wall_seconds = start.elapsed().as_secs_f64();
        if let Some(path) = &args.svg {
            let svg = network::network_figure(&r, &config)?;
            heaccel_cli::output::write_whole(path, &svg)?;
            if !args.json {
                println!("wrote {}", path.display());
            }
        }
        let instructions = r.whole_program.as_ref().map_or(0, |w| w.instructions);
        if args.json {
            // the run's own figures beside the (deterministic) report
            let mut value = serde_json::to_value(&r)?;
            value["run"] = serde_json::json!({
                "wall_seconds": wall_seconds,
                "instructions": instructions,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        } else {
            print!("{}", network::format_sim(&r));
            println!(
                "  {wall_seconds:.2} s wall for the command ({instructions} whole-program instructions)"
            );
        }
        return Ok(());
    }
    if args.program.is_none() && args.op == Some(simulate::Op::Bootstrap) {
        let report = heaccel_cli::simboot::run(
            &args.ckks_preset,
            args.slots,
            args.allow_insecure,
            args.functional,
            &config,
        )?;
        if let Some(path) = &args.svg {
            heaccel_cli::output::write_whole(path, &report.figure(&config)?)?;
            if !args.json {
                println!("wrote {}", path.display());
            }
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.to_table());
        }
        return Ok(());
    }
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
                heaccel_corun::check_memory(&program, "--functional")?;
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
        heaccel_cli::output::write_whole(path, &svg)?;
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

fn sweep_command(args: &heaccel_cli::sweep::SweepArgs) -> Result<()> {
    if args.distribute.slurm {
        return print_plan(&heaccel_cli::sweep::slurm(args)?, args.json);
    }
    let report = heaccel_cli::sweep::command(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", heaccel_cli::sweep::format_report(&report));
    }
    Ok(())
}

fn print_plan(plan: &heaccel_cli::distribute::SlurmPlan, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(plan)?);
    } else {
        print!("{}", heaccel_cli::distribute::format_plan(plan));
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
        Some(Command::Ckks(CkksCommand::Bootstrap(args))) => bootstrap_command(&args),
        Some(Command::Simulate(args)) => simulate_command(&args),
        Some(Command::Compare(args)) => {
            let config = args.hw.load()?;
            let c = network::compare_model(&args.model, &args.model_args, &config)?;
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
        Some(Command::InferBoot(args)) if args.distribute.slurm => print_plan(
            &heaccel_cli::infer_boot::infer_boot_slurm(&args)?,
            args.json,
        ),
        Some(Command::InferBoot(args)) => {
            let run = heaccel_cli::infer_boot::infer_boot_command(&args, true)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&run)?);
            } else {
                print!("{}", heaccel_cli::infer_boot::format_infer_boot(&run));
            }
            if args.verify && run.agree_with_plaintext < run.images {
                anyhow::bail!(
                    "--verify: the encrypted top-1 differs from the plaintext minimax pass on {} \
                     of {} images",
                    run.images - run.agree_with_plaintext,
                    run.images
                );
            }
            Ok(())
        }
        Some(Command::Accuracy(args)) if args.distribute.slurm => {
            print_plan(&heaccel_cli::accuracy::accuracy_slurm(&args)?, args.json)
        }
        Some(Command::Accuracy(args)) => {
            let run = heaccel_cli::accuracy::accuracy_command(&args, true)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&run)?);
            } else {
                print!("{}", heaccel_cli::accuracy::format_accuracy(&run));
            }
            Ok(())
        }
        Some(Command::Train(args)) => {
            let run = heaccel_cli::train::train_command(&args, true)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&run)?);
            } else {
                print!("{}", heaccel_cli::train::format_train(&run));
            }
            Ok(())
        }
        Some(Command::Tradeoff(args)) => {
            let result = heaccel_cli::tradeoff::tradeoff_command(&args, true)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                print!("{}", heaccel_cli::tradeoff::format_tradeoff(&result));
            }
            Ok(())
        }
        Some(Command::Verilog(args)) => {
            let dirs = heaccel_cli::rtl::verilog_command(&args)?;
            if args.json {
                let written = serde_json::json!({ "written": dirs });
                println!("{}", serde_json::to_string_pretty(&written)?);
            } else {
                dirs.iter().for_each(|d| println!("wrote {}", d.display()));
            }
            Ok(())
        }
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
        Some(Command::Verify(heaccel_cli::rtl::VerifyCommand::Core(args))) => {
            let report = heaccel_cli::corerun::verify_core(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", heaccel_cli::corerun::format_core_table(&report));
            }
            anyhow::ensure!(
                report.pass,
                "the core disagrees with the functional executor"
            );
            Ok(())
        }
        Some(Command::Sweep(args)) => sweep_command(&args),
        Some(Command::Merge(args)) => {
            let report = heaccel_cli::merge::merge_command(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", heaccel_cli::merge::format_merge(&report));
            }
            Ok(())
        }
        Some(Command::Approx(heaccel_cli::approx::ApproxCommand::Sign(args))) => {
            let report = heaccel_cli::approx::sign_report(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", heaccel_cli::approx::format_sign_report(&report));
            }
            Ok(())
        }
        Some(Command::Fpga(heaccel_cli::fpga::FpgaCommand::Build(args))) => {
            for f in heaccel_cli::fpga::build(&args)? {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
        Some(Command::Fpga(heaccel_cli::fpga::FpgaCommand::Estimate(args))) => {
            let report = heaccel_cli::fpga::estimate(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", heaccel_cli::fpga::format_estimate(&report));
            }
            Ok(())
        }
        Some(Command::Ckks(CkksCommand::Params(args))) => {
            let (_, params) = params_file::resolve_params(&args.preset, args.params.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&params)?);
            Ok(())
        }
        Some(Command::Ckks(CkksCommand::Kernels(args))) => {
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
        Some(Command::Ckks(CkksCommand::Presets(args))) => {
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

/// A closed stdout ends the program as it ends Unix tools: by SIGPIPE (exit status 141 in a
/// shell), quietly, instead of Rust's default (the signal ignored, then a panic on the failed
/// write).
fn die_quietly_on_closed_stdout() {
    // SAFETY: restoring a signal's default disposition at start-up, before any thread exists.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    die_quietly_on_closed_stdout();
    // Freed polynomials stay in the process for reuse (see heaccel_verification::memory).
    heaccel_verification::memory::keep_freed_memory();
    let matches = heaccel_cli::help::with_examples(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let threads = cli.threads;
    let outcome = heaccel_verification::threads::run_in_pool(threads, || run(cli))
        .map_err(anyhow::Error::from)
        .and_then(|r| r);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
