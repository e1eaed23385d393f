//! The `heaccel` command: its arguments and the dispatch to each subcommand. The `ckks`
//! subcommands live in `main_ckks`, `simulate` and `compare` in `main_simulate` (modules of
//! the binary, not of the library).

mod main_ckks;
mod main_simulate;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use main_ckks::CkksCommand;
use main_simulate::{CompareArgs, SimulateArgs};

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
        Some(Command::Ckks(command)) => main_ckks::run(command),
        Some(Command::Simulate(args)) => main_simulate::simulate_command(&args),
        Some(Command::Compare(args)) => main_simulate::compare_command(&args),
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
                "the core disagrees with the functional executor, the reference evaluator or \
                 (for --op) the simulator's cycles"
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
