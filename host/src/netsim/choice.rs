//! Activation and pooling choices (`poly`, `relu-minimax:ALPHA`, `avg`, `maxpool-minimax:ALPHA`)
//! and the [`ReportOptions`] they build.

use std::fmt;
use std::str::FromStr;

use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::minimax::CompositeSign;
use serde::Serialize;

use super::{NetsimError, Result};
use crate::pack::{MinimaxChoice, Repack, ReportOptions};

/// Precision range of the minimax approximations (the degree table's).
pub const ALPHA_RANGE: std::ops::RangeInclusive<u32> = 4..=14;

/// Parses `plain` (`Ok(None)`) or `{prefix}ALPHA` (`Ok(Some(alpha))`, alpha in
/// [`ALPHA_RANGE`]); anything else is an error naming `field` and both forms.
fn parse_choice(
    field: &'static str,
    noun: &str,
    plain: &str,
    prefix: &str,
    s: &str,
) -> Result<Option<u32>> {
    let forms = format!("{plain}, {prefix}ALPHA");
    if s == plain {
        return Ok(None);
    }
    let Some(rest) = s.strip_prefix(prefix) else {
        return Err(NetsimError::Choice {
            field,
            problem: format!("unknown {noun} `{s}` (allowed: {forms})"),
        });
    };
    match rest.parse::<u32>() {
        Ok(a) if ALPHA_RANGE.contains(&a) => Ok(Some(a)),
        _ => Err(NetsimError::Choice {
            field,
            problem: format!(
                "`{s}`: ALPHA must be an integer in {}..={} (allowed: {forms})",
                ALPHA_RANGE.start(),
                ALPHA_RANGE.end()
            ),
        }),
    }
}

/// How activation layers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationChoice {
    /// The network's polynomial activations (`a x^2 + b x + c`).
    Poly,
    /// Precise ReLU from the composite minimax sign of precision `alpha` (in `4..=14`).
    ReluMinimax(u32),
}

impl FromStr for ActivationChoice {
    type Err = NetsimError;
    /// `poly` or `relu-minimax:ALPHA`.
    fn from_str(s: &str) -> Result<Self> {
        Ok(
            match parse_choice("--activation", "activation", "poly", "relu-minimax:", s)? {
                None => ActivationChoice::Poly,
                Some(a) => ActivationChoice::ReluMinimax(a),
            },
        )
    }
}

impl fmt::Display for ActivationChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActivationChoice::Poly => write!(f, "poly"),
            ActivationChoice::ReluMinimax(a) => write!(f, "relu-minimax:{a}"),
        }
    }
}

/// How pooling layers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolChoice {
    /// As the network says (average pooling; max pooling is refused).
    Avg,
    /// Windows 2 and 3 as max-pooling from the composite minimax sign of precision `alpha`.
    MaxMinimax(u32),
}

impl FromStr for PoolChoice {
    type Err = NetsimError;
    /// `avg` or `maxpool-minimax:ALPHA`.
    fn from_str(s: &str) -> Result<Self> {
        Ok(
            match parse_choice("--pool", "pooling", "avg", "maxpool-minimax:", s)? {
                None => PoolChoice::Avg,
                Some(a) => PoolChoice::MaxMinimax(a),
            },
        )
    }
}

impl fmt::Display for PoolChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolChoice::Avg => write!(f, "avg"),
            PoolChoice::MaxMinimax(a) => write!(f, "maxpool-minimax:{a}"),
        }
    }
}

/// The [`ReportOptions`] of two choices (runs the minimax construction once per alpha), with
/// pooled maps repacked as `repack_pooled` says.
pub fn report_options(
    activation: ActivationChoice,
    pool: PoolChoice,
    repack_pooled: Repack,
) -> Result<ReportOptions> {
    let make = |alpha: u32| -> Result<MinimaxActivation> {
        Ok(MinimaxActivation::new(CompositeSign::for_alpha(
            alpha, None,
        )?)?)
    };
    let relu = match activation {
        ActivationChoice::Poly => None,
        ActivationChoice::ReluMinimax(a) => Some(MinimaxChoice::new(a, make(a)?)),
    };
    let max_pool = match pool {
        PoolChoice::Avg => None,
        PoolChoice::MaxMinimax(a) => match &relu {
            Some(r) if r.alpha == a => Some(r.clone()),
            _ => Some(MinimaxChoice::new(a, make(a)?)),
        },
    };
    Ok(ReportOptions {
        relu,
        max_pool,
        repack_pooled,
        ..ReportOptions::default()
    })
}
