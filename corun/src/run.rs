//! The co-run: a program on the core and on the functional executor, stores compared word
//! for word, cycles compared with the timing simulator's.

use std::path::Path;

use heaccel_hdl::core::{build_verilator_core, core_bundle, CoreSim};
use heaccel_hdl::verilog::{run_verilator, ToolOutcome};
use heaccel_sim::config::IssuePolicy;
use heaccel_sim::functional::FunctionalExecutor;
use heaccel_sim::isa::{Instruction, Program};
use serde::Serialize;

use crate::error::CoRunError;
use crate::hw_config::core_hw_config;
use crate::memory::random_memory;
use crate::translate::translate;

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

/// Runs `program` on the core and the functional executor (see the module documentation).
pub fn verify_core_program(
    program: &Program,
    source: &str,
    lanes: usize,
    seed: u64,
    verilator_dir: Option<&Path>,
) -> Result<VerifyCoreReport, CoRunError> {
    let cp = translate(program, lanes, source)?;
    let memory = random_memory(program, seed)?;
    let loads: Vec<Vec<u64>> = cp
        .loads
        .iter()
        .map(|&(b, l)| Ok(memory.read(&program.buffers[b].name, l)?.to_vec()))
        .collect::<Result<_, heaccel_sim::SimError>>()?;
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
        return Err(CoRunError::CoreError {
            file: source.into(),
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
                &format!("heaccel verify core --program {source} --lanes {lanes}"),
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
