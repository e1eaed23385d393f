//! Encrypted inference of a deep network with minimax ReLU and bootstrapping: what
//! `heaccel infer-boot` runs.
//!
//! [`BootSession::new`] builds the bootstrapping of a parameter set (full packing, `N/2`
//! slots, [`BootstrapConfig::default_for`]), compiles the network into one program at those
//! slots with every ReLU the composite minimax ReLU of [`MinimaxRelu`] (its bounds folded into
//! the linear layers, see [`ReportOptions::relu_bounds`]) and a bootstrapping placed wherever
//! the next layer would exceed the levels left after bootstrapping
//! ([`ReportOptions::bootstrap_levels`]), and generates the keys from the operating system's
//! entropy: secret, public, relinearization, the bootstrapping's Galois keys over the whole
//! chain, and one Galois key per rotation step of the program restricted to the levels left
//! after bootstrapping (`SwitchingKey::restricted`: the network never rotates above them,
//! and at `N = 2^16` such a key is a fifth of a whole one).
//!
//! [`BootSession::infer`] encrypts an input at that level, runs the program on the reference
//! evaluator, decrypts and compares with the plaintext forward pass of the same effective
//! network with the same minimax ReLU ([`MinimaxRelu::forward`]): the largest logit error and
//! whether the top-1 classes agree.

use std::time::Instant;

use heaccel_verification::automorphism::galois_element_for_rotation;
use heaccel_verification::bootstrap::{BootstrapConfig, Bootstrapper};
use heaccel_verification::ckks::{
    Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, KeyGenerator, Parameters,
};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::accuracy::MinimaxRelu;
use crate::infer::{argmax, decrypt_output, encrypt_input, InferError};
use crate::nn::fast::FastNetwork;
use crate::nn::{FeatureMap, Network};
use crate::pack::{
    compile_he_program, run_with_circuits, Circuits, MinimaxChoice, NetworkProgram,
    ReferenceBackend, ReportOptions, Strategy,
};

/// What the session was set up with, and what that cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootSetup {
    /// `log2 N`.
    pub log_n: u32,
    /// Slots per ciphertext (`N / 2`).
    pub slots: usize,
    /// Levels at the input and after each bootstrapping.
    pub levels: usize,
    /// Levels one bootstrapping consumes.
    pub bootstrap_depth: usize,
    /// Bootstrappings per inference (one per refreshed ciphertext).
    pub bootstrappings: usize,
    /// Levels one minimax ReLU consumes.
    pub relu_depth: usize,
    /// Operations of the program.
    pub program_ops: usize,
    /// Plaintexts of the program (weights, biases, masks).
    pub plaintexts: usize,
    /// Galois keys of the network's rotations (restricted to `levels`).
    pub rotation_keys: usize,
    /// Galois keys of the bootstrapping (whole chain).
    pub bootstrap_keys: usize,
    /// Bytes of all evaluation keys in memory.
    pub key_bytes: u64,
    /// Compilation, milliseconds.
    pub compile_ms: f64,
    /// Key generation, milliseconds.
    pub keygen_ms: f64,
}

/// One encrypted inference against the plaintext minimax pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootInferResult {
    /// The decrypted logits.
    pub encrypted: Vec<f64>,
    /// The plaintext forward pass with the same minimax ReLU.
    pub plain: Vec<f64>,
    /// `max |encrypted - plain|`.
    pub max_logit_error: f64,
    /// Top-1 class of the encrypted run.
    pub argmax_encrypted: usize,
    /// Top-1 class of the plaintext minimax pass.
    pub argmax_plain: usize,
    /// Whether they agree.
    pub agrees: bool,
    /// Level of the output ciphertexts.
    pub output_level: usize,
    /// Encryption, evaluation and decryption, seconds.
    pub seconds: f64,
    /// Of which evaluation, seconds.
    pub evaluate_seconds: f64,
}

/// A network compiled with bootstrapping, with its parameters and keys (see the module docs).
pub struct BootSession {
    /// The compiled network.
    pub compiled: NetworkProgram,
    /// What it was set up with.
    pub setup: BootSetup,
    params: Parameters,
    bootstrapper: Bootstrapper,
    minimax: MinimaxRelu,
    reference: FastNetwork,
    encoder: Encoder,
    encryptor: Encryptor<ChaCha20Rng>,
    decryptor: Decryptor,
    evaluator: Evaluator,
}

impl std::fmt::Debug for BootSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootSession")
            .field("network", &self.compiled.report.network)
            .field("setup", &self.setup)
            .finish_non_exhaustive()
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

