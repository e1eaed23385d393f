//! The network IR: shapes, feature maps, layers, networks, shape inference and the parameter
//! view (PyTorch `state_dict` names) that weight loading, seeded initialization and the packing
//! strategies build on.
//!
//! Conventions (all of `nn`):
//! - A feature map is a `(C, H, W)` tensor stored CHW row-major: value `(c, y, x)` at
//!   `(c * H + y) * W + x`. A flat vector of `n` features is the shape `(n, 1, 1)`.
//! - Convolution weights are `[out][in / groups][kh][kw]` row-major (PyTorch's layout); square
//!   kernels only (`kh = kw = kernel_size`). Output channel `o` belongs to group
//!   `o / (out / groups)` and reads input channels `g * (in / groups) .. (g + 1) * (in / groups)`
//!   of its group `g`.
//! - Fully connected weights are `[out][in]` row-major; the input feature `i` of a flattened
//!   `(C, H, W)` map is `(c * H + y) * W + x` (PyTorch's `flatten`).
//! - Output sizes follow PyTorch: `floor((H + 2 * padding - kernel) / stride) + 1`.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::shortcut::Downsample;
use super::NnError;

/// Largest feature map a network may produce (2^30 values, 8 GiB of `f64`): larger shapes are
/// refused by [`Network::shapes`] instead of exhausting memory.
pub const MAX_FEATURE_VALUES: usize = 1 << 30;

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

/// A `(C, H, W)` tensor of `f64`, CHW row-major (see the module docs). The length always
/// matches the shape.
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
    pub(super) fn from_parts(shape: Shape, data: Vec<f64>) -> Self {
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

/// A 2-D convolution (PyTorch `nn.Conv2d` with square kernels, zero padding, no dilation).
///
/// Input `(in_channels, H, W)`, output `(out_channels, H', W')` with
/// `H' = floor((H + 2 padding - kernel_size) / stride) + 1` (same for `W`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2d {
    /// Module name; its tensors are `{name}.weight` and `{name}.bias`.
    pub name: String,
    /// Input channels, >= 1, a multiple of `groups`.
    pub in_channels: usize,
    /// Output channels, >= 1, a multiple of `groups`.
    pub out_channels: usize,
    /// Kernel height = width, >= 1.
    pub kernel_size: usize,
    /// Stride (both directions), >= 1.
    pub stride: usize,
    /// Zero padding on every side, `0 ..= kernel_size - 1` (more would only add rows of bias).
    pub padding: usize,
    /// Groups, >= 1: group `g` maps input channels `g*in/groups ..` to output channels
    /// `g*out/groups ..`; 1 is a dense convolution, `in_channels` a depthwise one.
    pub groups: usize,
    /// `[out_channels][in_channels / groups][kernel_size][kernel_size]` row-major.
    pub weight: Vec<f64>,
    /// One per output channel, or none.
    pub bias: Option<Vec<f64>>,
    /// The sub-block pruning mask the weights were trained with, if any: one entry per
    /// [`Conv2d::weight`] value (same order), `false` where the weight is pruned (and 0). Read
    /// from the `{name}.weight_mask` tensor of a weights file
    /// ([`crate::nn::weights::load_safetensors`]); the compiler prunes exactly this mask and
    /// does not prune such a layer further by magnitude ([`crate::pack::PruneConfig`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_mask: Option<Vec<bool>>,
}

impl Conv2d {
    /// A convolution with zero weights (and zero bias when `bias`); fill the weights by
    /// [`crate::nn::weights::init_seeded`] or [`crate::nn::weights::load_safetensors`].
    /// Hyperparameters are checked by [`Network::shapes`], not here.
    pub fn zeroed(
        name: impl Into<String>,
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        groups: usize,
        bias: bool,
    ) -> Self {
        let mut conv = Conv2d {
            name: name.into(),
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            weight: Vec::new(),
            bias: bias.then(|| vec![0.0; out_channels]),
            weight_mask: None,
        };
        conv.weight = vec![0.0; conv.weight_len()];
        conv
    }

    /// Input channels per group `in_channels / groups` (0 when `groups` is 0).
    pub fn in_channels_per_group(&self) -> usize {
        self.in_channels.checked_div(self.groups).unwrap_or(0)
    }

    /// Output channels per group `out_channels / groups` (0 when `groups` is 0).
    pub fn out_channels_per_group(&self) -> usize {
        self.out_channels.checked_div(self.groups).unwrap_or(0)
    }

