//! The dense baseline and SpENCNN side by side: per-layer rows and the ratios of the totals.

use serde::Serialize;

use super::{NetsimError, NetworkSim};

/// `a / b`, NaN when `b` is not positive (a ratio of a figure to one that is zero).
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

/// Dense / SpENCNN ratios (above 1: SpENCNN is faster or cheaper).
#[derive(Debug, Clone, Serialize)]
pub struct Speedups {
    /// Simulated latency.
    pub time: f64,
    /// Rotations.
    pub rotations: f64,
    /// Key switches.
    pub key_switches: f64,
    /// Plaintext multiplications.
    pub pmults: f64,
}

/// One layer side by side.
#[derive(Debug, Clone, Serialize)]
pub struct LayerPair {
    /// Layer (the SpENCNN network's path).
    pub name: String,
    /// Dense time, microseconds.
    pub dense_time_us: f64,
    /// SpENCNN time, microseconds.
    pub spencnn_time_us: f64,
    /// Dense rotations.
    pub dense_rotations: usize,
    /// SpENCNN rotations.
    pub spencnn_rotations: usize,
    /// Dense plaintext multiplications.
    pub dense_pmults: usize,
    /// SpENCNN plaintext multiplications.
    pub spencnn_pmults: usize,
}

/// The dense baseline and SpENCNN of one network on one configuration (`heaccel compare`).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Model.
    pub model: String,
    /// Configuration.
    pub config: String,
    /// The dense baseline.
    pub dense: NetworkSim,
    /// SpENCNN.
    pub spencnn: NetworkSim,
    /// Per layer.
    pub layers: Vec<LayerPair>,
    /// Ratios dense / SpENCNN.
    pub speedup: Speedups,
}

impl Comparison {
    /// Pairs the two simulations of one network (the same layer list: the dense network is the
    /// grouped one densified) on `config`. Errors when the layer lists differ.
    pub fn new(
        config: &heaccel_sim::HwConfig,
        dense: NetworkSim,
        spencnn: NetworkSim,
    ) -> Result<Self, NetsimError> {
        if dense.layers.len() != spencnn.layers.len() {
            return Err(NetsimError::LayerMismatch {
                dense: dense.layers.len(),
                spencnn: spencnn.layers.len(),
            });
        }
        let layers = dense
            .layers
            .iter()
            .zip(&spencnn.layers)
            .map(|(d, s)| LayerPair {
                name: s.name.clone(),
                dense_time_us: d.time_us,
                spencnn_time_us: s.time_us,
                dense_rotations: d.rotations,
                spencnn_rotations: s.rotations,
                dense_pmults: d.pmults,
                spencnn_pmults: s.pmults,
            })
            .collect();
        let (d, s) = (&dense.total, &spencnn.total);
        let speedup = Speedups {
            time: ratio(d.time_us, s.time_us),
            rotations: ratio(d.rotations as f64, s.rotations as f64),
            key_switches: ratio(d.key_switches as f64, s.key_switches as f64),
            pmults: ratio(d.pmults as f64, s.pmults as f64),
        };
        Ok(Comparison {
            model: spencnn.network.clone(),
            config: config.name.clone(),
            dense,
            spencnn,
            layers,
            speedup,
        })
    }
}
