//! How many lanes fit a device: a linear model of resources in the lane count, fitted on two
//! synthesized lane counts, against the device's budget.

use serde::Serialize;

use crate::yosys::Resources;
use crate::FpgaError;

/// A device's resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Device name.
    pub name: &'static str,
    /// CLB LUTs.
    pub lut: u64,
    /// CLB flip-flops.
    pub ff: u64,
    /// DSP48E2 slices.
    pub dsp: u64,
    /// RAMB36 block RAM sites.
    pub bram36: u64,
    /// URAM288 blocks.
    pub uram: u64,
}

/// The XCU280 (the Alveo U280's FPGA; the same die as the XCVU37P): 162,960 CLBs of
/// 8 LUTs and 16 flip-flops = 1,303,680 LUTs and 2,607,360 flip-flops, 9,024 DSP48E2,
/// 2,016 RAMB36, 960 URAM288 (Xilinx DS890/DS963 device tables; the whole device, before the
/// Vitis shell's share).
pub const U280: Budget = Budget {
    name: "xcu280-fsvh2892-2L-e",
    lut: 1_303_680,
    ff: 2_607_360,
    dsp: 9_024,
    bram36: 2_016,
    uram: 960,
};

/// Resource kinds of a fit.
pub const KINDS: [&str; 5] = ["lut", "ff", "dsp", "bram36", "uram"];

fn kind_value(r: &Resources, kind: &str) -> u64 {
    match kind {
        "lut" => r.clb_luts(),
        "ff" => r.ff,
        "dsp" => r.dsp,
        "bram36" => r.bram36(),
        "uram" => r.uram,
        _ => unreachable!("known kind"),
    }
}

fn budget_value(b: &Budget, kind: &str) -> u64 {
    match kind {
        "lut" => b.lut,
        "ff" => b.ff,
        "dsp" => b.dsp,
        "bram36" => b.bram36,
        "uram" => b.uram,
        _ => unreachable!("known kind"),
    }
}

/// The fit of one resource: `R(P) = fixed + per_lane * P` through `(p1, r1)` and
/// `(p2, r2)`, and the largest `P` with `R(P) <= budget`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceFit {
    /// `lut` (CLB LUTs: logic + memory), `ff`, `dsp`, `bram36`, `uram`.
    pub resource: String,
    /// Measured at the first lane count.
    pub at_p1: u64,
    /// Measured at the second lane count.
    pub at_p2: u64,
    /// Slope: resources per lane.
    pub per_lane: f64,
    /// Intercept: resources at zero lanes.
    pub fixed: f64,
    /// The device's budget.
    pub budget: u64,
    /// Largest lane count within the budget; `None` when the resource does not grow with
    /// the lanes (it never binds).
    pub lanes_fit: Option<u64>,
}

/// Largest integer `P >= 0` with `r1 + (P - p1) (r2 - r1) / (p2 - p1) <= budget`, computed
/// exactly in integers; `None` when `r2 <= r1` (no growth). Requires `p2 > p1`.
pub fn lanes_within(p1: u64, r1: u64, p2: u64, r2: u64, budget: u64) -> Option<u64> {
    assert!(p2 > p1, "lanes_within needs p2 > p1");
    if r2 <= r1 {
        return None;
    }
    // P <= p1 + (budget - r1) (p2 - p1) / (r2 - r1), floored (also when budget < r1).
    let num = (budget as i128 - r1 as i128) * (p2 - p1) as i128;
    let p = p1 as i128 + num.div_euclid((r2 - r1) as i128);
    Some(p.max(0) as u64)
}

/// Fits every resource kind on the two measurements `(p1, r1)`, `(p2, r2)`.
pub fn fit_lanes(
    p1: u64,
    r1: &Resources,
    p2: u64,
    r2: &Resources,
    budget: &Budget,
) -> Result<Vec<ResourceFit>, FpgaError> {
    if p2 <= p1 {
        return Err(FpgaError::Parameter {
            field: "--fit-lanes",
            value: p2.to_string(),
            expected: format!("must be larger than --lanes {p1}"),
        });
    }
    Ok(KINDS
        .iter()
        .map(|&kind| {
            let (a, b) = (kind_value(r1, kind), kind_value(r2, kind));
            let per_lane = (b as f64 - a as f64) / (p2 - p1) as f64;
            ResourceFit {
                resource: kind.to_string(),
                at_p1: a,
                at_p2: b,
                per_lane,
                fixed: a as f64 - per_lane * p1 as f64,
                budget: budget_value(budget, kind),
                lanes_fit: lanes_within(p1, a, p2, b, budget_value(budget, kind)),
            }
        })
        .collect())
}