    /// `[out_channels, in_channels / groups, kernel_size, kernel_size]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.in_channels_per_group(),
            self.kernel_size,
            self.kernel_size,
        ]
    }

    fn weight_len(&self) -> usize {
        self.weight_shape()
            .iter()
            .fold(1usize, |a, &d| a.saturating_mul(d))
    }

    /// Index into [`Conv2d::weight`] of output channel `out`, in-group input channel `in_g`,
    /// kernel row `ky` and column `kx`.
    pub fn weight_index(&self, out: usize, in_g: usize, ky: usize, kx: usize) -> usize {
        ((out * self.in_channels_per_group() + in_g) * self.kernel_size + ky) * self.kernel_size
            + kx
    }

    /// The output shape for `input`, or what does not fit.
    fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        check_positive("in_channels", self.in_channels)?;
        check_positive("out_channels", self.out_channels)?;
        check_positive("kernel_size", self.kernel_size)?;
        check_positive("stride", self.stride)?;
        check_positive("groups", self.groups)?;
        for (field, channels) in [
            ("in_channels", self.in_channels),
            ("out_channels", self.out_channels),
        ] {
            if channels % self.groups != 0 {
                return Err(LayerProblem::field(
                    field,
                    format!(
                        "{field} = {channels} is not a multiple of groups = {}",
                        self.groups
                    ),
                ));
            }
        }
        if self.padding >= self.kernel_size {
            return Err(LayerProblem::field(
                "padding",
                format!(
                    "padding = {} must be at most kernel_size - 1 = {}",
                    self.padding,
                    self.kernel_size - 1
                ),
            ));
        }
        check_len("weight", self.weight_len(), self.weight.len())?;
        if let Some(bias) = &self.bias {
            check_len("bias", self.out_channels, bias.len())?;
        }
        if let Some(mask) = &self.weight_mask {
            check_len("weight_mask", self.weight_len(), mask.len())?;
        }
        let padded = |n: usize| n.saturating_add(self.padding.saturating_mul(2));
        if input.channels != self.in_channels
            || padded(input.height) < self.kernel_size
            || padded(input.width) < self.kernel_size
        {
            return Err(LayerProblem::shape(
                format!(
                    "({}, H, W) with H + 2*{} >= {} and W + 2*{} >= {}",
                    self.in_channels,
                    self.padding,
                    self.kernel_size,
                    self.padding,
                    self.kernel_size
                ),
                input,
            ));
        }
        let out = |n: usize| (padded(n) - self.kernel_size) / self.stride + 1;
        Ok(Shape::new(
            self.out_channels,
            out(input.height),
            out(input.width),
        ))
    }
}

/// Batch normalization in inference form (PyTorch `nn.BatchNorm2d` / `BatchNorm1d` in eval
/// mode): `y[c] = gamma[c] * (x[c] - running_mean[c]) / sqrt(running_var[c] + eps) + beta[c]`
/// for every position of channel `c`. [`fold_batch_norm`](crate::nn::fold_batch_norm) folds it
/// into the preceding convolution or fully connected layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm {
    /// Module name; its tensors are `{name}.weight` (gamma), `{name}.bias` (beta),
    /// `{name}.running_mean` and `{name}.running_var`.
    pub name: String,
    /// Channels `C` of the input, >= 1.
    pub channels: usize,
    /// Scale, one per channel.
    pub gamma: Vec<f64>,
    /// Shift, one per channel.
    pub beta: Vec<f64>,
    /// Running mean, one per channel.
    pub running_mean: Vec<f64>,
    /// Running variance, one per channel, >= 0.
    pub running_var: Vec<f64>,
    /// Added to the variance, > 0 (PyTorch's default 1e-5).
    pub eps: f64,
}

impl BatchNorm {
    /// PyTorch's default epsilon.
    pub const DEFAULT_EPS: f64 = 1e-5;

    /// The identity normalization (gamma 1, beta 0, mean 0, variance 1, eps 1e-5).
    pub fn identity(name: impl Into<String>, channels: usize) -> Self {
        BatchNorm {
            name: name.into(),
            channels,
            gamma: vec![1.0; channels],
            beta: vec![0.0; channels],
            running_mean: vec![0.0; channels],
            running_var: vec![1.0; channels],
            eps: Self::DEFAULT_EPS,
        }
    }

