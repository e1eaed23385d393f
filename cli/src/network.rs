//! `heaccel simulate --model` and `heaccel compare --model`: a zoo network compiled to CKKS
//! operations, lowered to ISA programs and timed on a hardware configuration
//! ([`heaccel_host::netsim`]).

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use clap::Args;
use heaccel_host::netsim::{
    compile_network, compile_repack_choices, ratio, report_options, simulate_fastest,
    ActivationChoice, Comparison, CompiledNetwork, NetworkSim, PoolChoice,
};
use heaccel_host::nn::zoo::{self, ZooModel};
use heaccel_host::nn::Network;
use heaccel_host::pack::{
    densified, GroupChoice, PruneConfig, Repack, ReportOptions, SpencnnConfig, Strategy,
};

/// The options `simulate --model` and `compare --model` share.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Sub-block pruning ratio for SpENCNN, in [0, 1] (one kernel tap per block).
    #[arg(long, value_name = "RATIO", allow_hyphen_values = true)]
    pub prune: Option<f64>,
    /// Activation layers: `poly` (the network's polynomials) or `relu-minimax:ALPHA`
    /// (precise ReLU, ALPHA in 4..=14). Default: `relu-minimax:8` for the ResNets (trained
    /// with ReLU; alpha 8 is the smallest that keeps exact ReLU's accuracy within 0.5 points
    /// on the CIFAR-10 test images, docs/RESULTS.md), `poly` for lenet, vgg5 and hefnet
    /// (SpENCNN defines them with polynomial activations).
    #[arg(long, value_name = "poly|relu-minimax:ALPHA")]
    pub activation: Option<String>,
    /// Pooling layers: `avg` or `maxpool-minimax:ALPHA` (windows 2 and 3 become minimax
    /// max-pooling, ALPHA in 4..=14; larger windows stay average pooling).
    #[arg(long, default_value = "avg", value_name = "avg|maxpool-minimax:ALPHA")]
    pub pool: String,
    /// Repacking of pooled maps into fewer ciphertexts (one level each): `auto` simulates
    /// every choice of poolings and keeps the fastest.
    #[arg(long, value_enum, default_value = "auto")]
    pub repack: RepackArg,
    /// Trained weights (safetensors, PyTorch names). With resnet20/32/44/56: the CIFAR-10
    /// ResNet with option-A shortcuts that `heaccel accuracy` and `heaccel infer-boot` run;
    /// with a zoo name: that network's tensors. Default: the zoo network, seeded.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<std::path::PathBuf>,
}

/// The choices of `--repack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RepackArg {
    /// The fastest choice of repacked poolings.
    Auto,
    /// Every pooling that can.
    Always,
    /// None.
    Never,
}

/// The strategies of `--strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    /// The dense baseline on the dense network (every convolution ungrouped).
    Dense,
    /// SpENCNN on the grouped network.
    Spencnn,
}

/// The network `--model NAME [--weights FILE]` names (see [`ModelArgs::weights`]).
pub fn load_model_with(name: &str, weights: Option<&std::path::Path>) -> Result<Network> {
    let Some(file) = weights else {
        return load_model(name);
    };
    let mut network = match name.parse::<heaccel_host::nn::CifarResNet>() {
        Ok(cifar) => cifar.architecture(),
        Err(_) => {
            let model: ZooModel = name.parse().map_err(|e: String| {
                anyhow::anyhow!("--model: {e} (or resnet32, resnet44, resnet56 with --weights)")
            })?;
            zoo::architecture(model)?
        }
    };
    heaccel_host::nn::weights::load_safetensors(&mut network, file)?;
    Ok(network)
}

/// A zoo model by name; errors name `--model` and the allowed names.
pub fn load_model(name: &str) -> Result<Network> {
    let model: ZooModel = name
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--model: {e}"))?;
    Ok(zoo::seeded(model, zoo::DEFAULT_SEED)?)
}

/// `--prune RATIO` as the compiler's pruning (one kernel tap per block); errors name
/// `--prune` when the ratio is outside [0, 1].
pub(crate) fn prune_config(prune: Option<f64>) -> Result<Option<PruneConfig>> {
    match prune {
        None => Ok(None),
        Some(r) if r.is_finite() && (0.0..=1.0).contains(&r) => Ok(Some(PruneConfig {
            ratio: r,
            taps_per_block: 1,
        })),
        Some(r) => bail!("--prune: {r} is outside [0, 1]"),
    }
}

/// The parsed choices.
#[derive(Debug)]
struct Choices {
    activation: ActivationChoice,
    pool: PoolChoice,
    prune: Option<PruneConfig>,
    repack: RepackArg,
}

/// The ResNets' default `--activation`: the minimax ReLU of the smallest alpha within 0.5
/// points of exact ReLU on ResNet-20 (80.92 % against 81.10 %, docs/RESULTS.md).
pub const RESNET_DEFAULT_ACTIVATION: &str = "relu-minimax:8";

