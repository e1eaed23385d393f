//! Whole-network simulation: levels scheduled with refreshes, every layer costed per
//! operation, the whole program timed when there is one; repacking choices compared.

use std::collections::BTreeMap;

use heaccel_sim::HwConfig;

use super::sim::{layer_sim, strategy_name};
use super::{
    compile_network, ActivationChoice, CompiledNetwork, LayerSim, NetsimError, NetworkSim,
    OpCoster, PoolChoice, Result, TotalSim,
};
use crate::nn::Network;
use crate::pack::{Repack, ReportOptions, Strategy};

/// Compiles `network` with `strategy` and `nonlinear` (named `activation`, `pool` in the
/// result), chooses its parameters for `config`'s words and simulates every layer
/// ([`compile_network`], then [`simulate_compiled`]).
pub fn simulate_network(
    network: &Network,
    strategy: &Strategy,
    nonlinear: &ReportOptions,
    names: (ActivationChoice, PoolChoice),
    config: &HwConfig,
) -> Result<NetworkSim> {
    let compiled = compile_network(network, strategy, nonlinear, names, config.word_bits)?;
    simulate_compiled(&compiled, config)
}

/// Fits a compiled network's parameters to `config`'s scratchpad and simulates every layer.
///
/// Levels: the network input starts at level `L`; a layer starts at `L` minus the depth
/// consumed before it on its path. When bootstrapping is needed, layers are placed greedily
/// in execution order: a refresh (each input ciphertext bootstrapped back to level `L`, its
/// simulated time counted in the layer's) precedes a layer that would end below level 0; a layer that starts before the last
/// refresh (a residual shortcut) is costed at level `L` (conservative). Errors: `config`'s
/// words differ from the compiled ones, parameters, a layer deeper than `L`.
pub fn simulate_compiled(compiled: &CompiledNetwork, config: &HwConfig) -> Result<NetworkSim> {
    let report = &compiled.report;
    let (params, built) = compiled.fitted(config)?;
    let bootstrap = if params.needs_bootstrapping {
        let log_slots = params.slots().trailing_zeros();
        let trace = compiled.bootstrap_trace(&built, params.dnum, log_slots)?;
        let cost = crate::bootsim::BootstrapCost::of(&built, config, &trace.ops)?;
        if cost.level_after != params.levels {
            return Err(NetsimError::Choice {
                field: "params",
                problem: format!(
                    "bootstrapping lands on level {}, the network starts at {}",
                    cost.level_after, params.levels
                ),
            });
        }
        Some(cost)
    } else {
        None
    };
    let (whole_program, whole_program_unavailable) = match compiled.dataflow(&params, &built)? {
        Ok(flow) => (
            Some(crate::stream::simulate_dataflow(
                &built,
                &flow,
                config,
                &crate::stream::StreamOptions::default(),
            )?),
            None,
        ),
        Err(reason) => (None, Some(reason)),
    };
    let mut coster = OpCoster::new(built, config.clone());
    let top = params.levels;
    let mut last_refresh = 0;
    let mut refreshes = 0;
    let mut layers = Vec::with_capacity(report.layers.len());
    for row in &report.layers {
        let d = row.counts.depth;
        if d > top {
            return Err(NetsimError::Choice {
                field: "params",
                problem: format!(
                    "layer {} needs {d} levels; the parameter set has {top}",
                    row.location
                ),
            });
        }
        let mut refreshed = false;
        let level_in = if row.start_depth < last_refresh {
            top
        } else if row.start_depth - last_refresh + d > top {
            last_refresh = row.start_depth;
            refreshes += 1;
            refreshed = true;
            top
        } else {
            top - (row.start_depth - last_refresh)
        };
        let mut time = 0.0;
        let mut by_bound = BTreeMap::new();
        for t in &row.profile {
            time += t.count as f64 * coster.time_us(t.kind, level_in - t.depth)?;
            for (unit, us) in coster.time_by_bound(t.kind, level_in - t.depth)? {
                *by_bound.entry(unit.name()).or_insert(0.0) += t.count as f64 * us;
            }
        }
        let mut boot_us = 0.0;
        if refreshed {
            let b = bootstrap
                .as_ref()
                .expect("refreshes only on the deep set, which has a bootstrapping");
            boot_us = row.ciphertexts_in as f64 * b.time_us;
            for (unit, us) in &b.time_by_bound {
                *by_bound.entry(*unit).or_insert(0.0) += row.ciphertexts_in as f64 * us;
            }
        }
        let mut layer = layer_sim(row, level_in, refreshed, time + boot_us);
        layer.bootstrap_us = boot_us;
        layer.time_by_bound = by_bound;
        layers.push(layer);
    }
    let sum = |f: fn(&LayerSim) -> usize| layers.iter().map(f).sum::<usize>();
    let per_op_sum_us: f64 = layers.iter().map(|l| l.time_us).sum();
    let whole = whole_program.as_ref();
    let total = TotalSim {
        rotations: sum(|l| l.rotations),
        pmults: sum(|l| l.pmults),
        hmults: sum(|l| l.hmults),
        additions: sum(|l| l.additions),
        const_mults: sum(|l| l.const_mults),
        rescales: sum(|l| l.rescales),
        key_switches: sum(|l| l.key_switches),
        depth: report.total.depth,
        refreshes,
        bootstrappings: whole.map_or_else(
            || {
                layers
                    .iter()
                    .filter(|l| l.refreshed)
                    .map(|l| l.ciphertexts)
                    .sum()
            },
            |w| w.bootstrappings,
        ),
        bootstrap_us: layers.iter().map(|l| l.bootstrap_us).sum(),
        time_us: whole.map_or(per_op_sum_us, |w| w.time_us),
        per_op_sum_us,
        offchip_bytes: whole.map(|w| w.offchip_bytes),
        offchip_lower_bound_bytes: whole.map(|w| w.offchip_lower_bound_bytes),
    };
    Ok(NetworkSim {
        network: compiled.source.network.name.clone(),
        strategy: strategy_name(&compiled.source.strategy).into(),
        activation: compiled.names.0.to_string(),
        pool: compiled.names.1.to_string(),
        config: config.name.clone(),
        slots: params.slots(),
        params,
        bootstrap,
        layers,
        total,
        whole_program,
        whole_program_unavailable,
    })
}