    /// Per channel `(scale, shift)` with `y = scale * x + shift`:
    /// `scale = gamma / sqrt(var + eps)`, `shift = beta - scale * mean`.
    pub fn scale_shift(&self) -> Vec<(f64, f64)> {
        (0..self.channels)
            .map(|c| {
                let scale = self.gamma[c] / (self.running_var[c] + self.eps).sqrt();
                (scale, self.beta[c] - scale * self.running_mean[c])
            })
            .collect()
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        check_positive("channels", self.channels)?;
        for (field, values) in [
            ("gamma", &self.gamma),
            ("beta", &self.beta),
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
        ] {
            check_len(field, self.channels, values.len())?;
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(LayerProblem::field(
                "eps",
                format!("eps = {} must be finite and > 0", self.eps),
            ));
        }
        if let Some(c) = self.running_var.iter().position(|v| v.is_nan() || *v < 0.0) {
            return Err(LayerProblem::field(
                "running_var",
                format!("running_var[{c}] = {} must be >= 0", self.running_var[c]),
            ));
        }
        if input.channels != self.channels {
            return Err(LayerProblem::shape(
                format!("({}, H, W)", self.channels),
                input,
            ));
        }
        Ok(input)
    }
}

/// Pooling reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Mean of the window (PyTorch `AvgPool2d` without padding): linear, HE-native.
    Average,
    /// Exact maximum of the window (PyTorch `MaxPool2d`): the plaintext reference for the
    /// minimax-approximated max pooling of later strategies.
    Max,
}

/// 2-D pooling per channel, square window, no padding. Input `(C, H, W)` with `H, W >=
/// kernel_size`, output `(C, floor((H - k) / stride) + 1, floor((W - k) / stride) + 1)`. A global
/// average pool is `kernel_size = stride = H = W`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// Average or max.
    pub kind: PoolKind,
    /// Window height = width, >= 1.
    pub kernel_size: usize,
    /// Stride, >= 1.
    pub stride: usize,
}

impl Pool {
    /// Average pooling with `stride = kernel_size` (PyTorch's default stride).
    pub const fn average(kernel_size: usize) -> Self {
        Pool {
            kind: PoolKind::Average,
            kernel_size,
            stride: kernel_size,
        }
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        check_positive("kernel_size", self.kernel_size)?;
        check_positive("stride", self.stride)?;
        if input.height < self.kernel_size || input.width < self.kernel_size {
            return Err(LayerProblem::shape(
                format!("(C, H, W) with H, W >= {}", self.kernel_size),
                input,
            ));
        }
        let out = |n: usize| (n - self.kernel_size) / self.stride + 1;
        Ok(Shape::new(
            input.channels,
            out(input.height),
            out(input.width),
        ))
    }
}

/// An element-wise activation function. Grows with the approximations of later strategies
/// (e.g. minimax ReLU); [`Activation::Relu`] is the exact function they approximate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Activation {
    /// The trainable HE-friendly polynomial `a x^2 + b x + c` (one multiplicative level when
    /// `a` is folded into the square). Coefficients must be finite.
    Poly {
        /// Coefficient of `x^2`.
        a: f64,
        /// Coefficient of `x`.
        b: f64,
        /// Constant.
        c: f64,
    },
    /// Exact `max(x, 0)` (plaintext only; not HE-evaluable as is).
    Relu,
}

impl Activation {
    /// The default polynomial `(x + 2)^2 / 8 = 0.125 x^2 + 0.5 x + 0.25`: the quadratic that
    /// touches ReLU at `x = -2` (value 0, slope 0) and `x = 2` (value 2, slope 1), so it
    /// follows ReLU on `[-2, 2]` (largest gap 0.25 at `x = 0`) and is `>= 0` everywhere.
    pub const DEFAULT_POLY: Activation = Activation::Poly {
        a: 0.125,
        b: 0.5,
        c: 0.25,
    };

    /// The function at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        match *self {
            Activation::Poly { a, b, c } => (a * x + b) * x + c,
            Activation::Relu => x.max(0.0),
        }
    }
}

/// A named activation layer; for [`Activation::Poly`] its tensors are `{name}.a`, `{name}.b`
/// and `{name}.c` (scalars).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationLayer {
    /// Module name.
    pub name: String,
    /// The function.
    pub function: Activation,
}

