//! A network on an accelerator: model -> CKKS operation graph (per layer, levels tracked) ->
//! parameter set chosen to fit the depth -> ISA programs through [`crate::lowering`] -> timed
//! by the simulator on a hardware configuration.
//!
//! - Activations and pooling: [`ActivationChoice`] (`poly`, `relu-minimax:ALPHA`) and
//!   [`PoolChoice`] (`avg`, `maxpool-minimax:ALPHA`), `ALPHA` in `4..=14`, built into
//!   [`ReportOptions`] ([`report_options`]) for [`crate::pack::network_report_with`] (which documents their counts and
//!   level schedule).
//! - Parameters ([`select_parameters`]): `L` = the network's depth, primes of the
//!   `spencnn-n14` style (33-bit first and special primes, 31-bit others, scale `2^31`) capped
//!   at `word_bits - 2` bits so they fit the accelerator's words; the smallest `N` in
//!   `2^14 .. 2^16` and, for it, the smallest `dnum` (the least key traffic) whose
//!   `log2(PQ)` stays within the 128-bit HE-standard bound. Beyond `2^16` the network needs
//!   bootstrapping: the deep set is `N = 2^16` with a sparse secret (`h = 192`), the
//!   bootstrapping's own levels (CoeffToSlot, EvalMod, SlotToCoeff of the default
//!   configuration, primes of the widest size the words hold) above the network's `L`,
//!   `q_0` of that widest size too and the scale (and the network's primes) at most
//!   `q_0 / 2^8` (EvalMod's message ratio: a bootstrapping's input must fit it; `q_0` sits
//!   below its bit size, so the scale is one bit lower still: 36-bit words give `2^25`), `dnum = 3`, the largest `L` within the sparse-secret bound;
//!   layers are scheduled with
//!   refreshes (see [`simulate_network`]). `dnum` is then raised until a key switch at the
//!   top level fits the accelerator's scratchpad ([`fit_scratchpad`]).
//! - Bootstrapping ([`crate::bootsim`]): every refresh bootstraps each ciphertext of its
//!   layer's input, from level 0 through ModRaise to the top and down to `L`, costed by the
//!   simulated bootstrapping of the deep set on the configuration: it is part of every
//!   latency printed.
//! - Latency ([`OpCoster`]): every operation of a layer's profile is lowered at its level
//!   (`level_in - depth below the layer input`) and simulated alone with
//!   [`heaccel_sim::simulate`]; results are cached per `(kind, level)`. A group of `k`
//!   hoisted rotations costs `t(1) + (k - 1) (t(2) - t(1))` from the simulated one- and
//!   two-rotation programs (one decomposition, one more key per rotation; a `k`-key program
//!   would not fit a scratchpad), or `k t(1)` when even the two-rotation program does not fit
//!   the scratchpad. A layer's time is the sum of its operations' times: each
//!   operation reads its operands from off-chip memory, streams its keys and plaintexts and
//!   writes its result back, and operations do not overlap, so the figures are conservative
//!   (an upper estimate of a schedule that keeps values on chip and overlaps operations).
//!
//! One concern a file: `choice` (activation and pooling choices), `params` (parameter
//! selection, the scratchpad fit), `cost` (per-operation costing), `compiled` (a network
//! compiled per word size and its per-`dnum` caches), `schedule` (whole-network simulation,
//! repacking choices), `sim` (the report types), `model` (a zoo network by name with the
//! options of `heaccel simulate --model` and `compare --model`, compiled and simulated).
//!
//! [`ReportOptions`]: crate::pack::ReportOptions

mod choice;
mod compare;
mod compiled;
mod cost;
mod model;
mod params;
mod schedule;
mod sim;

pub use choice::{report_options, ActivationChoice, PoolChoice, ALPHA_RANGE};
pub use compare::{ratio, Comparison, LayerPair, Speedups};
pub use compiled::{compile_network, CompiledNetwork, FlowResult};
pub use cost::OpCoster;
pub use model::{
    check_prune_strategy, compare_model, default_activation, default_activation_choice, load_model,
    load_model_with, prune_config, simulate_model, ModelOptions, ModelProgress, ModelSweep, Phase,
    RepackChoice, StrategyChoice, RESNET_DEFAULT_ACTIVATION,
};
pub use params::{fit_scratchpad, select_parameters, ParameterChoice, BOOTSTRAP_HAMMING_WEIGHT};
pub use schedule::{
    compile_repack_choices, simulate_compiled, simulate_fastest, simulate_network,
    simulate_network_best_repack, simulate_with_defaults,
};
pub use sim::{LayerSim, NetworkSim, TotalSim};

use thiserror::Error;

use crate::lowering::LowerError;
use crate::pack::PackError;

/// Errors of network compilation and simulation.
#[derive(Debug, Error)]
pub enum NetsimError {
    /// A choice the user made (activation, pooling, parameters) is out of range.
    #[error("{field}: {problem}")]
    Choice {
        /// The option or field.
        field: &'static str,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// A model name that names no network (`--model`).
    #[error(
        "{field}: unknown network '{value}' (expected one of: {}){}",
        expected.join(", "),
        or_with_weights(with_weights)
    )]
    UnknownModel {
        /// The option.
        field: &'static str,
        /// The name given.
        value: String,
        /// The zoo's names.
        expected: Vec<&'static str>,
        /// Further names allowed with trained weights (empty without weights).
        with_weights: Vec<&'static str>,
    },
    /// A pruning ratio outside [0, 1] (`--prune`).
    #[error("{field}: {value} is outside {expected}")]
    PruneOutOfRange {
        /// The option.
        field: &'static str,
        /// The ratio given.
        value: f64,
        /// The allowed range.
        expected: &'static str,
    },
    /// Pruning asked of the dense baseline (`--prune` with `--strategy dense`).
    #[error("{field} applies to {expected} only")]
    PruneWithDense {
        /// The option.
        field: &'static str,
        /// The strategy it needs.
        expected: &'static str,
    },
    /// Compiling a network failed.
    #[error("compiling {network}")]
    Compiling {
        /// The network's name.
        network: String,
        /// Why.
        source: Box<NetsimError>,
    },
    /// Simulating a compiled network failed.
    #[error("simulating {network}")]
    Simulating {
        /// The network's name.
        network: String,
        /// Why.
        source: Box<NetsimError>,
    },
    /// From the network zoo.
    #[error(transparent)]
    Nn(#[from] crate::nn::NnError),
    /// From loading trained weights.
    #[error(transparent)]
    Weights(#[from] crate::nn::weights::WeightsError),
    /// From packing.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// The dense and SpENCNN simulations of one network have different layer lists (a
    /// compiler bug: the dense network is the grouped one densified).
    #[error(
        "internal: the dense and grouped networks have different layer lists ({dense} and \
         {spencnn} rows)"
    )]
    LayerMismatch {
        /// Rows of the dense simulation.
        dense: usize,
        /// Rows of the SpENCNN simulation.
        spencnn: usize,
    },
    /// From the lowering.
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// From the simulator.
    #[error(transparent)]
    Sim(#[from] heaccel_sim::SimError),
    /// From the reference model (parameters, minimax).
    #[error(transparent)]
    Ckks(#[from] heaccel_verification::Error),
    /// From the whole-program stream.
    #[error(transparent)]
    Stream(#[from] crate::stream::StreamError),
}

type Result<T> = std::result::Result<T, NetsimError>;

/// ` (or NAMES with --weights)` of [`NetsimError::UnknownModel`], empty without names.
fn or_with_weights(names: &[&'static str]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" (or {} with --weights)", names.join(", "))
    }
}
