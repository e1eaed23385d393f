//! Encrypted inference of a whole network, checked against the plaintext forward pass:
//! what `heaccel infer` runs.
//!
//! [`Session::new`] compiles the network into one materialized CKKS program
//! ([`compile_he_program`]: the walk, layouts and counts of `heaccel simulate --model`), chooses
//! the parameters ([`select_parameters`] for the program's depth plus one level of headroom,
//! so the output is decoded at level 1: at level 0 the 33-bit `q_0` over a `2^31` scale leaves
//! only `|y| < 2`), which must be `N = 2^14` within the 128-bit bound, and generates the keys
//! from the operating system's entropy (secret, public, relinearization and one Galois key per
//! rotation step of the program). [`Session::infer`] encodes an input in the program's input
//! layout, encrypts it (public key), runs the program on the chosen [`Backend`], decrypts and
//! decodes the output and compares it with the plaintext forward pass of the same effective
//! weights ([`NetworkProgram::reference`]: batch norms folded, convolutions regrouped and
//! pruned as compiled).
//!
//! The check ([`InferResult::passes`]): `max |y_enc - y_plain| < 1e-3 (max y_plain - min
//! y_plain)` and the same argmax.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use heaccel_sim::isa::Program;
use heaccel_sim::HwConfig;
use heaccel_verification::ckks::{
    Ciphertext, Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, GaloisKeys, KeyGenerator,
    Parameters, RelinKey,
};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use thiserror::Error;

use crate::funcexec::{prime_table_program, FunctionalBackend};
use crate::netsim::{
    select_parameters, simulate_with_defaults, NetsimError, NetworkSim, ParameterChoice,
};
use crate::nn::{FeatureMap, Network, NnError};
use crate::pack::{
    compile_he_program, network_report_with, run_with, NetworkProgram, PackError, ReferenceBackend,
    Repack, ReportOptions, Strategy,
};

/// The error bound of the check, relative to the plaintext output's range.
pub const RELATIVE_TOLERANCE: f64 = 1e-3;

/// Log2 of the ring degree encrypted inference runs at.
pub const LOG_N: u32 = 14;

/// Errors of encrypted inference.
#[derive(Debug, Error)]
pub enum InferError {
    /// Compilation or execution.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// Parameter selection.
    #[error(transparent)]
    Netsim(#[from] NetsimError),
    /// The reference model (parameters, keys, encryption).
    #[error(transparent)]
    Ckks(#[from] heaccel_verification::Error),
    /// The plaintext forward pass.
    #[error(transparent)]
    Nn(#[from] NnError),
    /// The minimax ReLU's plaintext pass.
    #[error(transparent)]
    Minimax(#[from] crate::accuracy::AccuracyError),
    /// The network does not fit `N = 2^14`.
    #[error("network '{network}': {problem}")]
    Depth {
        /// Network name.
        network: String,
        /// What does not fit.
        problem: String,
    },
}

/// Where the compiled program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The accelerator's functional executor ([`FunctionalBackend`]): every operation lowered
    /// to ISA and run instruction by instruction.
    Functional,
    /// The reference model's evaluator.
    Reference,
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "functional" => Ok(Backend::Functional),
            "reference" => Ok(Backend::Reference),
            other => Err(format!(
                "unknown backend '{other}' (expected functional or reference)"
            )),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Functional => "functional",
            Backend::Reference => "reference",
        })
    }
}

/// How to compile and run.
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// The strategy.
    pub strategy: Strategy,
    /// Which pooled maps are repacked (as `heaccel simulate --model --repack`).
    pub repack: Repack,
    /// Where the program runs.
    pub backend: Backend,
}

/// Milliseconds of the one-time phases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SetupTimes {
    /// Compilation to one materialized program.
    pub compile_ms: f64,
    /// Parameters and key generation.
    pub keygen_ms: f64,
}

/// Milliseconds of the phases of one inference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PhaseTimes {
    /// Encoding and encryption of the input.
    pub encrypt_ms: f64,
    /// Running the program on the backend.
    pub evaluate_ms: f64,
    /// Decryption and decoding of the output.
    pub decrypt_ms: f64,
    /// The plaintext forward pass.
    pub plain_ms: f64,
    /// All of the above.
    pub total_ms: f64,
    /// CPU time of this thread over all phases, ms (Linux: from `/proc/thread-self/stat` at
    /// 100 ticks per second, so 10 ms resolution; `None` elsewhere). Below `total_ms` when
    /// other processes share the cores.
    pub cpu_ms: Option<f64>,
}

/// One encrypted inference against the plaintext one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferResult {
    /// The decrypted, decoded output (flattened CHW).
    pub encrypted: Vec<f64>,
    /// The plaintext forward pass's output.
    pub plain: Vec<f64>,
    /// `max |encrypted - plain|`.
    pub max_abs_error: f64,
    /// `max plain - min plain`.
    pub output_range: f64,
    /// `max_abs_error / output_range` (infinite for a constant output with an error).
    pub relative_error: f64,
    /// Index of the largest plaintext output (the first on ties).
    pub argmax_plain: usize,
    /// Index of the largest decrypted output.
    pub argmax_encrypted: usize,
    /// Level of the output ciphertexts.
    pub output_level: usize,
    /// Whether `relative_error < RELATIVE_TOLERANCE` and the argmaxes agree.
    pub passes: bool,
    /// Times.
    pub times: PhaseTimes,
}