/// A fully connected layer (PyTorch `nn.Linear`): `y[o] = sum_i weight[o][i] x[i] + bias[o]`.
/// Input `(in_features, 1, 1)` (put a [`Layer::Flatten`] before it for spatial maps), output
/// `(out_features, 1, 1)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    /// Module name; its tensors are `{name}.weight` and `{name}.bias`.
    pub name: String,
    /// Input features, >= 1.
    pub in_features: usize,
    /// Output features, >= 1.
    pub out_features: usize,
    /// `[out_features][in_features]` row-major.
    pub weight: Vec<f64>,
    /// One per output feature, or none.
    pub bias: Option<Vec<f64>>,
}

impl Linear {
    /// A fully connected layer with zero weights (and zero bias when `bias`).
    pub fn zeroed(
        name: impl Into<String>,
        in_features: usize,
        out_features: usize,
        bias: bool,
    ) -> Self {
        Linear {
            name: name.into(),
            in_features,
            out_features,
            weight: vec![0.0; in_features.saturating_mul(out_features)],
            bias: bias.then(|| vec![0.0; out_features]),
        }
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        check_positive("in_features", self.in_features)?;
        check_positive("out_features", self.out_features)?;
        check_len(
            "weight",
            self.in_features.saturating_mul(self.out_features),
            self.weight.len(),
        )?;
        if let Some(bias) = &self.bias {
            check_len("bias", self.out_features, bias.len())?;
        }
        if input != Shape::flat(self.in_features) {
            return Err(LayerProblem::shape(
                format!(
                    "{} (insert a flatten layer before a fully connected layer)",
                    Shape::flat(self.in_features)
                ),
                input,
            ));
        }
        Ok(Shape::flat(self.out_features))
    }
}

/// A residual block: `output = body(x) + shortcut(x)`, both run on the same input `x`; an
/// empty `shortcut` is the identity. Both branches must produce the same shape. Anything after
/// the sum (ResNet's final activation) is the next layer of the enclosing list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Residual {
    /// Block name (the prefix of its layers' names, e.g. `layer2.0`); informative only.
    pub name: String,
    /// The main branch.
    pub body: Vec<Layer>,
    /// The shortcut branch; empty means identity.
    pub shortcut: Vec<Layer>,
}

/// One layer of a network. JSON: `{"layer": "conv2d", "name": ..., ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "layer", rename_all = "snake_case")]
pub enum Layer {
    /// Convolution.
    Conv2d(Conv2d),
    /// Batch normalization (inference form).
    BatchNorm(BatchNorm),
    /// Average or max pooling.
    Pool(Pool),
    /// Element-wise activation.
    Activation(ActivationLayer),
    /// `(C, H, W) -> (C * H * W, 1, 1)`, CHW order.
    Flatten,
    /// Fully connected.
    Linear(Linear),
    /// `body(x) + shortcut(x)`.
    Residual(Residual),
    /// Strided subsampling with zero channel padding (ResNet's option-A shortcut).
    Downsample(Downsample),
}

impl Layer {
    /// Short kind name used in messages: `conv2d`, `batch_norm`, `avg_pool`, `max_pool`,
    /// `activation`, `flatten`, `linear`, `residual`, `downsample`.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Conv2d(_) => "conv2d",
            Layer::BatchNorm(_) => "batch_norm",
            Layer::Pool(p) => match p.kind {
                PoolKind::Average => "avg_pool",
                PoolKind::Max => "max_pool",
            },
            Layer::Activation(_) => "activation",
            Layer::Flatten => "flatten",
            Layer::Linear(_) => "linear",
            Layer::Residual(_) => "residual",
            Layer::Downsample(_) => "downsample",
        }
    }

    /// The module name (empty for pooling and flatten, which have none).
    pub fn name(&self) -> &str {
        match self {
            Layer::Conv2d(l) => &l.name,
            Layer::BatchNorm(l) => &l.name,
            Layer::Activation(l) => &l.name,
            Layer::Linear(l) => &l.name,
            Layer::Residual(l) => &l.name,
            Layer::Pool(_) | Layer::Flatten | Layer::Downsample(_) => "",
        }
    }

    fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        match self {
            Layer::Conv2d(l) => l.output_shape(input),
            Layer::BatchNorm(l) => l.output_shape(input),
            Layer::Pool(l) => l.output_shape(input),
            Layer::Activation(l) => {
                if let Activation::Poly { a, b, c } = l.function {
                    if ![a, b, c].iter().all(|v| v.is_finite()) {
                        return Err(LayerProblem::field(
                            "function",
                            format!("polynomial coefficients a={a}, b={b}, c={c} must be finite"),
                        ));
                    }
                }
                Ok(input)
            }
            Layer::Flatten => Ok(Shape::flat(input.len())),
            Layer::Linear(l) => l.output_shape(input),
            Layer::Downsample(d) => d.output_shape(input).ok_or_else(|| {
                LayerProblem::field(
                    "stride",
                    format!(
                        "stride {} must be >= 1 and the padded channel count must fit",
                        d.stride
                    ),
                )
            }),
            // Handled by the list walker (it needs the nested locations).
            Layer::Residual(_) => Ok(input),
        }
    }
}

