//! A zoo network by name, compiled and simulated as `heaccel simulate --model` and
//! `heaccel compare --model` do: the model and its options ([`ModelOptions`]) parsed and
//! checked, the network loaded (seeded, or trained weights), compiled per repacking choice
//! ([`ModelSweep::compile`]) and the fastest choice simulated ([`simulate_model`],
//! [`compare_model`]). Errors name the command line's options (`--model`, `--prune`, ...).

use std::fmt;
use std::path::{Path, PathBuf};

use super::{
    compile_network, compile_repack_choices, report_options, simulate_fastest, ActivationChoice,
    Comparison, CompiledNetwork, NetsimError, NetworkSim, PoolChoice, Result,
};
use crate::nn::zoo::{self, ZooModel};
use crate::nn::{CifarResNet, Network};
use crate::pack::{
    densified, GroupChoice, PruneConfig, Repack, ReportOptions, SpencnnConfig, Strategy,
};

/// Which network a model runs as (`--strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyChoice {
    /// The dense baseline on the dense network (every convolution ungrouped).
    Dense,
    /// SpENCNN on the grouped network.
    Spencnn,
}

impl StrategyChoice {
    /// `dense` or `spencnn`.
    pub fn name(self) -> &'static str {
        match self {
            StrategyChoice::Dense => "dense",
            StrategyChoice::Spencnn => "spencnn",
        }
    }
}

