//! `heaccel verilog` and `heaccel verify rtl`: Verilog of the hdl/ blocks with their vector
//! files, and the table of every RTL check (rust-hdl simulation, Icarus and Verilator
//! co-simulation with negative controls, Verilator lint, Yosys synthesis).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use heaccel_hdl::verify::{all_bundles, verify_bundles, CheckRow};
use heaccel_hdl::verilog::Bundle;
use heaccel_hdl::{blocks, AutomorphGeometry, NttGeometry, Prime, SUPPORTED_WORDS};
use heaccel_verification::arith::ntt_primes;
use serde::Serialize;

/// Blocks `heaccel verilog` can emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Block {
    /// Shoup modular multiplier.
    Modmul,
    /// Cooley-Tukey and Gentleman-Sande butterflies (two folders).
    Butterfly,
    /// NTT unit (forward and inverse, `--log-n`, `--lanes` butterflies).
    Ntt,
    /// Automorphism unit (`--log-n`, `--lanes` coefficients per cycle).
    Automorph,
}

impl Block {
    /// The block's bundle names among [`heaccel_hdl::verify::all_bundles`]'s.
    pub fn bundle_names(self) -> &'static [&'static str] {
        match self {
            Block::Modmul => &["modmul"],
            Block::Butterfly => &["ct_butterfly", "gs_butterfly"],
            Block::Ntt => &["ntt"],
            Block::Automorph => &["automorph"],
        }
    }
}

/// Arguments of `heaccel verilog`.
#[derive(Debug, Args)]
pub struct VerilogArgs {
    /// Which block.
    #[arg(long, value_enum)]
    pub block: Block,
    /// log2(N): the unit size and the twiddles in the vectors are those of N = 2^K
    /// (K in [2, 14]; the NTT unit needs N >= 4P, the automorphism unit N >= 2P).
    #[arg(long = "log-n", default_value_t = 12, value_name = "K")]
    pub log_n: u32,
    /// Butterflies (NTT unit) or coefficients per cycle (automorphism unit): a power of two
    /// in [1, 128] (NTT) or [1, 256] (automorphism).
    #[arg(long, default_value_t = 8, value_name = "P")]
    pub lanes: u32,
    /// Machine word in bits: 32, 36 or 64 (primes below 2^(W-2)).
    #[arg(long, default_value_t = 32, value_name = "W")]
    pub word: u32,
    /// The prime, below 2^(W-2), and below 2^61 for the ntt block (its vectors come from the
    /// reference NTT); default: the largest prime = 1 mod 2N of W - 2 bits, 61 bits at W = 64.
    #[arg(long)]
    pub q: Option<u64>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print the folders written as one JSON object (`{"written": [...]}`).
    #[arg(long)]
    pub json: bool,
}

/// `heaccel verify ...`.
#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Every RTL check of every block: rust-hdl simulation against the reference, Icarus
    /// and Verilator co-simulation on the vector files (with corrupted- and missing-file
    /// controls), verilator --lint-only, Yosys synth_xilinx + check -assert.
    Rtl(VerifyRtlArgs),
    /// An ISA program on the accelerator core (rust-hdl model and Verilator) against the
    /// functional executor, bit-exactly, with cycles of the core vs the timing simulator.
    Core(crate::corerun::VerifyCoreArgs),
}

/// Arguments of `heaccel verify rtl`.
#[derive(Debug, Args)]
pub struct VerifyRtlArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Skip the Verilator co-simulation (a C++ build per block).
    #[arg(long)]
    pub no_verilator: bool,
    /// Folder for the generated files (default: a folder under the system temp dir).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// log2(N) of the NTT and automorphism units checked (K in [2, 14]; N >= 4P).
    #[arg(long = "log-n", default_value_t = 8, value_name = "K")]
    pub log_n: u32,
    /// Lanes P of the NTT and automorphism units checked (power of two; N >= 4P).
    #[arg(long, default_value_t = 4, value_name = "P")]
    pub lanes: u32,
    /// Machine word W of the blocks checked: 32, 36 or 64.
    #[arg(long, default_value_t = 32, value_name = "W")]
    pub word: u32,
    /// Check this block only (default: every block).
    #[arg(long, value_enum)]
    pub block: Option<Block>,
    /// Also write the VCD waveform of --block's rust-hdl simulation (GTKWave, Surfer); for
    /// butterfly, FILE's stem gets `-ct_butterfly` and `-gs_butterfly`.
    #[arg(long, value_name = "FILE", requires = "block")]
    pub vcd: Option<PathBuf>,
}