/// `--activation` when not given: [`RESNET_DEFAULT_ACTIVATION`] for `resnet*`, else `poly`.
pub fn default_activation(model: &str) -> &'static str {
    if model.starts_with("resnet") {
        RESNET_DEFAULT_ACTIVATION
    } else {
        "poly"
    }
}

fn choices(model: &str, args: &ModelArgs) -> Result<Choices> {
    let activation = args
        .activation
        .as_deref()
        .unwrap_or(default_activation(model));
    Ok(Choices {
        activation: activation.parse()?,
        pool: args.pool.parse()?,
        prune: prune_config(args.prune)?,
        repack: args.repack,
    })
}

/// The network and strategy `strategy` runs on: the densified network for the dense
/// baseline, the grouped one for SpENCNN.
fn strategy_network(grouped: &Network, strategy: StrategyArg, c: &Choices) -> (Network, Strategy) {
    match strategy {
        StrategyArg::Dense => (densified(grouped, zoo::DEFAULT_SEED), Strategy::Dense),
        StrategyArg::Spencnn => (
            grouped.clone(),
            Strategy::Spencnn(SpencnnConfig {
                groups: GroupChoice::Layer,
                prune: c.prune,
            }),
        ),
    }
}

/// The compiled choices for `word_bits`-bit words: one per repacking choice of `--repack`
/// ([`simulate_fastest`] picks the fastest on a configuration).
fn compile_choices(
    grouped: &Network,
    strategy: StrategyArg,
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
        RepackArg::Auto => compile_repack_choices(&network, &strategy, nl, names, word_bits),
        RepackArg::Always => one(Repack::Always),
        RepackArg::Never => one(Repack::Never),
    }
    .with_context(|| format!("compiling {}", grouped.name))
}

fn run_one(
    grouped: &Network,
    strategy: StrategyArg,
    c: &Choices,
    config: &heaccel_sim::HwConfig,
    nl: &ReportOptions,
    progress: &indicatif::ProgressBar,
) -> Result<NetworkSim> {
    progress.set_message(format!("compiling {}", strategy_label(strategy)));
    let compiled = compile_choices(grouped, strategy, c, nl, config.word_bits)?;
    progress.inc(1);
    progress.set_message(format!("simulating {}", strategy_label(strategy)));
    let sim = simulate_fastest(&compiled, config)
        .with_context(|| format!("simulating {}", grouped.name))?;
    progress.inc(1);
    Ok(sim)
}

fn strategy_label(strategy: StrategyArg) -> &'static str {
    match strategy {
        StrategyArg::Dense => "dense",
        StrategyArg::Spencnn => "spencnn",
    }
}

/// A model compiled once per word size for a sweep over many configurations.
#[derive(Debug)]
pub struct ModelSweep {
    grouped: Network,
    strategy: StrategyArg,
    choices: Choices,
    nl: ReportOptions,
}

