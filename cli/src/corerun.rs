//! `heaccel verify core --program FILE`: the arguments and the table of
//! [`heaccel_corun::verify_core_program`] (the program on the accelerator core, rust-hdl and
//! Verilator, against the functional executor and the timing simulator).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use heaccel_corun::{verify_core_program, VerifyCoreReport};

/// Arguments of `heaccel verify core`.
#[derive(Debug, Args)]
pub struct VerifyCoreArgs {
    /// The ISA program (JSON, or the binary `HEAX` form).
    #[arg(long, value_name = "FILE")]
    pub program: PathBuf,
    /// log2(N) of the core; must equal the program's `log_n` (default: the program's).
    #[arg(long = "log-n", value_name = "K")]
    pub log_n: Option<u32>,
    /// NTT butterfly lanes P of the core (power of two, N >= 4P); every other unit moves
    /// 2P words per cycle.
    #[arg(long, default_value_t = 4, value_name = "P")]
    pub lanes: usize,
    /// Seed of the random input and key buffers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the Verilator co-run (a C++ build of the whole core).
    #[arg(long)]
    pub no_verilator: bool,
    /// Folder for the Verilog co-run files (default: a folder under the system temp dir).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `heaccel verify core`.
pub fn verify_core(args: &VerifyCoreArgs) -> Result<VerifyCoreReport> {
    let source = args.program.display().to_string();
    let program = crate::simulate::load_program(&args.program)?;
    if let Some(k) = args.log_n {
        if k != program.log_n {
            bail!(
                "--log-n {k}: {source} is a program for N = 2^{} (its moduli are = 1 mod 2N)",
                program.log_n
            );
        }
    }
    let dir = args.out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("heaccel-verify-core-{}", std::process::id()))
    });
    Ok(verify_core_program(
        &program,
        &source,
        args.lanes,
        args.seed,
        (!args.no_verilator).then_some(dir.as_path()),
    )?)
}

/// The table of a report.
pub fn format_core_table(r: &VerifyCoreReport) -> String {
    let mut s = format!(
        "core co-run: {} (N = 2^{}, P = {}, {} limbs, {} instructions, {} limbs stored)\n",
        r.program, r.log_n, r.lanes, r.limbs, r.instructions, r.stores
    );
    s += &format!(
        "rust-hdl core   {:<5} {} cycles\n",
        if r.rust_hdl_bit_exact { "pass" } else { "FAIL" },
        r.core_cycles
    );
    s += &format!(
        "verilator       {:<5} {}\n",
        r.verilator, r.verilator_detail
    );
    for c in &r.simulator {
        s += &format!(
            "simulator       {:<33} {} cycles ({:+.1}% vs core)\n",
            c.config, c.simulator, c.difference_percent
        );
    }
    s += if r.pass { "PASS\n" } else { "FAIL\n" };
    s
}