/// Where a layer sits: its path (`"3"` for the fourth top-level layer, `"7.body.2"` and
/// `"7.shortcut.0"` inside the residual block at index 7), its kind and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerLocation {
    /// Indices from the top-level list down, `.body.`/`.shortcut.` into residual blocks.
    pub path: String,
    /// [`Layer::kind`].
    pub kind: &'static str,
    /// [`Layer::name`] (may be empty).
    pub name: String,
}

impl LayerLocation {
    fn of(path: String, layer: &Layer) -> Self {
        LayerLocation {
            path,
            kind: layer.kind(),
            name: layer.name().to_string(),
        }
    }
}

impl fmt::Display for LayerLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {}", self.path, self.kind)?;
        if !self.name.is_empty() {
            write!(f, " '{}'", self.name)?;
        }
        Ok(())
    }
}

/// Input and output shape of one layer, in execution order (see [`Network::shapes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerShape {
    /// The layer.
    pub location: LayerLocation,
    /// Its input shape.
    pub input: Shape,
    /// Its output shape.
    pub output: Shape,
}

/// What the role of a parameter tensor is (used by seeded initialization and by pruning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterRole {
    /// Convolution or fully connected weight; `fan_in` = inputs per output
    /// (`in/groups * k * k` or `in_features`).
    Weight {
        /// Inputs feeding one output value.
        fan_in: usize,
    },
    /// Convolution or fully connected bias.
    Bias,
    /// Batch-norm `gamma` (`.weight`).
    BatchNormGamma,
    /// Batch-norm `beta` (`.bias`).
    BatchNormBeta,
    /// Batch-norm running mean.
    BatchNormMean,
    /// Batch-norm running variance (>= 0).
    BatchNormVar,
    /// Polynomial activation coefficient (`a`, `b` or `c`).
    PolyCoefficient,
}

/// A read-only view of one parameter tensor under its PyTorch `state_dict` name.
#[derive(Debug, Clone)]
pub struct Parameter<'a> {
    /// `state_dict` name, e.g. `layer1.0.conv1.weight`.
    pub name: String,
    /// What it is.
    pub role: ParameterRole,
    /// Tensor shape (row-major); `[]` for a scalar.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: &'a [f64],
}

/// A mutable view of one parameter tensor (the shape cannot change).
#[derive(Debug)]
pub struct ParameterMut<'a> {
    /// `state_dict` name.
    pub name: String,
    /// What it is.
    pub role: ParameterRole,
    /// Tensor shape (row-major); `[]` for a scalar.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: &'a mut [f64],
}

/// A network: a named input shape and a list of layers run in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Name, e.g. `lenet`.
    pub name: String,
    /// Shape of one input sample `(C, H, W)`.
    pub input_shape: Shape,
    /// The layers, in execution order.
    pub layers: Vec<Layer>,
}

impl Network {
    /// Checks every layer (hyperparameters, parameter lengths, that each layer's input shape
    /// fits, residual branches agree, parameter names are unique and non-empty) and returns
    /// every layer's input and output shape in execution order: a residual block's own entry
    /// comes after the entries of its body and then its shortcut.
    pub fn shapes(&self) -> Result<Vec<LayerShape>, NnError> {
        if self.input_shape.is_empty() || self.input_shape.len() > MAX_FEATURE_VALUES {
            return Err(NnError::EmptyInput {
                network: self.name.clone(),
                shape: self.input_shape,
            });
        }
        let mut trace = Vec::new();
        shapes_of_list(&self.name, &self.layers, "", self.input_shape, &mut trace)?;
        let mut seen = HashSet::new();
        for p in self.parameters() {
            if p.name.starts_with('.') {
                return Err(NnError::UnnamedParameter {
                    network: self.name.clone(),
                    name: p.name,
                });
            }
            if !seen.insert(p.name.clone()) {
                return Err(NnError::DuplicateParameter {
                    network: self.name.clone(),
                    name: p.name,
                });
            }
        }
        Ok(trace)
    }