impl ModelSweep {
    /// Parses the model and the choices (the errors of `simulate --model`).
    pub fn new(model: &str, strategy: StrategyArg, args: &ModelArgs) -> Result<Self> {
        let choices = choices(model, args)?;
        if strategy == StrategyArg::Dense && choices.prune.is_some() {
            bail!("--prune applies to --strategy spencnn only");
        }
        let grouped = load_model_with(model, args.weights.as_deref())?;
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

    /// The compiled choices for `word_bits`-bit words (as `simulate --model` compiles them).
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

/// Simulates `compiled` (from [`ModelSweep::compile`] for `config`'s words) on `config`, as
/// `simulate --model` does.
pub fn simulate_compiled_choices(
    compiled: &[CompiledNetwork],
    config: &heaccel_sim::HwConfig,
) -> Result<NetworkSim> {
    Ok(simulate_fastest(compiled, config)?)
}

/// `heaccel simulate --model NAME`.
pub fn simulate_model(
    model: &str,
    strategy: StrategyArg,
    args: &ModelArgs,
    config: &heaccel_sim::HwConfig,
) -> Result<NetworkSim> {
    let c = choices(model, args)?;
    if strategy == StrategyArg::Dense && c.prune.is_some() {
        bail!("--prune applies to --strategy spencnn only");
    }
    let network = load_model_with(model, args.weights.as_deref())?;
    let nl = report_options(c.activation, c.pool, Repack::Always)?;
    let progress = crate::progress::bar(2, &network.name);
    let sim = run_one(&network, strategy, &c, config, &nl, &progress);
    progress.finish_and_clear();
    sim
}

/// `heaccel compare --model NAME`.
pub fn compare_model(
    model: &str,
    args: &ModelArgs,
    config: &heaccel_sim::HwConfig,
) -> Result<Comparison> {
    let c = choices(model, args)?;
    let network = load_model_with(model, args.weights.as_deref())?;
    let nl = report_options(c.activation, c.pool, Repack::Always)?;
    let progress = crate::progress::bar(4, &network.name);
    let dense = run_one(&network, StrategyArg::Dense, &c, config, &nl, &progress);
    let spencnn = run_one(&network, StrategyArg::Spencnn, &c, config, &nl, &progress);
    progress.finish_and_clear();
    Ok(Comparison::new(config, dense?, spencnn?)?)
}

fn params_line(r: &NetworkSim) -> String {
    let p = &r.params;
    let mut s = format!(
        "N = 2^{}, L = {}, dnum {}, {} special primes, log2 PQ {} (bound {}), {} slots, depth {}",
        p.log_n, p.levels, p.dnum, p.special_primes, p.log_pq, p.bound, r.slots, r.total.depth
    );
    if p.needs_bootstrapping {
        let _ = write!(
            s,
            "\n  needs bootstrapping: depth {} > L = {}; {} refreshes placed greedily, {} ciphertext \
             bootstrappings (levels {} -> {}, sparse secret h = {}), {:.1} ms of the total",
            p.depth,
            p.levels,
            r.total.refreshes,
            r.total.bootstrappings,
            p.top_level(),
            p.levels,
            p.hamming_weight.unwrap_or(0),
            r.total.bootstrap_us / 1e3
        );
        if let Some(b) = &r.bootstrap {
            let stages: Vec<String> = b
                .stages
                .iter()
                .map(|(name, us)| format!("{name} {:.2}", us / 1e3))
                .collect();
            let _ = write!(
                s,
                "\n  one bootstrapping: {:.2} ms ({} ms)",
                b.time_us / 1e3,
                stages.join(", ")
            );
        }
    }
    s
}

/// The table of `simulate --model`.
pub fn format_sim(r: &NetworkSim) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} / {} / activation {} / pool {} on `{}`",
        r.network, r.strategy, r.activation, r.pool, r.config
    );
    let _ = writeln!(s, "  {}", params_line(r));
    let _ = writeln!(
        s,
        "\n{:<40} {:>6} {:>7} {:>6} {:>7} {:>7} {:>6} {:>4} {:>9} {:>12}",
        "layer", "rot", "pmult", "hmult", "add", "rescale", "keysw", "lvl", "levels", "time (us)"
    );
    for l in &r.layers {
        let mut name = match &l.approximation {
            Some(a) => format!("{} [{a}]", l.name),
            None => l.name.clone(),
        };
        if l.repacked {
            name.push_str(" +repack");
        }
        let _ = writeln!(
            s,
            "{:<40} {:>6} {:>7} {:>6} {:>7} {:>7} {:>6} {:>4} {:>9} {:>12.1}",
            name,
            l.rotations,
            l.pmults,
            l.hmults,
            l.additions,
            l.rescales,
            l.key_switches,
            l.depth,
            format!(
                "{}{}->{}",
                if l.refreshed { "*" } else { "" },
                l.level_in,
                l.level_out
            ),
            l.time_us
        );
    }
    let t = &r.total;
    let _ = writeln!(
        s,
        "{:<40} {:>6} {:>7} {:>6} {:>7} {:>7} {:>6} {:>4} {:>9} {:>12.1}",
        "total",
        t.rotations,
        t.pmults,
        t.hmults,
        t.additions,
        t.rescales,
        t.key_switches,
        t.depth,
        "",
        t.per_op_sum_us
    );
    let _ = writeln!(
        s,
        "\n  rows: each operation simulated alone at its level (operands from off-chip memory, no\n  overlap between operations), a conservative estimate{}",
        if r.total.refreshes > 0 {
            "; * = after a refresh (its bootstrappings included in the layer's time)"
        } else {
            ""
        }
    );
    s.push_str(&format_whole(r));
    s
}

/// The whole-program block of `simulate --model`.
fn format_whole(r: &NetworkSim) -> String {
    let mut s = String::new();
    let Some(w) = &r.whole_program else {
        let _ = writeln!(
            s,
            "\n  no whole program ({}): the latency is the per-operation sum",
            r.whole_program_unavailable
                .as_deref()
                .unwrap_or("not compiled")
        );
        return s;
    };
    let gb = |b: u64| b as f64 / 1e9;
    let _ = writeln!(
        s,
        "\nwhole program (one allocated instruction stream on `{}`, {} scratchpad slots): {:.3} ms",
        w.config,
        w.scratchpad_slots,
        w.time_us / 1e3
    );
    let _ = writeln!(
        s,
        "  per-operation sum {:.3} ms ({:.2}x the whole program)",
        r.total.per_op_sum_us / 1e3,
        ratio(r.total.per_op_sum_us, w.time_us)
    );
    let _ = writeln!(
        s,
        "  {} instructions, {} CKKS operations ({} shapes lowered), {} bootstrappings",
        w.instructions, w.operations, w.templates, w.bootstrappings
    );
    let classes: Vec<String> = w
        .offchip_by_class
        .iter()
        .map(|(k, v)| format!("{k} {:.3}", gb(*v)))
        .collect();
    let _ = writeln!(
        s,
        "  off-chip {:.3} GB ({}) vs {:.3} GB compulsory ({:.2}x)",
        gb(w.offchip_bytes),
        classes.join(", "),
        gb(w.offchip_lower_bound_bytes),
        ratio(w.offchip_bytes as f64, w.offchip_lower_bound_bytes as f64)
    );
    let busy: Vec<String> = w.busy.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
    let _ = writeln!(
        s,
        "  bound by {} (busy: {})",
        w.bound.name(),
        busy.join(", ")
    );
    s
}