/// The evaluation keys, held once, in the form the backend reads them.
enum Evaluation {
    Reference(Evaluator),
    Functional {
        template: Program,
        relin: RelinKey,
        galois: GaloisKeys,
    },
}

/// A compiled network with its parameters and keys (see the module docs).
pub struct Session {
    /// The compiled network.
    pub compiled: NetworkProgram,
    /// The parameters chosen.
    pub parameters: ParameterChoice,
    /// Rotation (Galois) keys generated: one per distinct step.
    pub rotation_keys: usize,
    /// The backend.
    pub backend: Backend,
    /// One-time phases.
    pub setup: SetupTimes,
    params: Parameters,
    encoder: Encoder,
    encryptor: Encryptor<ChaCha20Rng>,
    decryptor: Decryptor,
    evaluation: Evaluation,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("network", &self.compiled.report.network)
            .field("parameters", &self.parameters)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// CPU time (user + system) of the calling thread, ms, where `/proc/thread-self/stat` exists
/// (fields 14 and 15 after the command name, in ticks of 1/100 s).
pub fn thread_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // after ") ": state is field 3 of the full line, utime 14 and stime 15
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 * 10.0)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// `input` encoded in `compiled`'s input layout at `level` and `scale`, encrypted.
pub(crate) fn encrypt_input(
    compiled: &NetworkProgram,
    encoder: &Encoder,
    encryptor: &mut Encryptor<ChaCha20Rng>,
    input: &FeatureMap,
    level: usize,
    scale: f64,
) -> Result<Vec<Ciphertext>, InferError> {
    compiled
        .encode_input(input)?
        .iter()
        .map(|v| {
            let pt = encoder.encode_real(v, level, scale)?;
            Ok(encryptor.encrypt(&pt)?)
        })
        .collect()
}

/// The network output of `compiled` from its output ciphertexts: decrypted, decoded (real
/// parts) and read in the output layout.
pub(crate) fn decrypt_output(
    compiled: &NetworkProgram,
    encoder: &Encoder,
    decryptor: &Decryptor,
    outputs: &[Ciphertext],
) -> Result<FeatureMap, InferError> {
    let slots = outputs
        .iter()
        .map(|ct| {
            let pt = decryptor.decrypt(ct)?;
            Ok(encoder.decode(&pt)?.iter().map(|z| z.re).collect())
        })
        .collect::<Result<Vec<Vec<f64>>, InferError>>()?;
    Ok(compiled.decode_output(&slots)?)
}

/// Index of the largest value (the first on ties; NaN never wins).
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] || values[best].is_nan() {
            best = i;
        }
    }
    best
}

impl Session {
    /// Compiles `network`, chooses the parameters and generates the keys (see the module
    /// docs). Errors: compilation (naming the layer), a depth that does not fit `N = 2^14`
    /// within the 128-bit bound, key generation.
    pub fn new(network: &Network, options: &InferOptions) -> Result<Self, InferError> {
        let start = Instant::now();
        let slots = 1usize << (LOG_N - 1);
        let nonlinear = ReportOptions {
            repack_pooled: options.repack,
            ..ReportOptions::default()
        };
        // the depth first (counting only): refuse a network that does not fit before compiling
        let depth = network_report_with(network, &options.strategy, slots, &nonlinear)?
            .total
            .depth;
        let parameters = select_parameters(depth + 1, 64)?;
        if parameters.log_n != LOG_N || parameters.needs_bootstrapping {
            return Err(InferError::Depth {
                network: network.name.clone(),
                problem: format!(
                    "depth {depth} plus one level of headroom does not fit N = 2^{LOG_N} within \
                     the 128-bit bound (at most {} levels; it needs N = 2^{}{})",
                    max_levels(),
                    parameters.log_n,
                    if parameters.needs_bootstrapping {
                        " and bootstrapping"
                    } else {
                        ""
                    }
                ),
            });
        }
        let compiled = compile_he_program(network, &options.strategy, slots, &nonlinear)?;
        let compile_ms = ms(start);
        let start = Instant::now();
        let params = parameters.literal().build()?;
        let mut keygen = KeyGenerator::new(&params);
        let sk = keygen.gen_secret_key();
        let pk = keygen.gen_public_key(&sk)?;
        let relin = keygen.gen_relin_key(&sk)?;
        let steps = compiled.program.rotation_steps();
        let galois = keygen.gen_galois_keys(&sk, &steps, false)?;
        let encryptor = Encryptor::new(&params, EncryptionKey::Public(pk))?;
        let decryptor = Decryptor::new(&params, &sk)?;
        let evaluation = match options.backend {
            Backend::Reference => {
                Evaluation::Reference(Evaluator::new(&params, Some(relin), Some(galois))?)
            }
            Backend::Functional => Evaluation::Functional {
                template: prime_table_program(&params)?,
                relin,
                galois,
            },
        };
        Ok(Session {
            compiled,
            parameters,
            rotation_keys: steps.len(),
            backend: options.backend,
            setup: SetupTimes {
                compile_ms,
                keygen_ms: ms(start),
            },
            encoder: Encoder::new(&params),
            params,
            encryptor,
            decryptor,
            evaluation,
        })
    }

