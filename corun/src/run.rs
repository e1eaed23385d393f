//! The co-run: a program on the core and on the functional executor, stores compared word
//! for word, cycles compared with the timing simulator's.

use std::path::Path;

use heaccel_hdl::core::{build_verilator_core, core_bundle, BconvRomFault, CoreIssue, CoreSim};
use heaccel_hdl::verilog::{run_verilator, ToolOutcome};
use heaccel_sim::config::IssuePolicy;
use heaccel_sim::functional::FunctionalExecutor;
use heaccel_sim::isa::{Instruction, Program};
use heaccel_sim::Memory;
use serde::Serialize;

use crate::error::CoRunError;
use crate::hw_config::core_hw_config;
use crate::memory::random_memory;
use crate::translate::{translate, CoreProgram};

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

/// How a co-run builds its core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreBuild {
    /// Issue policy (default overlapped).
    pub issue: CoreIssue,
    /// The negative control: a core built with one wrong conversion constant (its stores
    /// must then differ).
    pub rom_fault: Option<BconvRomFault>,
}

/// The simulator's issue policy describing a core built with `issue`:
/// [`IssuePolicy::InOrderBlocking`] or [`IssuePolicy::Scoreboard`].
pub fn issue_policy(issue: CoreIssue) -> IssuePolicy {
    match issue {
        CoreIssue::InOrder => IssuePolicy::InOrderBlocking,
        CoreIssue::Overlapped => IssuePolicy::Scoreboard,
    }
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
    /// The core's issue policy: `in-order` or `overlapped`.
    pub issue: String,
    /// The rust-hdl core's stores equal the functional executor's.
    pub rust_hdl_bit_exact: bool,
    /// Cycles of the rust-hdl core.
    pub core_cycles: u64,
    /// Verilator co-run: `pass` (bit-exact, same cycles), `fail` or `skip`.
    pub verilator: String,
    /// Detail of the Verilator step.
    pub verilator_detail: String,
    /// Simulator on [`core_hw_config`]: plain and derived with in-order blocking issue (an
    /// in-order core), derived with the scoreboard policy (an overlapped core), and derived
    /// with the simulator's overlapped policy (dataflow across units, shared reads).
    pub simulator: Vec<CycleComparison>,
    /// The configuration of `simulator` describing this core (derived, with
    /// [`issue_policy`] of its issue), the one `cycles_within_tolerance` holds it to.
    pub simulator_match: String,
    /// Whole operations (`heaccel verify core --op`): whether the core's stored output
    /// ciphertext equals the reference evaluator's word for word, and what was compared
    /// (`None` for a program file, whose inputs are random words).
    pub reference_bit_exact: Option<bool>,
    /// What the reference comparison covered.
    pub reference_detail: String,
    /// Whole operations: whether the core's cycles and the simulator's on `simulator_match`
    /// differ by at most [`crate::CYCLE_TOLERANCE_PERCENT`] (`None` for a program file).
    pub cycles_within_tolerance: Option<bool>,
    /// `true` when nothing failed (a skipped Verilator run does not fail).
    pub pass: bool,
}

/// A co-run's report and the core's stored limbs, `((buffer, limb), words)` in store order.
#[derive(Debug)]
pub struct CoreRunOutcome {
    /// The report.
    pub report: VerifyCoreReport,
    /// What the rust-hdl core stored.
    pub stores: Vec<((usize, usize), Vec<u64>)>,
}

/// Runs `program` on the core and the functional executor with random inputs and keys from
/// `seed` (see the module documentation).
pub fn verify_core_program(
    program: &Program,
    source: &str,
    lanes: usize,
    seed: u64,
    verilator_dir: Option<&Path>,
    issue: CoreIssue,
) -> Result<VerifyCoreReport, CoRunError> {
    // Refuse what the core cannot run before allocating its memory.
    let mut cp = translate(program, lanes, source)?;
    cp.geometry = cp.geometry.with_issue(issue);
    let memory = random_memory(program, seed)?;
    let command = format!(
        "heaccel verify core --program {source} --lanes {lanes} --issue {}",
        issue.name()
    );
    co_run(program, cp, source, lanes, &memory, verilator_dir, &command).map(|o| o.report)
}

