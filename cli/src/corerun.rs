//! `heaccel verify core --program FILE`: runs an ISA program on the accelerator core
//! (heaccel-hdl `core`: the rust-hdl model and, where Verilator is installed, its emitted
//! Verilog) and on the functional executor, compares every stored limb bit-exactly, and
//! compares the core's cycle count with the timing simulator's on a [`core_hw_config`]
//! describing the same core.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use heaccel_hdl::core::{
    build_verilator_core, core_bundle, cycles_of, opcode, CoreGeometry, CoreInstr, CoreSim, EwLane,
};
use heaccel_hdl::verilog::{run_verilator, ToolOutcome};
use heaccel_hdl::{AutomorphUnit, NttUnit, MAX_Q_BITS};
use heaccel_sim::config::{
    AutomorphConfig, HwConfig, IssueConfig, IssuePolicy, LanesConfig, MemoryConfig, NttConfig,
    ScratchpadConfig,
};
use heaccel_sim::functional::{FunctionalExecutor, Memory};
use heaccel_sim::isa::{BufferRole, Instruction, PolyForm, Program};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

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

/// A program translated for the core.
#[derive(Clone, Debug)]
pub struct CoreProgram {
    /// The core it runs on.
    pub geometry: CoreGeometry,
    /// Its instructions.
    pub instructions: Vec<CoreInstr>,
    /// `(buffer, limb)` of each `load`, in program order.
    pub loads: Vec<(usize, usize)>,
    /// `(buffer, limb)` of each `store`, in program order.
    pub stores: Vec<(usize, usize)>,
}

/// Translates `program` (validated) for a core with `lanes` NTT lanes. Refuses, naming the
/// file and the field: primes of 30 bits or more (the core's word), more than 16 primes or
/// 256 slots, `bconv` (basis conversion is not an on-chip instruction of the core),
/// coefficient-form `automorph` (the automorphism unit works in the NTT domain), and a `load`
/// of a limb the program stored before (the co-run streams inputs from the initial memory).
pub fn translate(program: &Program, lanes: usize, source: &str) -> Result<CoreProgram> {
    program.validate(source)?;
    for (i, &q) in program.moduli.iter().enumerate() {
        if q >> MAX_Q_BITS != 0 {
            bail!("{source}: moduli[{i}] = {q}: the core's primes must be below 2^{MAX_Q_BITS}");
        }
    }
    let count = program.instructions.len();
    if count > CoreGeometry::MAX_QUEUE {
        bail!(
            "{source}: {count} instructions; the core's instruction queue holds at most {} \
             (verify core runs programs of up to that many instructions)",
            CoreGeometry::MAX_QUEUE
        );
    }
    check_memory(program, source)?;
    let queue = count.max(2).next_power_of_two();
    let geometry = CoreGeometry::new(
        program.log_n,
        lanes,
        &program.moduli,
        program.slots as usize,
        queue,
    )
    .map_err(|e| anyhow::anyhow!("{source}: the core for this program: {e}"))?;
    let mut instructions = Vec::new();
    let (mut loads, mut stores) = (Vec::new(), Vec::new());
    let mut stored = std::collections::HashSet::new();
    for (k, ins) in program.instructions.iter().enumerate() {
        use Instruction::*;
        let field = format!("{source}: instructions[{k}] ({})", ins.name());
        let (op, m, dst, a, b, imm) = match ins {
            Load { dst, buffer, limb } => {
                let key = (*buffer as usize, *limb as usize);
                if stored.contains(&key) {
                    bail!(
                        "{field}: loads limb {limb} of buffer `{}` after a store to it; the \
                         co-run streams loads from the initial memory",
                        program.buffers[*buffer as usize].name
                    );
                }
                loads.push(key);
                (opcode::LOAD, 0, *dst, 0, 0, 0)
            }
            Store { src, buffer, limb } => {
                stores.push((*buffer as usize, *limb as usize));
                stored.insert((*buffer as usize, *limb as usize));
                (opcode::STORE, 0, 0, *src, 0, 0)
            }
            Ntt { slot, modulus } => (opcode::NTT, *modulus, *slot, *slot, 0, 0),
            Intt { slot, modulus } => (opcode::INTT, *modulus, *slot, *slot, 0, 0),
            Add { dst, a, b, modulus } => (opcode::ADD, *modulus, *dst, *a, *b, 0),
            Sub { dst, a, b, modulus } => (opcode::SUB, *modulus, *dst, *a, *b, 0),
            Mul { dst, a, b, modulus } => (opcode::MUL, *modulus, *dst, *a, *b, 0),
            AddScalar {
                dst,
                a,
                scalar,
                modulus,
            } => (opcode::ADD_SCALAR, *modulus, *dst, *a, 0, *scalar),
            MulScalar {
                dst,
                a,
                scalar,
                modulus,
            } => (opcode::MUL_SCALAR, *modulus, *dst, *a, 0, *scalar),
            Mac { acc, a, b, modulus } => (opcode::MAC, *modulus, *acc, *a, *b, 0),
            Automorph {
                dst,
                src,
                galois,
                form,
                modulus,
            } => {
                if *form == PolyForm::Coeff {
                    bail!(
                        "{field}: coefficient-form automorphisms are not on-chip instructions of \
                         the core (its automorphism unit permutes NTT-domain vectors); use \
                         form \"ntt\""
                    );
                }
                (opcode::AUTOMORPH, *modulus, *dst, *src, 0, *galois)
            }
            Copy { dst, src } => (opcode::COPY, 0, *dst, *src, 0, 0),
            // An allocation hint without effect on results: nothing for the core to run.
            Free { .. } => continue,
            Bconv { .. } => bail!(
                "{field}: basis conversion is not implemented by the core (no bconv unit); \
                 programs with bconv run on the simulator only"
            ),
        };
        instructions.push(
            CoreInstr::from_parts(&geometry, op, m as u32, dst, a, b, imm)
                .map_err(|e| anyhow::anyhow!("{field}: {e}"))?,
        );
    }
    Ok(CoreProgram {
        geometry,
        instructions,
        loads,
        stores,
    })
}