    /// The output shape (after [`Network::shapes`]' checks).
    pub fn output_shape(&self) -> Result<Shape, NnError> {
        let shapes = self.shapes()?;
        Ok(top_level_output(&shapes).unwrap_or(self.input_shape))
    }

    /// Every parameter tensor in execution order, with PyTorch `state_dict` names:
    /// conv/linear `{name}.weight`, `{name}.bias`; batch norm `{name}.weight` (gamma),
    /// `{name}.bias` (beta), `{name}.running_mean`, `{name}.running_var`; polynomial
    /// activation `{name}.a`, `{name}.b`, `{name}.c` (scalars, shape `[]`).
    pub fn parameters(&self) -> Vec<Parameter<'_>> {
        let mut out = Vec::new();
        collect_parameters(&self.layers, &mut out);
        out
    }

    /// Mutable views of the same tensors as [`Network::parameters`], same order.
    pub fn parameters_mut(&mut self) -> Vec<ParameterMut<'_>> {
        let mut out = Vec::new();
        collect_parameters_mut(&mut self.layers, &mut out);
        out
    }

    /// Number of scalars over all parameter tensors (weights, biases, batch-norm affine
    /// parameters and running statistics, polynomial coefficients).
    pub fn parameter_count(&self) -> usize {
        self.parameters().iter().map(|p| p.values.len()).sum()
    }

    /// Calls `visit` on every layer in execution order (a residual block before its body and
    /// shortcut layers), with its location.
    pub fn visit_layers<'a>(&'a self, mut visit: impl FnMut(&LayerLocation, &'a Layer)) {
        fn walk<'a>(
            layers: &'a [Layer],
            prefix: &str,
            visit: &mut dyn FnMut(&LayerLocation, &'a Layer),
        ) {
            for (i, layer) in layers.iter().enumerate() {
                let path = join_path(prefix, i);
                visit(&LayerLocation::of(path.clone(), layer), layer);
                if let Layer::Residual(r) = layer {
                    walk(&r.body, &format!("{path}.body"), visit);
                    walk(&r.shortcut, &format!("{path}.shortcut"), visit);
                }
            }
        }
        walk(&self.layers, "", &mut visit);
    }

    /// Calls `visit` on every layer in the order of [`Network::visit_layers`], mutably (to
    /// prune weights or swap activations); a residual block is visited before its branches,
    /// so changes to its branch lists are then walked. Shapes are not re-checked.
    pub fn visit_layers_mut(&mut self, mut visit: impl FnMut(&LayerLocation, &mut Layer)) {
        fn walk(
            layers: &mut [Layer],
            prefix: &str,
            visit: &mut dyn FnMut(&LayerLocation, &mut Layer),
        ) {
            for (i, layer) in layers.iter_mut().enumerate() {
                let path = join_path(prefix, i);
                visit(&LayerLocation::of(path.clone(), layer), layer);
                if let Layer::Residual(r) = layer {
                    walk(&mut r.body, &format!("{path}.body"), visit);
                    walk(&mut r.shortcut, &format!("{path}.shortcut"), visit);
                }
            }
        }
        walk(&mut self.layers, "", &mut visit);
    }

    /// Every layer with its location and input/output shapes, in execution order (that of
    /// [`Network::shapes`]: a residual block after its body and shortcut layers): what a
    /// packing strategy, a plain function of (layer, input shape, ciphertext slots), iterates.
    pub fn placed_layers(&self) -> Result<Vec<PlacedLayer<'_>>, NnError> {
        let shapes = self.shapes()?;
        let mut by_path = std::collections::HashMap::new();
        self.visit_layers(|location, layer| {
            by_path.insert(location.path.clone(), layer);
        });
        Ok(shapes
            .into_iter()
            .filter_map(|s| {
                by_path.get(&s.location.path).map(|layer| PlacedLayer {
                    layer,
                    location: s.location,
                    input: s.input,
                    output: s.output,
                })
            })
            .collect())
    }
}

/// A layer with where it sits and the shapes it sees (see [`Network::placed_layers`]).
#[derive(Debug, Clone)]
pub struct PlacedLayer<'a> {
    /// The layer.
    pub layer: &'a Layer,
    /// Its location.
    pub location: LayerLocation,
    /// Its input shape.
    pub input: Shape,
    /// Its output shape.
    pub output: Shape,
}