impl BootSession {
    /// Sets up `network` (weights loaded) under `params` (a bootstrapping chain) with the
    /// minimax ReLU `minimax` (one bound per activation layer) and `strategy` (see the module
    /// docs). Errors: the bootstrapping configuration, compilation (naming the layer), a ReLU
    /// deeper than the levels left, key generation.
    pub fn new(
        network: &Network,
        params: &Parameters,
        minimax: MinimaxRelu,
        strategy: &Strategy,
    ) -> Result<Self, InferError> {
        let start = Instant::now();
        let log_slots = params.log_n() - 1;
        let config = BootstrapConfig::default_for(params, log_slots)?;
        let bootstrapper = Bootstrapper::new(params, &config)?;
        let levels = bootstrapper.level_after();
        let options = ReportOptions {
            relu: Some(MinimaxChoice::new(
                minimax.alpha(),
                minimax.activation().clone(),
            )),
            relu_bounds: minimax.bounds().to_vec(),
            bootstrap_levels: Some(levels),
            ..ReportOptions::default()
        };
        let compiled = compile_he_program(network, strategy, 1 << log_slots, &options)?;
        let reference = FastNetwork::new(&compiled.reference)?;
        let compile_ms = ms(start);

        let start = Instant::now();
        let mut keygen = KeyGenerator::new(params);
        let sk = keygen.gen_secret_key();
        let pk = keygen.gen_public_key(&sk)?;
        let relin = keygen.gen_relin_key(&sk)?;
        let mut galois = keygen.gen_galois_keys(&sk, &[], false)?;
        for &g in bootstrapper.galois_elements() {
            galois.keys.insert(g, keygen.gen_galois_key(&sk, g)?);
        }
        let bootstrap_keys = galois.keys.len();
        let mut rotation_keys = 0;
        for step in compiled.program.rotation_steps() {
            let g = galois_element_for_rotation(step, params.log_n());
            if galois.keys.contains_key(&g) {
                continue;
            }
            // one whole key at a time, restricted before the next is made
            let key = keygen.gen_galois_key(&sk, g)?.restricted(params, levels)?;
            galois.keys.insert(g, key);
            rotation_keys += 1;
        }
        let key_bytes =
            galois.keys.values().map(|k| k.bytes() as u64).sum::<u64>() + relin.key.bytes() as u64;
        let keygen_ms = ms(start);
        let evaluator = Evaluator::new(params, Some(relin), Some(galois))?;
        bootstrapper.check_keys(&evaluator)?;
        let setup = BootSetup {
            log_n: params.log_n(),
            slots: 1 << log_slots,
            levels,
            bootstrap_depth: bootstrapper.depth(),
            bootstrappings: compiled.bootstrappings,
            relu_depth: minimax.activation().relu_depth() as usize,
            program_ops: compiled.program.ops.len(),
            plaintexts: compiled.program.plaintexts.len(),
            rotation_keys,
            bootstrap_keys,
            key_bytes,
            compile_ms,
            keygen_ms,
        };
        Ok(BootSession {
            compiled,
            setup,
            encoder: Encoder::new(params),
            encryptor: Encryptor::new(params, EncryptionKey::Public(pk))?,
            decryptor: Decryptor::new(params, &sk)?,
            params: params.clone(),
            bootstrapper,
            minimax,
            reference,
            evaluator,
        })
    }

    /// The CKKS parameters.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// One encrypted inference of `input` against the plaintext minimax pass;
    /// `progress(done, total)` is called after each op of the program.
    pub fn infer(
        &mut self,
        input: &FeatureMap,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<BootInferResult, InferError> {
        let start = Instant::now();
        // at the level left after bootstrapping
        let cts = encrypt_input(
            &self.compiled,
            &self.encoder,
            &mut self.encryptor,
            input,
            self.setup.levels,
            self.params.default_scale(),
        )?;
        let t = Instant::now();
        let circuits = Circuits {
            relu: Some(self.minimax.activation()),
            bootstrapper: Some(&self.bootstrapper),
        };
        let outputs = run_with_circuits(
            &mut ReferenceBackend(&self.evaluator),
            &self.encoder,
            circuits,
            &self.compiled.program,
            &cts,
            progress,
        )?;
        let evaluate_seconds = t.elapsed().as_secs_f64();
        drop(cts);
        let encrypted =
            decrypt_output(&self.compiled, &self.encoder, &self.decryptor, &outputs)?.into_data();
        let seconds = start.elapsed().as_secs_f64();
        let input_f32: Vec<f32> = input.data().iter().map(|&v| v as f32).collect();
        let plain: Vec<f64> = self
            .minimax
            .forward(&self.reference, &input_f32)?
            .into_iter()
            .map(f64::from)
            .collect();
        let max_logit_error = encrypted
            .iter()
            .zip(&plain)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let (argmax_encrypted, argmax_plain) = (argmax(&encrypted), argmax(&plain));
        Ok(BootInferResult {
            agrees: argmax_encrypted == argmax_plain,
            output_level: outputs.first().map_or(0, |c| c.level()),
            encrypted,
            plain,
            max_logit_error,
            argmax_encrypted,
            argmax_plain,
            seconds,
            evaluate_seconds,
        })
    }
}