/// JSON report of `heaccel verify rtl --json`.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    /// Machine word W of the checked blocks.
    pub word: u32,
    /// The prime of the checked blocks.
    pub q: u64,
    /// log2(N) of the twiddles in the scalar blocks' vectors.
    pub log_n: u32,
    /// log2(N) of the NTT and automorphism units checked.
    pub unit_log_n: u32,
    /// Lanes of the NTT and automorphism units checked.
    pub unit_lanes: u32,
    /// `true` when no row failed (skipped rows do not fail).
    pub pass: bool,
    /// One row per block and check.
    pub rows: Vec<CheckRow>,
    /// The VCD waveforms written (`--vcd`).
    pub waveforms: Vec<PathBuf>,
}

/// Validates `--word`: one of the widths the blocks are built for.
fn check_word(word: u32) -> Result<usize> {
    let w = word as usize;
    if !SUPPORTED_WORDS.contains(&w) {
        let list: Vec<String> = SUPPORTED_WORDS.iter().map(|w| w.to_string()).collect();
        bail!(
            "--word {word}: the RTL blocks are built for W = {} only",
            list.join(", ")
        );
    }
    Ok(w)
}

fn default_prime(log_n: u32, word: usize) -> Result<Prime> {
    let bits = (word as u32 - 2).min(61);
    let q = ntt_primes(bits, log_n, 1, &[]).with_context(|| format!("no {bits}-bit NTT prime"))?[0];
    Ok(Prime::for_word(q, word)?)
}

fn check_prime(q: Option<u64>, log_n: u32, word: usize) -> Result<Prime> {
    match q {
        None => default_prime(log_n, word),
        Some(q) => {
            let p = Prime::for_word(q, word).with_context(|| format!("--q {q}"))?;
            let two_n = 2u64 << log_n;
            if q % two_n != 1 {
                bail!("--q {q}: must be 1 mod 2N = {two_n} for --log-n {log_n}");
            }
            Ok(p)
        }
    }
}

/// `heaccel verilog`: writes the block's `top.v`, `tb.v` and `vectors.hex` under `--out`
/// (butterflies in `ct_butterfly/` and `gs_butterfly/`); returns the folders written.
pub fn verilog_command(args: &VerilogArgs) -> Result<Vec<PathBuf>> {
    let word = check_word(args.word)?;
    if !(2..=14).contains(&args.log_n) {
        bail!("--log-n {}: allowed range is [2, 14]", args.log_n);
    }
    // The lane limit of the block that uses --lanes (the units' geometry checks the rest).
    let max_lanes = match args.block {
        Block::Ntt => NttGeometry::MAX_LANES,
        _ => AutomorphGeometry::MAX_LANES,
    } as u32;
    if !args.lanes.is_power_of_two() || args.lanes > max_lanes {
        bail!(
            "--lanes {}: must be a power of two in [1, {max_lanes}] for --block {}",
            args.lanes,
            format!("{:?}", args.block).to_lowercase()
        );
    }
    let q = check_prime(args.q, args.log_n, word)?;
    if args.block == Block::Ntt && q.value() >= 1 << 61 {
        bail!(
            "--q {}: the ntt block's vectors come from the reference NTT, which takes primes \
             below 2^61",
            q.value()
        );
    }
    let outputs = ["top.v", "tb.v", "vectors.hex"];
    crate::output::check_outputs(&args.out, &outputs).context("--out")?;
    if args.block == Block::Butterfly {
        for sub in ["ct_butterfly", "gs_butterfly"] {
            crate::output::check_outputs(&args.out.join(sub), &outputs).context("--out")?;
        }
    }
    let command = format!(
        "heaccel verilog --block {} --log-n {} --lanes {} --word {} --q {} --out {}",
        format!("{:?}", args.block).to_lowercase(),
        args.log_n,
        args.lanes,
        args.word,
        q.value(),
        args.out.display()
    );
    let bundles = match word {
        32 => block_bundles::<32>(args, q, &command)?,
        36 => block_bundles::<36>(args, q, &command)?,
        64 => block_bundles::<64>(args, q, &command)?,
        _ => unreachable!("checked by check_word"),
    };
    let mut dirs = Vec::new();
    for b in &bundles {
        let dir = if bundles.len() == 1 {
            args.out.clone()
        } else {
            args.out.join(&b.name)
        };
        crate::output::write_all_or_nothing(
            &dir,
            &[
                ("top.v", b.top_file()),
                ("tb.v", b.testbench()),
                ("vectors.hex", b.vector_file()),
            ],
        )
        .with_context(|| format!("writing {}", dir.display()))?;
        dirs.push(dir);
    }
    Ok(dirs)
}