/// Lane counts of the simulator preset derived from the lanes that fit (`lanes_fit`, the
/// design's `P`). NTT units have `butterflies_per_unit = min(128, largest power of two <=
/// lanes_fit)` butterflies (128 is the largest RTL NTT unit), and the design is replicated as
/// many whole times as fit (`replicas = lanes_fit / butterflies_per_unit`):
/// - the datapath ([`preset_lanes`]): per replica one NTT unit, as many element-wise
///   multiplier lanes and one automorphism unit of as many lanes;
/// - the core ([`core_preset_lanes`]): per replica one NTT unit per prime, `2P` element-wise
///   lanes per prime and one automorphism unit of `2P` lanes.
///
/// Basis conversion gets as many lanes as the element-wise multipliers (no RTL unit yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PresetLanes {
    /// Lanes `P` the fit allows.
    pub lanes_fit: u64,
    /// Whole copies of the synthesized design at `butterflies_per_unit` lanes.
    pub replicas: u64,
    /// NTT units.
    pub ntt_units: u64,
    /// Butterflies per NTT unit.
    pub butterflies_per_unit: u64,
    /// Element-wise multiplier lanes.
    pub modmul_lanes: u64,
    /// Automorphism units.
    pub automorph_units: u64,
    /// Lanes per automorphism unit.
    pub automorph_lanes: u64,
}

fn unit_size(lanes_fit: u64) -> Result<(u64, u64), FpgaError> {
    if lanes_fit == 0 {
        return Err(FpgaError::NoLaneFits);
    }
    let bpu = (1u64 << (63 - lanes_fit.leading_zeros())).min(128);
    Ok((bpu, lanes_fit / bpu))
}

/// The datapath's preset lanes (see [`PresetLanes`]); fails when not even one lane fits.
pub fn preset_lanes(lanes_fit: u64) -> Result<PresetLanes, FpgaError> {
    let (bpu, replicas) = unit_size(lanes_fit)?;
    Ok(PresetLanes {
        lanes_fit,
        replicas,
        ntt_units: replicas,
        butterflies_per_unit: bpu,
        modmul_lanes: replicas * bpu,
        automorph_units: replicas,
        automorph_lanes: bpu,
    })
}

/// The core's preset lanes for a core of `primes` primes (see [`PresetLanes`]); fails when
/// not even one lane fits or `primes` is 0.
pub fn core_preset_lanes(lanes_fit: u64, primes: u64) -> Result<PresetLanes, FpgaError> {
    if primes == 0 {
        return Err(FpgaError::NoCorePrimes);
    }
    let (bpu, replicas) = unit_size(lanes_fit)?;
    Ok(PresetLanes {
        lanes_fit,
        replicas,
        ntt_units: replicas * primes,
        butterflies_per_unit: bpu,
        modmul_lanes: replicas * primes * 2 * bpu,
        automorph_units: replicas,
        automorph_lanes: 2 * bpu,
    })
}

/// The lane fit of an estimate.
#[derive(Debug, Serialize)]
pub struct FitReport {
    /// The method, in words.
    pub method: String,
    /// Device.
    pub device: &'static str,
    /// The two lane counts.
    pub lanes: [usize; 2],
    /// Per resource kind.
    pub resources: Vec<ResourceFit>,
    /// Lanes within the DSP budget.
    pub lanes_fit_dsp: Option<u64>,
    /// Lanes within the LUT budget.
    pub lanes_fit_lut: Option<u64>,
    /// Lanes within every budget, and the binding resource.
    pub lanes_fit: Option<u64>,
    /// The resource that binds.
    pub binding: Option<String>,
}

impl FitReport {
    /// The fit of `resources` (measured at `lanes[0]` and `lanes[1]`, see [`fit_lanes`]) on
    /// `budget`: the lanes each resource allows and the binding one (fewest lanes; ties by
    /// name).
    pub fn new(
        lanes: [usize; 2],
        log_n: u32,
        resources: Vec<ResourceFit>,
        budget: &Budget,
    ) -> Self {
        let get = |k: &str| {
            resources
                .iter()
                .find(|r| r.resource == k)
                .and_then(|r| r.lanes_fit)
        };
        let binding = resources
            .iter()
            .filter_map(|r| r.lanes_fit.map(|l| (l, r.resource.clone())))
            .min();
        FitReport {
            method: format!(
                "resources R(P) = fixed + per_lane * P through the Yosys totals at P = {} and P = \
                 {} (assumes every resource grows linearly in the lanes at N = 2^{log_n}); lanes \
                 fit = largest P with R(P) <= the whole device's budget",
                lanes[0], lanes[1]
            ),
            device: budget.name,
            lanes,
            lanes_fit_dsp: get("dsp"),
            lanes_fit_lut: get("lut"),
            lanes_fit: binding.as_ref().map(|b| b.0),
            binding: binding.map(|b| b.1),
            resources,
        }
    }
}