/// Poolings of `network` (all depths, execution order).
fn pool_count(network: &Network) -> usize {
    let mut n = 0;
    network.visit_layers(|_, l| {
        if matches!(l, crate::nn::Layer::Pool(_)) {
            n += 1;
        }
    });
    n
}

/// [`simulate_network`] for every choice of repacked poolings (each subset for up to 4
/// poolings, else all or none), keeping the fastest (ties: the fewer repacks, by mask
/// order): repacking saves ciphertexts downstream but adds a level to everything upstream.
pub fn simulate_network_best_repack(
    network: &Network,
    strategy: &Strategy,
    options: &ReportOptions,
    names: (ActivationChoice, PoolChoice),
    config: &HwConfig,
) -> Result<NetworkSim> {
    let choices = compile_repack_choices(network, strategy, options, names, config.word_bits)?;
    simulate_fastest(&choices, config)
}

/// [`simulate_network_best_repack`] with `heaccel simulate --model`'s defaults for networks
/// of polynomial activations: polynomial activations, average pooling, the fastest
/// repacking of pooled maps.
pub fn simulate_with_defaults(
    network: &Network,
    strategy: &Strategy,
    config: &HwConfig,
) -> Result<NetworkSim> {
    simulate_network_best_repack(
        network,
        strategy,
        &ReportOptions::default(),
        (ActivationChoice::Poly, PoolChoice::Avg),
        config,
    )
}

/// [`compile_network`] for every choice of repacked poolings of
/// [`simulate_network_best_repack`], in its order.
pub fn compile_repack_choices(
    network: &Network,
    strategy: &Strategy,
    options: &ReportOptions,
    names: (ActivationChoice, PoolChoice),
    word_bits: u32,
) -> Result<Vec<CompiledNetwork>> {
    let pools = pool_count(network);
    let choices: Vec<Repack> = if pools <= 4 {
        (0..1u64 << pools).map(Repack::Mask).collect()
    } else {
        vec![Repack::Never, Repack::Always]
    };
    choices
        .into_iter()
        .map(|repack| {
            let opts = ReportOptions {
                repack_pooled: repack,
                ..options.clone()
            };
            compile_network(network, strategy, &opts, names, word_bits)
        })
        .collect()
}

/// The fastest of `choices` simulated on `config` (ties: the first). Errors: the first
/// choice that fails, or no choices.
pub fn simulate_fastest(choices: &[CompiledNetwork], config: &HwConfig) -> Result<NetworkSim> {
    let mut best: Option<NetworkSim> = None;
    for compiled in choices {
        let sim = simulate_compiled(compiled, config)?;
        if best
            .as_ref()
            .is_none_or(|b| sim.total.time_us < b.total.time_us)
        {
            best = Some(sim);
        }
    }
    best.ok_or(NetsimError::Choice {
        field: "repack",
        problem: "no repacking choice to simulate".into(),
    })
}