/// The bundles `heaccel verilog` writes for one block at word `W`.
fn block_bundles<const W: usize>(
    args: &VerilogArgs,
    q: Prime,
    command: &str,
) -> Result<Vec<Bundle>> {
    Ok(match args.block {
        Block::Modmul => vec![blocks::modmul_bundle::<W>(q, args.log_n, 300, command)],
        Block::Butterfly => vec![
            blocks::butterfly_bundle::<W>(q, args.log_n, false, 300, command),
            blocks::butterfly_bundle::<W>(q, args.log_n, true, 300, command),
        ],
        Block::Ntt => {
            let geo = NttGeometry::new(args.log_n, args.lanes as usize)
                .map_err(|e| anyhow::anyhow!("--{e}"))?;
            vec![blocks::ntt_bundle::<W>(q, geo, 2, command)]
        }
        Block::Automorph => {
            let geo = AutomorphGeometry::new(args.log_n, args.lanes as usize)
                .map_err(|e| anyhow::anyhow!("--{e}"))?;
            vec![blocks::automorph_bundle::<W>(q, geo, 1, command)]
        }
    })
}

/// Every check of every block at word `W` (see [`verify_rtl`]).
fn verify_at<const W: usize>(
    args: &VerifyRtlArgs,
    q: Prime,
    log_n: u32,
    dir: &Path,
) -> Result<(Vec<CheckRow>, Vec<PathBuf>)> {
    let bundles = all_bundles::<W>(
        q,
        log_n,
        args.log_n,
        args.lanes as usize,
        &format!(
            "heaccel verify rtl --log-n {} --lanes {} --word {W}",
            args.log_n, args.lanes
        ),
    )
    .map_err(|e| anyhow::anyhow!("--{e}"))?;
    let bundles: Vec<_> = match args.block {
        Some(b) => bundles
            .into_iter()
            .filter(|x| b.bundle_names().contains(&x.name.as_str()))
            .collect(),
        None => bundles,
    };
    let mut waveforms = Vec::new();
    if let Some(path) = &args.vcd {
        crate::output::check_output_file(path).context("--vcd")?;
        for b in &bundles {
            let file = crate::waveform::vcd_path(path, &b.name, bundles.len());
            crate::waveform::write_vcd::<W>(b, q, &file)?;
            waveforms.push(file);
        }
    }
    // one block at a time, so that a terminal shows progress through the tool runs
    let progress = crate::progress::bar(bundles.len() as u64, "verify rtl");
    let mut rows = Vec::new();
    for b in &bundles {
        progress.set_message(b.name.clone());
        rows.extend(verify_bundles::<W>(
            std::slice::from_ref(b),
            q,
            dir,
            !args.no_verilator,
        ));
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok((rows, waveforms))
}

/// `heaccel verify rtl`: every check of every implemented block.
pub fn verify_rtl(args: &VerifyRtlArgs) -> Result<VerifyReport> {
    let log_n = 8;
    let word = check_word(args.word)?;
    let q = default_prime(14, word)?;
    let dir = args.out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("heaccel-verify-rtl-{}", std::process::id()))
    });
    if !(2..=14).contains(&args.log_n) {
        bail!("--log-n {}: allowed range is [2, 14]", args.log_n);
    }
    let dir = Path::new(&dir);
    let (rows, waveforms) = match word {
        32 => verify_at::<32>(args, q, log_n, dir)?,
        36 => verify_at::<36>(args, q, log_n, dir)?,
        64 => verify_at::<64>(args, q, log_n, dir)?,
        _ => unreachable!("checked by check_word"),
    };
    let pass = rows.iter().all(|r| r.status != "fail");
    Ok(VerifyReport {
        word: args.word,
        q: q.value(),
        log_n,
        unit_log_n: args.log_n,
        unit_lanes: args.lanes,
        pass,
        rows,
        waveforms,
    })
}

/// The table of a report.
pub fn format_table(report: &VerifyReport) -> String {
    let mut s = format!(
        "RTL checks (W = {}, q = {}, twiddles of N = 2^{}; units at N = 2^{}, P = {})\n{:<14} \
         {:<20} {:<6} detail\n",
        report.word,
        report.q,
        report.log_n,
        report.unit_log_n,
        report.unit_lanes,
        "block",
        "check",
        "status"
    );
    for r in &report.rows {
        s += &format!(
            "{:<14} {:<20} {:<6} {}\n",
            r.block, r.check, r.status, r.detail
        );
    }
    s += if report.pass { "PASS\n" } else { "FAIL\n" };
    s
}