/// The simulator configuration describing the core `geo` (clock 250 MHz, 32-bit words):
/// one NTT unit of `P` butterflies, `2P` element-wise lanes, one automorphism unit of `2P`
/// lanes, a memory channel of `2P` words per cycle, the scratchpad of the core's slots.
///
/// `derived = false`: unit latencies are the blocks' pipeline latencies (`NttUnit::LATENCY`,
/// `EwLane::LATENCY`, `AutomorphUnit::LATENCY`), no memory latency. `derived = true`: each
/// latency is the core's whole per-instruction cost beyond the simulator's occupancy
/// (`heaccel_hdl::core::cycles_of` minus `work / throughput`): the NTT unit's stage drains,
/// the copies into and out of the unit's banks, the fetch and the scratchpad read/write.
///
/// `policy`: the core runs one instruction at a time, so [`IssuePolicy::InOrderBlocking`]
/// describes it; [`IssuePolicy::Overlapped`] gives what the same units would take if
/// independent instructions overlapped. The name ends in `-overlapped` for the latter.
pub fn core_hw_config(geo: &CoreGeometry, derived: bool, policy: IssuePolicy) -> HwConfig {
    let (n, d, p, log_n) = (geo.n(), geo.depth(), geo.lanes(), geo.log_n() as usize);
    let clock_mhz = 250.0;
    let extra = |op: u32, occupancy: usize| (cycles_of(geo, op) - occupancy) as u32;
    let (ntt_lat, ew_lat, aut_lat, mem_ns) = if derived {
        (
            extra(opcode::NTT, log_n * d),
            extra(opcode::ADD, d),
            extra(opcode::AUTOMORPH, d),
            // One cycle: the fetch of a load (4 ns at 250 MHz).
            (cycles_of(geo, opcode::LOAD) - d) as f64 * 1e3 / clock_mhz,
        )
    } else {
        (
            <NttUnit>::LATENCY as u32,
            EwLane::LATENCY as u32,
            <AutomorphUnit>::LATENCY as u32,
            0.0,
        )
    };
    HwConfig {
        name: format!(
            "core-n{}-p{}{}{}",
            geo.log_n(),
            p,
            if derived { "-derived" } else { "" },
            if policy == IssuePolicy::Overlapped {
                "-overlapped"
            } else {
                ""
            }
        ),
        clock_mhz,
        word_bits: 32,
        ntt: NttConfig {
            units: 1,
            butterflies_per_unit: p as u32,
            pipeline_latency: ntt_lat,
        },
        modmul: LanesConfig {
            lanes: 2 * p as u32,
            pipeline_latency: ew_lat,
        },
        automorph: AutomorphConfig {
            units: 1,
            lanes: 2 * p as u32,
            pipeline_latency: aut_lat,
        },
        bconv: LanesConfig {
            lanes: 1,
            pipeline_latency: 0,
        },
        scratchpad: ScratchpadConfig {
            bytes: ((geo.slots() * n * 4) as u64).max(1024),
            banks: (geo.slots() * 2 * p) as u32,
        },
        memory: MemoryConfig {
            bandwidth_gb_s: 8.0 * p as f64 * clock_mhz / 1e3,
            latency_ns: mem_ns,
        },
        issue: IssueConfig { policy },
    }
}

