//! The main job (`heaccel` with no subcommand, `cargo run --release`): LeNet compiled with the
//! dense baseline and SpENCNN, both simulated on `fpga-u280` (`heaccel compare --model lenet`),
//! the SpENCNN program run encrypted on one seeded input on the accelerator's functional
//! executor and checked against the plaintext pass (`heaccel infer --model lenet --verify`),
//! and the reports written into a folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::infer::{format_infer, infer_command, BackendArg, InferArgs, InferReport};
use crate::network::{compare_model, format_compare, network_figure, ModelArgs, RepackArg};
use crate::output::{check_output_dir, check_output_file, write_all_or_nothing};
use heaccel_host::netsim::Comparison;

/// The main job's settings (the defaults: LeNet, `fpga-u280`, seed 1, the functional
/// executor, `heaccel-report/`).
#[derive(Debug, Clone)]
pub struct MainJobArgs {
    /// The network.
    pub model: String,
    /// The hardware configuration.
    pub config: String,
    /// Seed of the verified input.
    pub seed: u64,
    /// Where the encrypted inference runs.
    pub backend: BackendArg,
    /// Folder for the reports (created if missing).
    pub out: PathBuf,
}

impl Default for MainJobArgs {
    fn default() -> Self {
        MainJobArgs {
            model: "lenet".into(),
            config: "fpga-u280".into(),
            seed: 1,
            backend: BackendArg::Functional,
            out: PathBuf::from("heaccel-report"),
        }
    }
}

/// What the main job found and wrote.
#[derive(Debug, Clone, Serialize)]
pub struct MainJobReport {
    /// Dense vs SpENCNN, simulated.
    pub comparison: Comparison,
    /// The encrypted SpENCNN inference against the plaintext pass.
    pub verification: InferReport,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Runs the main job (see the module docs); `progress` shows a progress bar on a terminal.
pub fn main_job(args: &MainJobArgs, progress: bool) -> Result<MainJobReport> {
    check_output_dir(&args.out).context("--out")?;
    let name = |suffix: &str| format!("{}-{suffix}", args.model);
    let names = [
        name("compare.json"),
        name("infer.json"),
        name("dense-layers.svg"),
        name("spencnn-layers.svg"),
    ];
    if args.out.is_dir() {
        for n in &names {
            check_output_file(&args.out.join(n)).context("--out")?;
        }
    }
    let model_args = ModelArgs {
        prune: None,
        activation: None,
        pool: "avg".into(),
        repack: RepackArg::Auto,
        weights: None,
    };
    let config = crate::simulate::load_config(&args.config)?;
    let comparison = compare_model(&args.model, &model_args, &config)?;
    let verification = infer_command(
        &InferArgs {
            seed: args.seed,
            backend: args.backend,
            ..InferArgs::new(&args.model)
        },
        progress,
    )?;
    let name = |suffix: &str| format!("{}-{suffix}", args.model);
    let mut outputs = vec![
        (
            name("compare.json"),
            serde_json::to_string_pretty(&comparison)?,
        ),
        (
            name("infer.json"),
            serde_json::to_string_pretty(&verification)?,
        ),
    ];
    for (strategy, sim) in [
        ("dense", &comparison.dense),
        ("spencnn", &comparison.spencnn),
    ] {
        outputs.push((
            name(&format!("{strategy}-layers.svg")),
            network_figure(sim, &config)?,
        ));
    }
    let outputs: Vec<(&str, String)> = outputs
        .iter()
        .map(|(n, t)| (n.as_str(), t.clone()))
        .collect();
    let files = write_all_or_nothing(&args.out, &outputs)
        .with_context(|| format!("writing the reports into {}", args.out.display()))?;
    Ok(MainJobReport {
        comparison,
        verification,
        files,
    })
}

/// The main job's printout: the comparison table, the verification and the files.
pub fn format_main_job(r: &MainJobReport) -> String {
    let mut s = format_compare(&r.comparison);
    let _ = writeln!(s);
    s.push_str(&format_infer(&r.verification));
    let _ = writeln!(s);
    for f in &r.files {
        let _ = writeln!(s, "wrote {}", display(f));
    }
    s
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
