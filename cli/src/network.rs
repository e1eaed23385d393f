//! `heaccel simulate --model` and `heaccel compare --model`: a zoo network compiled to CKKS
//! operations, lowered to ISA programs and timed on a hardware configuration
//! ([`heaccel_host::netsim`], whose `model` functions do the work): the options, the progress
//! bar and the tables.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use clap::Args;
use heaccel_host::netsim::{
    self, ratio, Comparison, ModelOptions, ModelProgress, NetworkSim, RepackChoice, StrategyChoice,
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

impl ModelArgs {
    /// The options as [`heaccel_host::netsim`] takes them; errors name `--activation` and
    /// `--pool`.
    pub fn options(&self) -> Result<ModelOptions> {
        Ok(ModelOptions {
            activation: self.activation.as_deref().map(str::parse).transpose()?,
            pool: self.pool.parse()?,
            prune: self.prune,
            repack: self.repack.into(),
            weights: self.weights.clone(),
        })
    }
}

impl From<RepackArg> for RepackChoice {
    fn from(r: RepackArg) -> Self {
        match r {
            RepackArg::Auto => RepackChoice::Auto,
            RepackArg::Always => RepackChoice::Always,
            RepackArg::Never => RepackChoice::Never,
        }
    }
}

impl From<StrategyArg> for StrategyChoice {
    fn from(s: StrategyArg) -> Self {
        match s {
            StrategyArg::Dense => StrategyChoice::Dense,
            StrategyArg::Spencnn => StrategyChoice::Spencnn,
        }
    }
}

/// Runs `run` with a progress bar on stderr (drawn only on a terminal) that follows its
/// [`ModelProgress`].
fn with_progress<T>(run: impl FnOnce(&mut dyn FnMut(ModelProgress<'_>)) -> T) -> T {
    let mut bar: Option<indicatif::ProgressBar> = None;
    let out = run(&mut |p| match p {
        ModelProgress::Start { network, steps } => bar = Some(crate::progress::bar(steps, network)),
        ModelProgress::Step { phase, strategy } => {
            if let Some(b) = &bar {
                b.set_message(format!("{phase} {strategy}"));
            }
        }
        ModelProgress::Done => {
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    out
}

/// `heaccel simulate --model NAME` ([`netsim::simulate_model`]).
pub fn simulate_model(
    model: &str,
    strategy: StrategyArg,
    args: &ModelArgs,
    config: &heaccel_sim::HwConfig,
) -> Result<NetworkSim> {
    let options = args.options()?;
    Ok(with_progress(|progress| {
        netsim::simulate_model(model, strategy.into(), &options, config, progress)
    })?)
}

/// `heaccel compare --model NAME` ([`netsim::compare_model`]).
pub fn compare_model(
    model: &str,
    args: &ModelArgs,
    config: &heaccel_sim::HwConfig,
) -> Result<Comparison> {
    let options = args.options()?;
    Ok(with_progress(|progress| {
        netsim::compare_model(model, &options, config, progress)
    })?)
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
