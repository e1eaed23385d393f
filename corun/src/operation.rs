//! Whole CKKS operations on the core (`heaccel verify core --op`): a small parameter set of
//! primes below the core's `2^30`, real ciphertexts and keys, the host lowering of the
//! operation co-run on the core and the functional executor, and the core's stored output
//! compared word for word with the reference evaluator's ciphertext.

use std::path::Path;

use heaccel_host::lowering::{
    ciphertext_buffer, lower_automorphisms, lower_hmult_relin, lower_rescale, write_ciphertext,
    write_switching_key, OperandStem,
};
use heaccel_sim::isa::Program;
use heaccel_sim::Memory;
use heaccel_verification::automorphism::{galois_element_conjugate, galois_element_for_rotation};
use heaccel_verification::ckks::{
    Ciphertext, Encoder, EncryptionKey, Encryptor, Evaluator, KeyGenerator, Parameters,
    ParametersLiteral,
};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

use heaccel_hdl::core::{BconvRomFault, CoreIssue};

use crate::error::CoRunError;
use crate::run::{verify_core_with_memory, CoreBuild, VerifyCoreReport};

/// A whole CKKS operation the core co-runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreOperation {
    /// Ciphertext product with relinearization (tensor, key switch of `d_2`), at the top level.
    Hmult,
    /// Rotation by one slot (key switch with the Galois key of `5`).
    Rotate,
    /// Rescale by the top prime.
    Rescale,
    /// Complex conjugation (key switch with the Galois key of `2N - 1`).
    Conjugate,
}

impl CoreOperation {
    /// The operation's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CoreOperation::Hmult => "hmult",
            CoreOperation::Rotate => "rotate",
            CoreOperation::Rescale => "rescale",
            CoreOperation::Conjugate => "conjugate",
        }
    }
}

/// Largest difference, in percent, between the core's cycles and the simulator's on the
/// derived in-order configuration that a whole-operation co-run passes with.
pub const CYCLE_TOLERANCE_PERCENT: f64 = 5.0;

/// Smallest and largest `log2(N)` of [`operation_parameters`].
pub const OPERATION_LOG_N: std::ops::RangeInclusive<u32> = 10..=13;

/// The parameters of the operation co-runs at `N = 2^log_n` (`log_n` in
/// [`OPERATION_LOG_N`]): three ciphertext primes (29, 27, 27 bits), two special primes of 29
/// bits, `dnum = 2` (two primes per digit, so ModUp converts two sources), scale `2^27`, all
/// below the core's `2^30`. **Insecure** (far below 128 bits at these `N`, opted in with
/// `allow_insecure`): only bit-exactness is under test.
pub fn operation_parameters(log_n: u32) -> Result<Parameters, CoRunError> {
    if !OPERATION_LOG_N.contains(&log_n) {
        return Err(CoRunError::OperationSize {
            log_n,
            min: *OPERATION_LOG_N.start(),
            max: *OPERATION_LOG_N.end(),
        });
    }
    ParametersLiteral {
        log_n,
        log_q: vec![29, 27, 27],
        q: vec![],
        log_p: vec![29, 29],
        p: vec![],
        log_scale: 27,
        dnum: 2,
        hamming_weight: None,
        allow_insecure: true,
    }
    .build()
    .map_err(CoRunError::Parameters)
}

