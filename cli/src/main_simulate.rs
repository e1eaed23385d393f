//! The `heaccel simulate` and `heaccel compare` subcommands of the binary (not the library):
//! their arguments and how each prints its report.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use heaccel_cli::{network, simulate};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["program", "op", "model"])))]
pub(crate) struct SimulateArgs {
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
pub(crate) struct CompareArgs {
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

pub(crate) fn simulate_command(args: &SimulateArgs) -> Result<()> {
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

/// `heaccel compare`: the dense baseline and SpENCNN side by side.
pub(crate) fn compare_command(args: &CompareArgs) -> Result<()> {
    let config = args.hw.load()?;
    let c = network::compare_model(&args.model, &args.model_args, &config)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", network::format_compare(&c));
    }
    Ok(())
}