    /// The CKKS parameters.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// Encrypts `input` in the program's input layout at the top level and default scale.
    pub fn encrypt(&mut self, input: &FeatureMap) -> Result<Vec<Ciphertext>, InferError> {
        encrypt_input(
            &self.compiled,
            &self.encoder,
            &mut self.encryptor,
            input,
            self.params.max_level(),
            self.params.default_scale(),
        )
    }

    /// Runs the program on encrypted inputs, calling `progress(done, total)` after each op.
    pub fn evaluate(
        &self,
        inputs: &[Ciphertext],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<Ciphertext>, InferError> {
        let program = &self.compiled.program;
        Ok(match &self.evaluation {
            Evaluation::Reference(ev) => run_with(
                &mut ReferenceBackend(ev),
                &self.encoder,
                program,
                inputs,
                progress,
            )?,
            Evaluation::Functional {
                template,
                relin,
                galois,
            } => {
                let mut backend =
                    FunctionalBackend::new(template, &self.params, Some(relin), galois)?;
                run_with(&mut backend, &self.encoder, program, inputs, progress)?
            }
        })
    }

    /// Decrypts and decodes the output ciphertexts into the network's output.
    pub fn decrypt(&self, outputs: &[Ciphertext]) -> Result<FeatureMap, InferError> {
        decrypt_output(&self.compiled, &self.encoder, &self.decryptor, outputs)
    }

    /// One encrypted inference of `input` against the plaintext forward pass (see the module
    /// docs); `progress(done, total)` is called after each op of the program.
    pub fn infer(
        &mut self,
        input: &FeatureMap,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<InferResult, InferError> {
        let cpu = thread_cpu_ms();
        let t = Instant::now();
        let cts = self.encrypt(input)?;
        let encrypt_ms = ms(t);
        let t = Instant::now();
        let outputs = self.evaluate(&cts, progress)?;
        let evaluate_ms = ms(t);
        drop(cts);
        let t = Instant::now();
        let encrypted = self.decrypt(&outputs)?.into_data();
        let decrypt_ms = ms(t);
        let t = Instant::now();
        let plain = crate::nn::infer(&self.compiled.reference, input)?.into_data();
        let plain_ms = ms(t);
        let max_abs_error = encrypted
            .iter()
            .zip(&plain)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let (lo, hi) = plain
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let output_range = hi - lo;
        let relative_error = if max_abs_error == 0.0 {
            0.0
        } else if output_range > 0.0 {
            max_abs_error / output_range
        } else {
            f64::INFINITY
        };
        let (argmax_plain, argmax_encrypted) = (argmax(&plain), argmax(&encrypted));
        Ok(InferResult {
            passes: relative_error < RELATIVE_TOLERANCE && argmax_plain == argmax_encrypted,
            output_level: outputs.first().map_or(0, |c| c.level()),
            encrypted,
            plain,
            max_abs_error,
            output_range,
            relative_error,
            argmax_plain,
            argmax_encrypted,
            times: PhaseTimes {
                encrypt_ms,
                evaluate_ms,
                decrypt_ms,
                plain_ms,
                total_ms: encrypt_ms + evaluate_ms + decrypt_ms + plain_ms,
                cpu_ms: thread_cpu_ms().zip(cpu).map(|(b, a)| b - a),
            },
        })
    }
}

/// The repacking a simulated network ran with (bit `i` set when pooling `i`, in execution
/// order, was repacked): to verify exactly the program `heaccel simulate --model` costed.
pub fn repack_of(sim: &NetworkSim) -> Repack {
    let mask = sim
        .layers
        .iter()
        .filter(|l| l.kind.ends_with("pool"))
        .enumerate()
        .filter(|(_, l)| l.repacked)
        .fold(0u64, |m, (i, _)| m | 1 << i.min(63));
    Repack::Mask(mask)
}

/// The repacking `heaccel simulate --model` picks on `config` (the fastest simulated choice,
/// [`simulate_with_defaults`]) for `network` under `strategy` with polynomial
/// activations and average pooling.
pub fn best_repack(
    network: &Network,
    strategy: &Strategy,
    config: &HwConfig,
) -> Result<Repack, InferError> {
    Ok(repack_of(&simulate_with_defaults(
        network, strategy, config,
    )?))
}

/// The most levels `N = 2^14` holds within the 128-bit bound (by [`select_parameters`]).
fn max_levels() -> usize {
    (1..64)
        .take_while(|&l| {
            select_parameters(l, 64).is_ok_and(|c| c.log_n == LOG_N && !c.needs_bootstrapping)
        })
        .last()
        .unwrap_or(0)
}