/// Cycles of the core and of the simulator on one configuration.
#[derive(Debug, Serialize)]
pub struct CycleComparison {
    /// Configuration name.
    pub config: String,
    /// Simulator cycles.
    pub simulator: u64,
    /// `(simulator - core) / core`, in percent.
    pub difference_percent: f64,
}

/// Report of `heaccel verify core`.
#[derive(Debug, Serialize)]
pub struct VerifyCoreReport {
    /// The program file.
    pub program: String,
    /// `log2(N)`.
    pub log_n: u32,
    /// NTT lanes `P`.
    pub lanes: usize,
    /// Primes (limbs).
    pub limbs: usize,
    /// Instructions.
    pub instructions: usize,
    /// Limbs stored.
    pub stores: usize,
    /// The rust-hdl core's stores equal the functional executor's.
    pub rust_hdl_bit_exact: bool,
    /// Cycles of the rust-hdl core.
    pub core_cycles: u64,
    /// Verilator co-run: `pass` (bit-exact, same cycles), `fail` or `skip`.
    pub verilator: String,
    /// Detail of the Verilator step.
    pub verilator_detail: String,
    /// Simulator on [`core_hw_config`]: plain and derived with in-order blocking issue (as
    /// the core runs), then derived with overlapped issue (what overlapping would give).
    pub simulator: Vec<CycleComparison>,
    /// `true` when nothing failed (a skipped Verilator run does not fail).
    pub pass: bool,
}

/// Most words of off-chip memory a program run here (core co-run, functional executor) may
/// declare: 2^28 words, 2 GiB.
pub const MAX_MEMORY_WORDS: u64 = 1 << 28;

/// Refuses a program whose buffers need more than [`MAX_MEMORY_WORDS`] words of memory to run
/// here, before anything is allocated, naming the largest buffer.
pub fn check_memory(program: &Program, source: &str) -> Result<()> {
    let n = program.n() as u64;
    let words = program
        .buffers
        .iter()
        .map(|b| b.limbs as u64 * n)
        .fold(0u64, u64::saturating_add);
    if words > MAX_MEMORY_WORDS {
        let largest = program
            .buffers
            .iter()
            .max_by_key(|b| b.limbs)
            .expect("validated programs have buffers");
        bail!(
            "{source}: the buffers hold {words} words ({:.1} GiB; largest `{}` of {} limbs); \
             running a program here takes at most {MAX_MEMORY_WORDS} words (2 GiB)",
            words as f64 * 8.0 / (1u64 << 30) as f64,
            largest.name,
            largest.limbs
        );
    }
    Ok(())
}