/// The output shape of the last top-level entry of a shape trace.
fn top_level_output(shapes: &[LayerShape]) -> Option<Shape> {
    shapes
        .iter()
        .rev()
        .find(|s| !s.location.path.contains('.'))
        .map(|s| s.output)
}

pub(crate) fn join_path(prefix: &str, index: usize) -> String {
    if prefix.is_empty() {
        index.to_string()
    } else {
        format!("{prefix}.{index}")
    }
}

/// A problem of one layer, before the network and location are attached.
#[derive(Debug)]
pub(crate) enum LayerProblem {
    Field {
        field: &'static str,
        problem: String,
    },
    Shape {
        expected: String,
        got: Shape,
    },
}

impl LayerProblem {
    fn field(field: &'static str, problem: String) -> Self {
        LayerProblem::Field { field, problem }
    }

    fn shape(expected: String, got: Shape) -> Self {
        LayerProblem::Shape { expected, got }
    }

    pub(crate) fn at(self, network: &str, location: LayerLocation) -> NnError {
        match self {
            LayerProblem::Field { field, problem } => NnError::InvalidLayer {
                network: network.to_string(),
                location: Box::new(location),
                field,
                problem,
            },
            LayerProblem::Shape { expected, got } => NnError::Shape {
                network: network.to_string(),
                location: Box::new(location),
                expected,
                got,
            },
        }
    }
}

fn check_positive(field: &'static str, value: usize) -> Result<(), LayerProblem> {
    if value == 0 {
        return Err(LayerProblem::field(field, format!("{field} must be >= 1")));
    }
    Ok(())
}

fn check_len(field: &'static str, expected: usize, got: usize) -> Result<(), LayerProblem> {
    if expected != got {
        return Err(LayerProblem::field(
            field,
            format!("{field} has {got} values, expected {expected}"),
        ));
    }
    Ok(())
}

fn shapes_of_list(
    network: &str,
    layers: &[Layer],
    prefix: &str,
    input: Shape,
    trace: &mut Vec<LayerShape>,
) -> Result<Shape, NnError> {
    let mut shape = input;
    for (i, layer) in layers.iter().enumerate() {
        let path = join_path(prefix, i);
        let location = LayerLocation::of(path.clone(), layer);
        let output = match layer {
            Layer::Residual(block) => {
                let body =
                    shapes_of_list(network, &block.body, &format!("{path}.body"), shape, trace)?;
                let shortcut = shapes_of_list(
                    network,
                    &block.shortcut,
                    &format!("{path}.shortcut"),
                    shape,
                    trace,
                )?;
                if body != shortcut {
                    return Err(NnError::Shape {
                        network: network.to_string(),
                        location: Box::new(location),
                        expected: format!("shortcut output equal to body output {body}"),
                        got: shortcut,
                    });
                }
                body
            }
            other => other
                .output_shape(shape)
                .map_err(|p| p.at(network, location.clone()))?,
        };
        if output.len() > MAX_FEATURE_VALUES {
            return Err(NnError::Shape {
                network: network.to_string(),
                location: Box::new(location),
                expected: format!("an output of at most {MAX_FEATURE_VALUES} values"),
                got: output,
            });
        }
        trace.push(LayerShape {
            location,
            input: shape,
            output,
        });
        shape = output;
    }
    Ok(shape)
}

fn weight_and_bias<'a>(
    out: &mut Vec<Parameter<'a>>,
    name: &str,
    weight_shape: Vec<usize>,
    fan_in: usize,
    weight: &'a [f64],
    bias: &'a Option<Vec<f64>>,
) {
    out.push(Parameter {
        name: format!("{name}.weight"),
        role: ParameterRole::Weight { fan_in },
        shape: weight_shape,
        values: weight,
    });
    if let Some(bias) = bias {
        out.push(Parameter {
            name: format!("{name}.bias"),
            role: ParameterRole::Bias,
            shape: vec![bias.len()],
            values: bias,
        });
    }
}

