//! Feature-map shapes ([`Shape`]) and the CHW row-major `f64` tensor ([`FeatureMap`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::nn::NnError;

/// A feature-map shape `(channels, height, width)`; all three are at least 1 in a valid network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shape {
    /// Number of channels `C`.
    pub channels: usize,
    /// Rows `H`.
    pub height: usize,
    /// Columns `W`.
    pub width: usize,
}

impl Shape {
    /// The shape `(channels, height, width)`.
    pub const fn new(channels: usize, height: usize, width: usize) -> Self {
        Shape {
            channels,
            height,
            width,
        }
    }

    /// A flat vector of `features` values: `(features, 1, 1)`.
    pub const fn flat(features: usize) -> Self {
        Shape::new(features, 1, 1)
    }

    /// Number of values `C * H * W` (saturating, so absurd user shapes cannot overflow).
    pub fn len(&self) -> usize {
        self.channels
            .saturating_mul(self.height)
            .saturating_mul(self.width)
    }

    /// True when some dimension is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for `(n, 1, 1)`.
    pub fn is_flat(&self) -> bool {
        self.height == 1 && self.width == 1
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {}, {})", self.channels, self.height, self.width)
    }
}

/// A `(C, H, W)` tensor of `f64`, CHW row-major (see the [`ir`](crate::nn::ir) module docs). The
/// length always matches the shape.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    shape: Shape,
    data: Vec<f64>,
}

impl FeatureMap {
    /// A feature map from CHW row-major values; an error when `data.len() != shape.len()`.
    pub fn new(shape: Shape, data: Vec<f64>) -> Result<Self, NnError> {
        if data.len() != shape.len() {
            return Err(NnError::FeatureMapLength {
                shape,
                expected: shape.len(),
                got: data.len(),
            });
        }
        Ok(FeatureMap { shape, data })
    }

    /// For outputs whose length is right by construction (checked in debug builds).
    pub(in crate::nn) fn from_parts(shape: Shape, data: Vec<f64>) -> Self {
        debug_assert_eq!(data.len(), shape.len());
        FeatureMap { shape, data }
    }

    /// All zeros.
    pub fn zeros(shape: Shape) -> Self {
        FeatureMap {
            shape,
            data: vec![0.0; shape.len()],
        }
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The values, CHW row-major.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// The values, CHW row-major, mutable (the length cannot change).
    pub fn data_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// The values, CHW row-major.
    pub fn into_data(self) -> Vec<f64> {
        self.data
    }

    /// Value at channel `c`, row `y`, column `x`; `None` outside the shape.
    pub fn get(&self, c: usize, y: usize, x: usize) -> Option<f64> {
        let s = self.shape;
        if c >= s.channels || y >= s.height || x >= s.width {
            return None;
        }
        Some(self.data[(c * s.height + y) * s.width + x])
    }

    /// Largest absolute value (0 for an empty map; NaN propagates as NaN).
    pub fn max_abs(&self) -> f64 {
        self.data.iter().fold(0.0_f64, |m, v| {
            if v.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max(v.abs())
            }
        })
    }

    /// The same values viewed as `(C * H * W, 1, 1)` (PyTorch `flatten` order).
    pub fn flattened(self) -> Self {
        FeatureMap {
            shape: Shape::flat(self.data.len()),
            data: self.data,
        }
    }
}