/// Runs `program` on the core and the functional executor from the initial `memory` (inputs
/// and keys); `command` is written into the Verilator bundle as the command that made it;
/// the core is built as `build` says.
pub fn verify_core_with_memory(
    program: &Program,
    source: &str,
    lanes: usize,
    memory: &Memory,
    verilator_dir: Option<&Path>,
    command: &str,
    build: CoreBuild,
) -> Result<CoreRunOutcome, CoRunError> {
    let mut cp = translate(program, lanes, source)?;
    cp.geometry = cp.geometry.with_issue(build.issue);
    if let Some(fault) = build.rom_fault {
        cp.geometry = cp.geometry.with_rom_fault(fault)?;
    }
    co_run(program, cp, source, lanes, memory, verilator_dir, command)
}

/// The co-run of `program` translated as `cp` (see [`verify_core_with_memory`]).
fn co_run(
    program: &Program,
    cp: CoreProgram,
    source: &str,
    lanes: usize,
    memory: &Memory,
    verilator_dir: Option<&Path>,
    command: &str,
) -> Result<CoreRunOutcome, CoRunError> {
    // The functional executor's value of each store: the limb after the program prefix that
    // ends with that store. A load of a limb stored before streams back that value (the host
    // keeps what the core sent; each store is compared, so a wrong one is caught there).
    FunctionalExecutor::new(program)?.run(&mut memory.clone())?;
    let mut want_stores = Vec::new();
    let mut loads = Vec::new();
    let mut latest: std::collections::HashMap<(u32, u32), usize> = Default::default();
    let mut prefix = program.clone();
    for (k, ins) in program.instructions.iter().enumerate() {
        match ins {
            Instruction::Store { buffer, limb, .. } => {
                prefix.instructions = program.instructions[..=k].to_vec();
                let mut m = memory.clone();
                FunctionalExecutor::new(&prefix)?.run(&mut m)?;
                let name = &program.buffers[*buffer as usize].name;
                latest.insert((*buffer, *limb), want_stores.len());
                want_stores.push(m.read(name, *limb as usize)?.to_vec());
            }
            Instruction::Load { buffer, limb, .. } => {
                loads.push(match latest.get(&(*buffer, *limb)) {
                    Some(&s) => want_stores[s].clone(),
                    None => memory
                        .read(&program.buffers[*buffer as usize].name, *limb as usize)?
                        .to_vec(),
                })
            }
            _ => {}
        }
    }
    let mut sim = CoreSim::new(cp.geometry.clone())?;
    let run = sim.run(&cp.instructions, &loads)?;
    if run.error {
        let entry = run.error_entry.unwrap_or(0);
        let index = cp.origin.get(entry).copied().unwrap_or(0);
        return Err(CoRunError::CoreError {
            file: source.into(),
            index,
            name: program.instructions.get(index).map_or("?", |i| i.name()),
            entry,
        });
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
                command,
            )?;
            let files = bundle.write(dir).map_err(|error| CoRunError::Write {
                path: dir.to_path_buf(),
                error,
            })?;
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
        (true, IssuePolicy::Scoreboard),
        (true, IssuePolicy::Overlapped),
    ] {
        let config = core_hw_config(&cp.geometry, derived, policy)?;
        let report = heaccel_sim::timing::simulate(program, &config)?;
        simulator.push(CycleComparison {
            config: config.name.clone(),
            simulator: report.cycles,
            difference_percent: (report.cycles as f64 - run.cycles as f64) / run.cycles as f64
                * 100.0,
        });
    }
    let simulator_match = core_hw_config(&cp.geometry, true, issue_policy(cp.geometry.issue()))?
        .name
        .clone();
    let stores = cp.stores.iter().copied().zip(run.stores).collect();
    let report = VerifyCoreReport {
        program: source.to_string(),
        log_n: program.log_n,
        lanes,
        limbs: program.moduli.len(),
        instructions: program.instructions.len(),
        stores: want_stores.len(),
        issue: cp.geometry.issue().name().to_string(),
        rust_hdl_bit_exact: bit_exact,
        core_cycles: run.cycles as u64,
        pass: bit_exact && verilator != "fail",
        verilator,
        verilator_detail: detail,
        simulator,
        simulator_match,
        reference_bit_exact: None,
        reference_detail: String::new(),
        cycles_within_tolerance: None,
    };
    Ok(CoreRunOutcome { report, stores })
}