/// Random inputs and keys below the smallest prime of the program (valid under every
/// modulus), from a seeded RNG.
pub fn random_memory(program: &Program, seed: u64) -> Result<Memory> {
    let mut memory = Memory::for_program(program);
    let q_min = *program
        .moduli
        .iter()
        .min()
        .expect("validated: at least one prime");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for b in &program.buffers {
        if matches!(b.role, BufferRole::Input | BufferRole::Key) {
            for limb in 0..b.limbs as usize {
                let data: Vec<u64> = (0..program.n()).map(|_| rng.gen_range(0..q_min)).collect();
                memory.write(&b.name, limb, &data)?;
            }
        }
    }
    Ok(memory)
}

/// Runs `program` on the core and the functional executor (see the module documentation).
pub fn verify_core_program(
    program: &Program,
    source: &str,
    lanes: usize,
    seed: u64,
    verilator_dir: Option<&Path>,
) -> Result<VerifyCoreReport> {
    let cp = translate(program, lanes, source)?;
    let memory = random_memory(program, seed)?;
    let loads: Vec<Vec<u64>> = cp
        .loads
        .iter()
        .map(|&(b, l)| Ok(memory.read(&program.buffers[b].name, l)?.to_vec()))
        .collect::<Result<_>>()?;
    // The functional executor's value of each store: the limb after the program prefix that
    // ends with that store.
    FunctionalExecutor::new(program)?.run(&mut memory.clone())?;
    let mut want_stores = Vec::new();
    let mut prefix = program.clone();
    for (k, ins) in program.instructions.iter().enumerate() {
        if let Instruction::Store { buffer, limb, .. } = ins {
            prefix.instructions = program.instructions[..=k].to_vec();
            let mut m = memory.clone();
            FunctionalExecutor::new(&prefix)?.run(&mut m)?;
            let name = &program.buffers[*buffer as usize].name;
            want_stores.push(m.read(name, *limb as usize)?.to_vec());
        }
    }
    let mut sim = CoreSim::new(cp.geometry.clone())?;
    let run = sim.run(&cp.instructions, &loads)?;
    if run.error {
        bail!("{source}: the core stopped with its error bit set");
    }
    let bit_exact = run.stores == want_stores;
    let (verilator, detail) = match verilator_dir {
        None => ("skip".to_string(), "--no-verilator".to_string()),
        Some(dir) => {
            let bundle = core_bundle(
                &cp.geometry,
                &cp.instructions,
                &loads,
                &want_stores,
                run.cycles,
                &format!("heaccel verify core --program {source} --lanes {lanes}"),
            )?;
            let files = bundle
                .write(dir)
                .with_context(|| format!("writing {}", dir.display()))?;
            let outcome = match build_verilator_core(&files) {
                Err(o) => o,
                Ok(exe) => run_verilator(&exe, &files.vectors, 1),
            };
            let detail = match &outcome {
                ToolOutcome::Pass(_) => format!(
                    "Verilog stores bit-exact with the functional executor, {} cycles",
                    run.cycles
                ),
                o => o.detail().to_string(),
            };
            (outcome.status().to_string(), detail)
        }
    };
    let mut simulator = Vec::new();
    for (derived, policy) in [
        (false, IssuePolicy::InOrderBlocking),
        (true, IssuePolicy::InOrderBlocking),
        (true, IssuePolicy::Overlapped),
    ] {
        let config = core_hw_config(&cp.geometry, derived, policy);
        let report = heaccel_sim::timing::simulate(program, &config)?;
        simulator.push(CycleComparison {
            config: config.name.clone(),
            simulator: report.cycles,
            difference_percent: (report.cycles as f64 - run.cycles as f64) / run.cycles as f64
                * 100.0,
        });
    }
    Ok(VerifyCoreReport {
        program: source.to_string(),
        log_n: program.log_n,
        lanes,
        limbs: program.moduli.len(),
        instructions: program.instructions.len(),
        stores: want_stores.len(),
        rust_hdl_bit_exact: bit_exact,
        core_cycles: run.cycles as u64,
        pass: bit_exact && verilator != "fail",
        verilator,
        verilator_detail: detail,
        simulator,
    })
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
    verify_core_program(
        &program,
        &source,
        args.lanes,
        args.seed,
        (!args.no_verilator).then_some(dir.as_path()),
    )
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