/// The table of `compare --model`.
pub fn format_compare(c: &Comparison) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: dense baseline vs SpENCNN on `{}`",
        c.model, c.config
    );
    let _ = writeln!(s, "  dense:   {}", params_line(&c.dense));
    let _ = writeln!(s, "  spencnn: {}", params_line(&c.spencnn));
    let _ = writeln!(
        s,
        "\n{:<40} {:>7} {:>7} {:>8} {:>8} {:>12} {:>12} {:>8}",
        "layer", "rot", "rot", "pmult", "pmult", "dense (us)", "spencnn (us)", "speedup"
    );
    for l in &c.layers {
        if l.dense_time_us == 0.0 && l.spencnn_time_us == 0.0 {
            continue;
        }
        let _ = writeln!(
            s,
            "{:<40} {:>7} {:>7} {:>8} {:>8} {:>12.1} {:>12.1} {:>7.2}x",
            l.name,
            l.dense_rotations,
            l.spencnn_rotations,
            l.dense_pmults,
            l.spencnn_pmults,
            l.dense_time_us,
            l.spencnn_time_us,
            ratio(l.dense_time_us, l.spencnn_time_us)
        );
    }
    let (d, sp) = (&c.dense.total, &c.spencnn.total);
    let _ = writeln!(
        s,
        "{:<40} {:>7} {:>7} {:>8} {:>8} {:>12.1} {:>12.1} {:>7.2}x",
        "total (whole program)",
        d.rotations,
        sp.rotations,
        d.pmults,
        sp.pmults,
        d.time_us,
        sp.time_us,
        c.speedup.time
    );
    let _ = writeln!(
        s,
        "\n  speedups (dense / SpENCNN): latency {:.2}x, rotations {:.2}x, key switches {:.2}x, pmults {:.2}x",
        c.speedup.time, c.speedup.rotations, c.speedup.key_switches, c.speedup.pmults
    );
    s
}

/// The figure of `simulate --model --svg`: per-layer latency split by the unit that bounds
/// each operation, and the unit utilization and roofline position of one rotation, plaintext
/// multiplication, ciphertext multiplication, rescale and addition at the top level `L` of
/// the network's parameters on `config`.
pub fn network_figure(sim: &NetworkSim, config: &heaccel_sim::HwConfig) -> Result<String> {
    use heaccel_host::lowering;
    let layers: Vec<(String, Vec<(String, f64)>)> = sim
        .layers
        .iter()
        .map(|l| {
            let parts = l
                .time_by_bound
                .iter()
                .map(|(unit, us)| (unit.to_string(), *us))
                .collect();
            (l.name.clone(), parts)
        })
        .collect();
    let params = sim
        .params
        .literal()
        .build()
        .context("rebuilding the network's parameters")?;
    let level = params.max_level();
    let g = heaccel_verification::automorphism::galois_element_for_rotation(1, params.log_n());
    let programs = [
        (
            "rotation",
            lowering::lower_automorphisms(&params, level, &[g])?,
        ),
        ("pmult", lowering::lower_pmult(&params, level)?),
        ("hmult", lowering::lower_hmult_relin(&params, level)?),
        ("rescale", lowering::lower_rescale(&params, level)?),
        ("add", lowering::lower_add(&params, level)?),
    ];
    let mut ops = Vec::new();
    let mut points = Vec::new();
    for (name, program) in &programs {
        let report = heaccel_sim::simulate(program, config)?;
        let work = heaccel_sim::program_work(program);
        if work.modmuls > 0 {
            // an addition has no multiplications: no place on the roofline
            points.push(crate::plot::RooflinePoint::of(name, &work, &report, config));
        }
        ops.push((name.to_string(), report));
    }
    let title = format!(
        "{} / {} on {}: latency per layer by bounding unit (us); operations at L = {level}",
        sim.network, sim.strategy, sim.config
    );
    crate::plot::network_svg(&title, &layers, &ops, &points, config)
}
