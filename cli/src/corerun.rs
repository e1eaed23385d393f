//! `heaccel verify core --program FILE | --op hmult|rotate|rescale|conjugate`: the arguments
//! and the table of [`heaccel_corun::verify_core_program`] and
//! [`heaccel_corun::verify_core_operation`] (a program or a whole CKKS operation on the
//! accelerator core, rust-hdl and Verilator, against the functional executor, the reference
//! evaluator and the timing simulator).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{ArgGroup, Args, ValueEnum};
use heaccel_corun::{
    verify_core_operation, verify_core_program, CoreIssue, CoreOperation, VerifyCoreReport,
};

/// A whole CKKS operation for `verify core --op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OperationArg {
    /// Ciphertext product with relinearization.
    Hmult,
    /// Rotation by one slot.
    Rotate,
    /// Rescale by the top prime.
    Rescale,
    /// Complex conjugation.
    Conjugate,
}

impl From<OperationArg> for CoreOperation {
    fn from(op: OperationArg) -> Self {
        match op {
            OperationArg::Hmult => CoreOperation::Hmult,
            OperationArg::Rotate => CoreOperation::Rotate,
            OperationArg::Rescale => CoreOperation::Rescale,
            OperationArg::Conjugate => CoreOperation::Conjugate,
        }
    }
}

/// How the core issues instructions (`--issue`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum IssueArg {
    /// One instruction at a time.
    InOrder,
    /// Independent instructions on different engines at once, under a scoreboard of slots.
    #[default]
    Overlapped,
}

impl From<IssueArg> for CoreIssue {
    fn from(issue: IssueArg) -> Self {
        match issue {
            IssueArg::InOrder => CoreIssue::InOrder,
            IssueArg::Overlapped => CoreIssue::Overlapped,
        }
    }
}

/// Arguments of `heaccel verify core`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["program", "op"])))]
pub struct VerifyCoreArgs {
    /// The ISA program (JSON, or the binary `HEAX` form).
    #[arg(long, value_name = "FILE")]
    pub program: Option<PathBuf>,
    /// A whole CKKS operation, lowered by the host from real ciphertexts and keys (three
    /// 27-29-bit ciphertext primes, two special primes, dnum 2; insecure at these N, for
    /// bit-exactness only) and checked against the reference evaluator; fails if the core's
    /// cycles and the simulator's (derived, the core's issue policy) differ by more than 5%.
    #[arg(long, value_enum, value_name = "OP")]
    pub op: Option<OperationArg>,
    /// log2(N) of the core: with --program it must equal the program's `log_n` (default:
    /// the program's); with --op, 10 to 13 (default 10).
    #[arg(long = "log-n", value_name = "K")]
    pub log_n: Option<u32>,
    /// NTT butterfly lanes P of the core (power of two, N >= 4P); every other unit moves
    /// 2P words per cycle.
    #[arg(long, default_value_t = 4, value_name = "P")]
    pub lanes: usize,
    /// Seed of the random input and key buffers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Negative control (with --op): build the core with one wrong word in its first
    /// basis-conversion ROM; the run must then FAIL.
    #[arg(long, requires = "op")]
    pub inject_rom_fault: bool,
    /// How the core issues instructions; the simulator configuration it is held to follows
    /// (in-order: blocking; overlapped: scoreboard).
    #[arg(long, value_enum, default_value_t = IssueArg::Overlapped, value_name = "POLICY")]
    pub issue: IssueArg,
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
    let dir = args.out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("heaccel-verify-core-{}", std::process::id()))
    });
    let verilator = (!args.no_verilator).then_some(dir.as_path());
    let path = match (&args.program, args.op) {
        (_, Some(op)) => {
            return Ok(verify_core_operation(
                op.into(),
                args.log_n.unwrap_or(10),
                args.lanes,
                args.seed,
                verilator,
                args.inject_rom_fault,
                args.issue.into(),
            )?)
        }
        (Some(path), None) => path,
        (None, None) => bail!("give --program FILE or --op OP"),
    };
    let source = path.display().to_string();
    let program = crate::simulate::load_program(path)?;
    if let Some(k) = args.log_n {
        if k != program.log_n {
            bail!(
                "--log-n {k}: {source} is a program for N = 2^{} (its moduli are = 1 mod 2N)",
                program.log_n
            );
        }
    }
    Ok(verify_core_program(
        &program,
        &source,
        args.lanes,
        args.seed,
        verilator,
        args.issue.into(),
    )?)
}

/// The table of a report.
pub fn format_core_table(r: &VerifyCoreReport) -> String {
    let mut s = format!(
        "core co-run: {} (N = 2^{}, P = {}, {} limbs, {} instructions, {} limbs stored, {} \
         issue)\n",
        r.program, r.log_n, r.lanes, r.limbs, r.instructions, r.stores, r.issue
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
    if let Some(exact) = r.reference_bit_exact {
        s += &format!(
            "reference       {:<5} {}\n",
            if exact { "pass" } else { "FAIL" },
            r.reference_detail
        );
    }
    if let Some(within) = r.cycles_within_tolerance {
        s += &format!(
            "cycles          {:<5} core vs simulator {} within {}%\n",
            if within { "pass" } else { "FAIL" },
            r.simulator_match,
            heaccel_corun::CYCLE_TOLERANCE_PERCENT
        );
    }
    for c in &r.simulator {
        s += &format!(
            "simulator       {:<33} {} cycles ({:+.1}% vs core)\n",
            c.config, c.simulator, c.difference_percent
        );
    }
    s += if r.pass { "PASS\n" } else { "FAIL\n" };
    s
}
