//! A network compiled once per word size, with its per-`dnum` caches (built parameters, the
//! whole-program dataflow, the bootstrapping trace) shared by every configuration.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use heaccel_sim::HwConfig;
use heaccel_verification::ckks::ops::TracedOp;
use heaccel_verification::ckks::Parameters;

use super::params::{build_with_key_switch_words, fit_scratchpad_with, BuiltParameters};
use super::{
    select_parameters, ActivationChoice, NetsimError, ParameterChoice, PoolChoice, Result,
};
use crate::nn::Network;
use crate::pack::{network_report_with, ReportOptions, Strategy};

/// A network's whole dataflow, or why it does not compile into one program.
pub type FlowResult = std::result::Result<Arc<crate::stream::Dataflow>, String>;

/// A bootstrapping's plan (no keys) and its operations.
#[derive(Debug, Clone)]
pub(super) struct BootstrapTrace {
    /// The plan.
    pub(super) plan: Arc<heaccel_verification::bootstrap::Bootstrapper>,
    /// Its operations, in order.
    pub(super) ops: Arc<Vec<TracedOp>>,
}

/// What a [`CompiledNetwork`] compiled.
#[derive(Debug)]
pub(super) struct Source {
    /// The network.
    pub(super) network: Network,
    /// The strategy.
    pub(super) strategy: Strategy,
    /// The nonlinear options.
    pub(super) nonlinear: ReportOptions,
}

/// A network compiled for accelerators with `word_bits`-bit words: its packing report and its
/// parameter choice (before [`fit_scratchpad`]), which depend on the words only; shared by
/// every configuration with those words ([`simulate_compiled`]).
/// The parameters are built once per `dnum` the configurations' scratchpads ask for (the
/// prime search and NTT tables dominate a configuration's simulation otherwise).
///
/// [`fit_scratchpad`]: super::fit_scratchpad
/// [`simulate_compiled`]: super::simulate_compiled
#[derive(Debug, Clone)]
pub struct CompiledNetwork {
    /// What was compiled: the network, the strategy and the nonlinear options.
    pub(super) source: Arc<Source>,
    /// `dnum` -> the whole network's dataflow, or why it does not compile into one program.
    flows: Arc<Mutex<HashMap<usize, FlowResult>>>,
    pub(super) names: (ActivationChoice, PoolChoice),
    word_bits: u32,
    pub(super) report: crate::pack::NetworkReport,
    params: ParameterChoice,
    /// `dnum` -> the built parameters and the key-switch words.
    built: Arc<Mutex<HashMap<usize, BuiltParameters>>>,
    /// `dnum` -> the plan and operations of one bootstrapping (deep sets only).
    traces: Arc<Mutex<HashMap<usize, BootstrapTrace>>>,
}

impl CompiledNetwork {
    /// The word size it was compiled for.
    pub fn word_bits(&self) -> u32 {
        self.word_bits
    }

    /// The parameter choice before the scratchpad fit.
    pub fn params(&self) -> &ParameterChoice {
        &self.params
    }

    /// The parameters fitted to `config`'s scratchpad ([`fit_scratchpad`]), built once per
    /// `dnum`. Errors: `config`'s words differ from the compiled ones, parameters.
    ///
    /// [`fit_scratchpad`]: super::fit_scratchpad
    pub fn fitted(&self, config: &HwConfig) -> Result<(ParameterChoice, Parameters)> {
        if config.word_bits != self.word_bits {
            return Err(NetsimError::Choice {
                field: "word_bits",
                problem: format!(
                    "`{}` has {}-bit words; the network was compiled for {}",
                    config.name, config.word_bits, self.word_bits
                ),
            });
        }
        fit_scratchpad_with(self.params.clone(), config, |c| {
            cached(&self.built, c.dnum, || build_with_key_switch_words(c))
        })
    }