/// The lowered program of `op` at the top level of `params`, its initial memory (encryptions
/// of random slots in `[-1, 1]` and the keys, from `seed`), the reference evaluator's result
/// and the stem of the output buffers.
fn operation_setup(
    op: CoreOperation,
    params: &Parameters,
    seed: u64,
) -> Result<(Program, Memory, Ciphertext, OperandStem), CoRunError> {
    let lower = |e| CoRunError::Lowering(Box::new(e));
    let ckks = CoRunError::Ckks;
    let log_n = params.log_n();
    let level = params.max_level();
    let g = match op {
        CoreOperation::Rotate => galois_element_for_rotation(1, log_n),
        _ => galois_element_conjugate(log_n),
    };
    // Keys from ChaCha20 (a cryptographic generator), seeded so a run can be repeated.
    let mut kg = KeyGenerator::with_rng(params, ChaCha20Rng::seed_from_u64(seed));
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk).map_err(ckks)?;
    let relin = kg.gen_relin_key(&sk).map_err(ckks)?;
    let galois = kg.gen_galois_keys(&sk, &[1], true).map_err(ckks)?;
    let evaluator =
        Evaluator::new(params, Some(relin.clone()), Some(galois.clone())).map_err(ckks)?;
    let encoder = Encoder::new(params);
    let mut enc = Encryptor::with_rng(
        params,
        EncryptionKey::Public(pk),
        ChaCha20Rng::seed_from_u64(seed ^ 0x5eed),
    )
    .map_err(ckks)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut encrypt = || -> Result<Ciphertext, CoRunError> {
        let values: Vec<Complex64> = (0..params.max_slots())
            .map(|_| Complex64::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)))
            .collect();
        let pt = encoder
            .encode(&values, level, params.default_scale())
            .map_err(ckks)?;
        enc.encrypt(&pt).map_err(ckks)
    };
    let (x, y) = (encrypt()?, encrypt()?);
    let (program, want, stem) = match op {
        CoreOperation::Hmult => (
            lower_hmult_relin(params, level).map_err(lower)?,
            evaluator.mul_relin(&x, &y).map_err(ckks)?,
            OperandStem::Out,
        ),
        CoreOperation::Rescale => (
            lower_rescale(params, level).map_err(lower)?,
            evaluator.rescale(&x).map_err(ckks)?,
            OperandStem::Out,
        ),
        CoreOperation::Rotate | CoreOperation::Conjugate => (
            lower_automorphisms(params, level, &[g]).map_err(lower)?,
            evaluator.automorphism(&x, g).map_err(ckks)?,
            OperandStem::OutIndexed(0),
        ),
    };
    let mut memory = Memory::for_program(&program);
    write_ciphertext(&mut memory, OperandStem::A, &x).map_err(lower)?;
    match op {
        CoreOperation::Hmult => {
            write_ciphertext(&mut memory, OperandStem::B, &y).map_err(lower)?;
            write_switching_key(&mut memory, OperandStem::Rlk, &relin.key).map_err(lower)?;
        }
        CoreOperation::Rotate | CoreOperation::Conjugate => {
            let key = galois.keys.get(&g).expect("generated above");
            write_switching_key(&mut memory, OperandStem::Galois(g), key).map_err(lower)?;
        }
        CoreOperation::Rescale => {}
    }
    Ok((program, memory, want, stem))
}

/// Co-runs `op` at `N = 2^log_n` on a core of `lanes` NTT lanes (see the module
/// documentation): the report of [`verify_core_with_memory`] with `reference_bit_exact` set
/// (every limb of both output parts as the core stored it, against the evaluator's
/// ciphertext) and `cycles_within_tolerance` (the derived simulator configuration of the
/// core's issue policy within [`CYCLE_TOLERANCE_PERCENT`] of the core), both counted in `pass`.
///
/// `inject_rom_fault`: the negative control; the core is built with ROM word `(0, 0)` of its
/// first conversion table wrong, and the run must fail (every operation converts).
pub fn verify_core_operation(
    op: CoreOperation,
    log_n: u32,
    lanes: usize,
    seed: u64,
    verilator_dir: Option<&Path>,
    inject_rom_fault: bool,
    issue: CoreIssue,
) -> Result<VerifyCoreReport, CoRunError> {
    let params = operation_parameters(log_n)?;
    let (program, memory, want, stem) = operation_setup(op, &params, seed)?;
    let source = op.name();
    let command = format!(
        "heaccel verify core --op {} --log-n {log_n} --lanes {lanes} --seed {seed} --issue {}{}",
        op.name(),
        issue.name(),
        if inject_rom_fault {
            " --inject-rom-fault"
        } else {
            ""
        }
    );
    let fault = inject_rom_fault.then_some(BconvRomFault {
        table: 0,
        source: 0,
        target: 0,
    });
    let outcome = verify_core_with_memory(
        &program,
        source,
        lanes,
        &memory,
        verilator_dir,
        &command,
        CoreBuild {
            issue,
            rom_fault: fault,
        },
    )?;
    let mut report = outcome.report;
    // The last store of each output limb is the core's result.
    let mut compared = 0;
    let mut exact = true;
    for (part, poly) in want.parts.iter().enumerate() {
        let name = ciphertext_buffer(stem, part);
        let buffer = program
            .buffers
            .iter()
            .position(|b| b.name == name)
            .expect("the lowering names its output buffers");
        for (limb, words) in poly.limbs.iter().enumerate() {
            let got = outcome
                .stores
                .iter()
                .rev()
                .find(|((b, l), _)| *b == buffer && *l == limb)
                .map(|(_, w)| w);
            exact &= got == Some(words);
            compared += 1;
        }
    }
    report.reference_bit_exact = Some(exact);
    report.reference_detail = format!(
        "{compared} output limbs (2 parts x {} limbs at level {}) against the reference \
         evaluator's {}",
        want.parts[0].limbs.len(),
        want.parts[0].limbs.len() - 1,
        op.name()
    );
    let within = report
        .simulator
        .iter()
        .find(|c| c.config == report.simulator_match)
        .is_some_and(|c| c.difference_percent.abs() <= CYCLE_TOLERANCE_PERCENT);
    report.cycles_within_tolerance = Some(within);
    report.pass &= exact && within;
    Ok(report)
}