impl fmt::Display for StrategyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which poolings repack their output (`--repack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RepackChoice {
    /// Every choice of repacked poolings, the fastest kept ([`simulate_fastest`]).
    #[default]
    Auto,
    /// Every pooling that can.
    Always,
    /// None.
    Never,
}

/// The options of a model (`--prune`, `--activation`, `--pool`, `--repack`, `--weights`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOptions {
    /// Sub-block pruning ratio for SpENCNN, in [0, 1] (one kernel tap per block).
    pub prune: Option<f64>,
    /// Activation layers; `None`: [`default_activation`] of the model.
    pub activation: Option<ActivationChoice>,
    /// Pooling layers.
    pub pool: PoolChoice,
    /// Repacking of pooled maps.
    pub repack: RepackChoice,
    /// Trained weights (safetensors, PyTorch names); `None`: the zoo network, seeded
    /// (see [`load_model_with`]).
    pub weights: Option<PathBuf>,
}

impl Default for ModelOptions {
    /// No pruning, the model's default activation, average pooling, `auto` repacking, seeded
    /// weights.
    fn default() -> Self {
        ModelOptions {
            prune: None,
            activation: None,
            pool: PoolChoice::Avg,
            repack: RepackChoice::Auto,
            weights: None,
        }
    }
}

/// The option naming the model, in errors.
const MODEL_FIELD: &str = "--model";
/// The option naming the pruning ratio, in errors.
const PRUNE_FIELD: &str = "--prune";

/// The network `name` names with `weights` (see [`ModelOptions::weights`]): with
/// `resnet20/32/44/56` the CIFAR-10 ResNet with option-A shortcuts, with a zoo name that
/// network's architecture, the tensors loaded from `weights`; without weights
/// [`load_model`].
pub fn load_model_with(name: &str, weights: Option<&Path>) -> Result<Network> {
    let Some(file) = weights else {
        return load_model(name);
    };
    let mut network = match name.parse::<CifarResNet>() {
        Ok(cifar) => cifar.architecture(),
        Err(_) => {
            let model = parse_zoo_model(name, &CifarResNet::NAMES[1..])?;
            zoo::architecture(model)?
        }
    };
    crate::nn::weights::load_safetensors(&mut network, file)?;
    Ok(network)
}

/// A zoo model by name, seeded ([`zoo::DEFAULT_SEED`]); errors name `--model` and the
/// allowed names.
pub fn load_model(name: &str) -> Result<Network> {
    let model = parse_zoo_model(name, &[])?;
    Ok(zoo::seeded(model, zoo::DEFAULT_SEED)?)
}

/// [`ZooModel`] from `name`; the error lists `with_weights` as the names allowed with
/// trained weights.
fn parse_zoo_model(name: &str, with_weights: &[&'static str]) -> Result<ZooModel> {
    name.parse().map_err(|_: String| NetsimError::UnknownModel {
        field: MODEL_FIELD,
        value: name.to_string(),
        expected: ZooModel::NAMES.to_vec(),
        with_weights: with_weights.to_vec(),
    })
}

/// A pruning ratio as the compiler's pruning (one kernel tap per block); errors
/// ([`NetsimError::PruneOutOfRange`]) when the ratio is outside [0, 1].
pub fn prune_config(prune: Option<f64>) -> Result<Option<PruneConfig>> {
    match prune {
        None => Ok(None),
        Some(r) if r.is_finite() && (0.0..=1.0).contains(&r) => Ok(Some(PruneConfig {
            ratio: r,
            taps_per_block: 1,
        })),
        Some(r) => Err(NetsimError::PruneOutOfRange {
            field: PRUNE_FIELD,
            value: r,
            expected: "[0, 1]",
        }),
    }
}

/// [`NetsimError::PruneWithDense`] when `prune` is given with the dense strategy.
pub fn check_prune_strategy(strategy: StrategyChoice, prune: Option<&PruneConfig>) -> Result<()> {
    if strategy == StrategyChoice::Dense && prune.is_some() {
        return Err(NetsimError::PruneWithDense {
            field: PRUNE_FIELD,
            expected: "--strategy spencnn",
        });
    }
    Ok(())
}

/// The ResNets' default activation: the minimax ReLU of the smallest alpha within 0.5
/// points of exact ReLU on ResNet-20 (80.92 % against 81.10 %, docs/RESULTS.md).
pub const RESNET_DEFAULT_ACTIVATION: &str = "relu-minimax:8";

/// The activation when none is given: [`RESNET_DEFAULT_ACTIVATION`] for `resnet*` (trained
/// with ReLU), else `poly` (SpENCNN defines lenet, vgg5 and hefnet with polynomial
/// activations).
pub fn default_activation(model: &str) -> &'static str {
    if model.starts_with("resnet") {
        RESNET_DEFAULT_ACTIVATION
    } else {
        "poly"
    }
}

/// [`default_activation`] parsed.
pub fn default_activation_choice(model: &str) -> Result<ActivationChoice> {
    default_activation(model).parse()
}

/// The parsed choices.
#[derive(Debug, Clone)]
struct Choices {
    activation: ActivationChoice,
    pool: PoolChoice,
    prune: Option<PruneConfig>,
    repack: RepackChoice,
}

fn choices(model: &str, options: &ModelOptions) -> Result<Choices> {
    let activation = match options.activation {
        Some(a) => a,
        None => default_activation_choice(model)?,
    };
    Ok(Choices {
        activation,
        pool: options.pool,
        prune: prune_config(options.prune)?,
        repack: options.repack,
    })
}

/// The network and strategy `strategy` runs on: the densified network for the dense
/// baseline, the grouped one for SpENCNN.
fn strategy_network(
    grouped: &Network,
    strategy: StrategyChoice,
    c: &Choices,
) -> (Network, Strategy) {
    match strategy {
        StrategyChoice::Dense => (densified(grouped, zoo::DEFAULT_SEED), Strategy::Dense),
        StrategyChoice::Spencnn => (
            grouped.clone(),
            Strategy::Spencnn(SpencnnConfig {
                groups: GroupChoice::Layer,
                prune: c.prune,
            }),
        ),
    }
}

/// The compiled choices for `word_bits`-bit words: one per repacking choice
/// ([`simulate_fastest`] picks the fastest on a configuration). Errors are
/// [`NetsimError::Compiling`] naming the network.
fn compile_choices(
    grouped: &Network,
    strategy: StrategyChoice,
    c: &Choices,
    nl: &ReportOptions,
    word_bits: u32,
) -> Result<Vec<CompiledNetwork>> {
    let (network, strategy) = strategy_network(grouped, strategy, c);
    let names = (c.activation, c.pool);
    let one = |repack| {
        let options = ReportOptions {
            repack_pooled: repack,
            ..nl.clone()
        };
        compile_network(&network, &strategy, &options, names, word_bits).map(|c| vec![c])
    };
    match c.repack {
        RepackChoice::Auto => compile_repack_choices(&network, &strategy, nl, names, word_bits),
        RepackChoice::Always => one(Repack::Always),
        RepackChoice::Never => one(Repack::Never),
    }
    .map_err(|e| NetsimError::Compiling {
        network: grouped.name.clone(),
        source: Box::new(e),
    })
}

/// What a step of [`simulate_model`] or [`compare_model`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Compiling the network for one strategy.
    Compiling,
    /// Simulating the compiled network.
    Simulating,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Compiling => "compiling",
            Phase::Simulating => "simulating",
        })
    }
}

/// Progress of [`simulate_model`] and [`compare_model`], for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelProgress<'a> {
    /// The network `network` is loaded; `steps` steps follow (a compilation and a simulation
    /// per strategy).
    Start {
        /// The network's name.
        network: &'a str,
        /// Steps to come.
        steps: u64,
    },
    /// A step begins.
    Step {
        /// What it does.
        phase: Phase,
        /// For which strategy.
        strategy: StrategyChoice,
    },
    /// The step that began last is done.
    Done,
}

fn run_one(
    grouped: &Network,
    strategy: StrategyChoice,
    c: &Choices,
    config: &heaccel_sim::HwConfig,
    nl: &ReportOptions,
    progress: &mut dyn FnMut(ModelProgress<'_>),
) -> Result<NetworkSim> {
    progress(ModelProgress::Step {
        phase: Phase::Compiling,
        strategy,
    });
    let compiled = compile_choices(grouped, strategy, c, nl, config.word_bits)?;
    progress(ModelProgress::Done);
    progress(ModelProgress::Step {
        phase: Phase::Simulating,
        strategy,
    });
    let sim = simulate_fastest(&compiled, config).map_err(|e| NetsimError::Simulating {
        network: grouped.name.clone(),
        source: Box::new(e),
    })?;
    progress(ModelProgress::Done);
    Ok(sim)
}

/// A model compiled once per word size for a sweep over many configurations.
#[derive(Debug)]
pub struct ModelSweep {
    grouped: Network,
    strategy: StrategyChoice,
    choices: Choices,
    nl: ReportOptions,
}

impl ModelSweep {
    /// Checks the options (the errors of [`simulate_model`]) and loads the model.
    pub fn new(model: &str, strategy: StrategyChoice, options: &ModelOptions) -> Result<Self> {
        let choices = choices(model, options)?;
        check_prune_strategy(strategy, choices.prune.as_ref())?;
        let grouped = load_model_with(model, options.weights.as_deref())?;
        let nl = report_options(choices.activation, choices.pool, Repack::Always)?;
        Ok(ModelSweep {
            grouped,
            strategy,
            choices,
            nl,
        })
    }

    /// The network's name.
    pub fn name(&self) -> &str {
        &self.grouped.name
    }

    /// The compiled choices for `word_bits`-bit words (as [`simulate_model`] compiles them);
    /// simulate them with [`simulate_fastest`].
    pub fn compile(&self, word_bits: u32) -> Result<Vec<CompiledNetwork>> {
        compile_choices(
            &self.grouped,
            self.strategy,
            &self.choices,
            &self.nl,
            word_bits,
        )
    }
}

/// `model` compiled with `strategy` and simulated on `config` (`heaccel simulate --model`);
/// `progress` hears of each step.
pub fn simulate_model(
    model: &str,
    strategy: StrategyChoice,
    options: &ModelOptions,
    config: &heaccel_sim::HwConfig,
    progress: &mut dyn FnMut(ModelProgress<'_>),
) -> Result<NetworkSim> {
    let c = choices(model, options)?;
    check_prune_strategy(strategy, c.prune.as_ref())?;
    let network = load_model_with(model, options.weights.as_deref())?;
    let nl = report_options(c.activation, c.pool, Repack::Always)?;
    progress(ModelProgress::Start {
        network: &network.name,
        steps: 2,
    });
    run_one(&network, strategy, &c, config, &nl, progress)
}

/// `model` as the dense baseline and with SpENCNN, side by side on `config`
/// (`heaccel compare --model`); `progress` hears of each step. Both strategies run before
/// an error is returned (the dense one's first).
pub fn compare_model(
    model: &str,
    options: &ModelOptions,
    config: &heaccel_sim::HwConfig,
    progress: &mut dyn FnMut(ModelProgress<'_>),
) -> Result<Comparison> {
    let c = choices(model, options)?;
    let network = load_model_with(model, options.weights.as_deref())?;
    let nl = report_options(c.activation, c.pool, Repack::Always)?;
    progress(ModelProgress::Start {
        network: &network.name,
        steps: 4,
    });
    let dense = run_one(&network, StrategyChoice::Dense, &c, config, &nl, progress);
    let spencnn = run_one(&network, StrategyChoice::Spencnn, &c, config, &nl, progress);
    Comparison::new(config, dense?, spencnn?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asic() -> heaccel_sim::HwConfig {
        heaccel_sim::HwConfig::preset("asic").unwrap()
    }

    #[test]
    fn lenet_compiles_dense_and_spencnn() {
        for strategy in [StrategyChoice::Dense, StrategyChoice::Spencnn] {
            let sweep = ModelSweep::new("lenet", strategy, &ModelOptions::default()).unwrap();
            assert_eq!(sweep.name(), "lenet");
            let compiled = sweep.compile(36).unwrap();
            // lenet has two poolings: every one of the 4 repacking choices
            assert_eq!(compiled.len(), 4, "{strategy}");
        }
    }

    #[test]
    fn prune_out_of_range_is_typed() {
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let options = ModelOptions {
                prune: Some(bad),
                ..ModelOptions::default()
            };
            let e = ModelSweep::new("lenet", StrategyChoice::Spencnn, &options).unwrap_err();
            match &e {
                NetsimError::PruneOutOfRange {
                    field,
                    value,
                    expected,
                } => {
                    assert_eq!(*field, "--prune");
                    assert!(value.to_bits() == bad.to_bits());
                    assert_eq!(*expected, "[0, 1]");
                }
                other => panic!("{bad}: {other}"),
            }
            assert_eq!(e.to_string(), format!("--prune: {bad} is outside [0, 1]"));
        }
        assert!(prune_config(Some(0.5)).unwrap().is_some());
        assert!(prune_config(None).unwrap().is_none());
    }

    #[test]
    fn prune_with_dense_is_typed() {
        let options = ModelOptions {
            prune: Some(0.5),
            ..ModelOptions::default()
        };
        let e = simulate_model(
            "lenet",
            StrategyChoice::Dense,
            &options,
            &asic(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(e, NetsimError::PruneWithDense { .. }), "{e}");
        assert_eq!(e.to_string(), "--prune applies to --strategy spencnn only");
        // checked before the model is loaded, as on the command line
        let e = ModelSweep::new("alexnet", StrategyChoice::Dense, &options).unwrap_err();
        assert!(matches!(e, NetsimError::PruneWithDense { .. }), "{e}");
    }

    #[test]
    fn default_activation_depends_on_the_model() {
        assert_eq!(default_activation("resnet20"), RESNET_DEFAULT_ACTIVATION);
        assert_eq!(default_activation("resnet56"), "relu-minimax:8");
        assert_eq!(default_activation("lenet"), "poly");
        assert_eq!(
            default_activation_choice("resnet20").unwrap(),
            ActivationChoice::ReluMinimax(8)
        );
        assert_eq!(
            default_activation_choice("lenet").unwrap(),
            ActivationChoice::Poly
        );
    }

    #[test]
    fn unknown_models_name_the_option_and_the_names() {
        let e = load_model("alexnet").unwrap_err();
        let zoo_message = "alexnet".parse::<ZooModel>().unwrap_err();
        assert_eq!(e.to_string(), format!("--model: {zoo_message}"));
        let e = load_model_with("alexnet", Some(Path::new("w.safetensors"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("--model: {zoo_message} (or resnet32, resnet44, resnet56 with --weights)")
        );
        assert!(matches!(e, NetsimError::UnknownModel { .. }));
    }
}