    /// The whole network's dataflow on `config` ([`crate::stream`]): the fitted parameters,
    /// built, and the dataflow under them, or why the network does not compile into one
    /// program.
    pub fn fitted_dataflow(
        &self,
        config: &HwConfig,
    ) -> Result<(ParameterChoice, Parameters, FlowResult)> {
        let (params, built) = self.fitted(config)?;
        let flow = self.dataflow(&params, &built)?;
        Ok((params, built, flow))
    }

    /// The dataflow of the whole network under `built` (the fitted `params`), traced once per
    /// `dnum`: `Err` with the reason when the network does not compile into one program.
    pub(super) fn dataflow(
        &self,
        params: &ParameterChoice,
        built: &Parameters,
    ) -> Result<FlowResult> {
        cached(&self.flows, params.dnum, || {
            self.trace_dataflow(params, built)
        })
    }

    /// [`CompiledNetwork::dataflow`], uncached.
    fn trace_dataflow(&self, params: &ParameterChoice, built: &Parameters) -> Result<FlowResult> {
        let Source {
            network,
            strategy,
            nonlinear,
        } = &*self.source;
        let options = ReportOptions {
            bootstrap_levels: params.needs_bootstrapping.then_some(params.levels),
            relu_bounds: Vec::new(),
            ..nonlinear.clone()
        };
        let compiled =
            match crate::pack::compile_he_structure(network, strategy, params.slots(), &options) {
                Ok(compiled) => compiled,
                Err(e) => return Ok(Err(e.to_string())),
            };
        let plan = if params.needs_bootstrapping {
            let log_slots = params.slots().trailing_zeros();
            Some(self.bootstrap_trace(built, params.dnum, log_slots)?.plan)
        } else {
            None
        };
        let expansions = crate::stream::Expansions {
            relu: options.relu.as_ref().map(|m| &m.circuits),
            bootstrapper: plan.as_deref(),
        };
        let flow =
            crate::stream::trace_program(built, &compiled.program, params.levels, expansions)?;
        Ok(Ok(Arc::new(flow)))
    }

    /// The operations of one bootstrapping of `2^log_slots` slots under `built` (the deep set
    /// with `dnum` digits), traced once per `dnum` and shared by every configuration.
    pub(super) fn bootstrap_trace(
        &self,
        built: &Parameters,
        dnum: usize,
        log_slots: u32,
    ) -> Result<BootstrapTrace> {
        cached(&self.traces, dnum, || {
            let (plan, trace) = crate::bootsim::bootstrap_trace(built, None, log_slots)?;
            Ok(BootstrapTrace {
                plan: Arc::new(plan),
                ops: Arc::new(trace),
            })
        })
    }
}

/// `map[key]`, made by `make` the first time (under the lock, so it is made once).
fn cached<V: Clone>(
    map: &Mutex<HashMap<usize, V>>,
    key: usize,
    make: impl FnOnce() -> Result<V>,
) -> Result<V> {
    // a poisoned lock only means another thread panicked; the map is still valid
    let mut cache = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = cache.get(&key) {
        return Ok(hit.clone());
    }
    let made = make()?;
    cache.insert(key, made.clone());
    Ok(made)
}

/// Compiles `network` with `strategy` and `nonlinear` (named `activation`, `pool` in the
/// result) and chooses its parameters for `word_bits`-bit words. Errors: packing (naming the
/// layer), parameters.
pub fn compile_network(
    network: &Network,
    strategy: &Strategy,
    nonlinear: &ReportOptions,
    names: (ActivationChoice, PoolChoice),
    word_bits: u32,
) -> Result<CompiledNetwork> {
    let first_slots = 1 << 13;
    let mut report = network_report_with(network, strategy, first_slots, nonlinear)?;
    let params = select_parameters(report.total.depth, word_bits)?;
    if params.slots() != first_slots {
        report = network_report_with(network, strategy, params.slots(), nonlinear)?;
    }
    Ok(CompiledNetwork {
        source: Arc::new(Source {
            network: network.clone(),
            strategy: *strategy,
            nonlinear: nonlinear.clone(),
        }),
        flows: Arc::default(),
        names,
        word_bits,
        report,
        params,
        built: Arc::default(),
        traces: Arc::default(),
    })
}