fn collect_parameters<'a>(layers: &'a [Layer], out: &mut Vec<Parameter<'a>>) {
    for layer in layers {
        match layer {
            Layer::Conv2d(c) => {
                let shape = c.weight_shape();
                weight_and_bias(
                    out,
                    &c.name,
                    shape.to_vec(),
                    shape[1] * shape[2] * shape[3],
                    &c.weight,
                    &c.bias,
                );
            }
            Layer::Linear(l) => weight_and_bias(
                out,
                &l.name,
                vec![l.out_features, l.in_features],
                l.in_features,
                &l.weight,
                &l.bias,
            ),
            Layer::BatchNorm(b) => {
                for (suffix, role, values) in [
                    ("weight", ParameterRole::BatchNormGamma, &b.gamma),
                    ("bias", ParameterRole::BatchNormBeta, &b.beta),
                    (
                        "running_mean",
                        ParameterRole::BatchNormMean,
                        &b.running_mean,
                    ),
                    ("running_var", ParameterRole::BatchNormVar, &b.running_var),
                ] {
                    out.push(Parameter {
                        name: format!("{}.{suffix}", b.name),
                        role,
                        shape: vec![b.channels],
                        values,
                    });
                }
            }
            Layer::Activation(a) => {
                if let Activation::Poly {
                    a: ca,
                    b: cb,
                    c: cc,
                } = &a.function
                {
                    for (suffix, value) in [("a", ca), ("b", cb), ("c", cc)] {
                        out.push(Parameter {
                            name: format!("{}.{suffix}", a.name),
                            role: ParameterRole::PolyCoefficient,
                            shape: vec![],
                            values: std::slice::from_ref(value),
                        });
                    }
                }
            }
            Layer::Residual(r) => {
                collect_parameters(&r.body, out);
                collect_parameters(&r.shortcut, out);
            }
            Layer::Pool(_) | Layer::Flatten | Layer::Downsample(_) => {}
        }
    }
}

fn weight_and_bias_mut<'a>(
    out: &mut Vec<ParameterMut<'a>>,
    name: &str,
    weight_shape: Vec<usize>,
    fan_in: usize,
    weight: &'a mut [f64],
    bias: &'a mut Option<Vec<f64>>,
) {
    out.push(ParameterMut {
        name: format!("{name}.weight"),
        role: ParameterRole::Weight { fan_in },
        shape: weight_shape,
        values: weight,
    });
    if let Some(bias) = bias {
        out.push(ParameterMut {
            name: format!("{name}.bias"),
            role: ParameterRole::Bias,
            shape: vec![bias.len()],
            values: bias,
        });
    }
}

fn collect_parameters_mut<'a>(layers: &'a mut [Layer], out: &mut Vec<ParameterMut<'a>>) {
    for layer in layers {
        match layer {
            Layer::Conv2d(c) => {
                let shape = c.weight_shape();
                weight_and_bias_mut(
                    out,
                    &c.name,
                    shape.to_vec(),
                    shape[1] * shape[2] * shape[3],
                    &mut c.weight,
                    &mut c.bias,
                );
            }
            Layer::Linear(l) => weight_and_bias_mut(
                out,
                &l.name,
                vec![l.out_features, l.in_features],
                l.in_features,
                &mut l.weight,
                &mut l.bias,
            ),
            Layer::BatchNorm(b) => {
                let channels = b.channels;
                for (suffix, role, values) in [
                    ("weight", ParameterRole::BatchNormGamma, &mut b.gamma),
                    ("bias", ParameterRole::BatchNormBeta, &mut b.beta),
                    (
                        "running_mean",
                        ParameterRole::BatchNormMean,
                        &mut b.running_mean,
                    ),
                    (
                        "running_var",
                        ParameterRole::BatchNormVar,
                        &mut b.running_var,
                    ),
                ] {
                    out.push(ParameterMut {
                        name: format!("{}.{suffix}", b.name),
                        role,
                        shape: vec![channels],
                        values,
                    });
                }
            }
            Layer::Activation(a) => {
                if let Activation::Poly {
                    a: ca,
                    b: cb,
                    c: cc,
                } = &mut a.function
                {
                    for (suffix, value) in [("a", ca), ("b", cb), ("c", cc)] {
                        out.push(ParameterMut {
                            name: format!("{}.{suffix}", a.name),
                            role: ParameterRole::PolyCoefficient,
                            shape: vec![],
                            values: std::slice::from_mut(value),
                        });
                    }
                }
            }
            Layer::Residual(r) => {
                collect_parameters_mut(&mut r.body, out);
                collect_parameters_mut(&mut r.shortcut, out);
            }
            Layer::Pool(_) | Layer::Flatten | Layer::Downsample(_) => {}
        }
    }
}
