//! A cleartext interpreter of [`HeProgram`]: the same operations on plain slot vectors
//! (`f64`, no encryption, no encoding, no noise), so the packing code's properties can be
//! tested in milliseconds; the encrypted path ([`crate::pack::exec`]) decrypts to the same
//! values within CKKS precision (`host/tests/cleartext_backend/` checks both).
//!
//! A value is a vector of [`HeProgram::slots`] reals (slot `t` at index `t`, the order
//! [`crate::pack::Layout::encode`] writes and `Encoder::encode_real` reads). Each operation on
//! slot vectors:
//! - [`HeOp::Rotate`] by `step`: cyclic left rotation, new slot `t` = old slot
//!   `(t + step) mod slots` (hoisting changes nothing here);
//! - [`HeOp::PMult`], [`HeOp::AddPlain`]: slot-wise product or sum with the plaintext's values;
//! - [`HeOp::Add`], [`HeOp::MulRelin`]: slot-wise sum or product;
//! - [`HeOp::AddConst`], [`HeOp::MulConst`]: the constant added to or multiplying every slot;
//! - [`HeOp::Relu`]: `multiplier * relu_plain(t)` slot-wise, the composite minimax ReLU of the
//!   activation given ([`MinimaxActivation::relu_plain`]: the coefficients the encrypted
//!   circuit evaluates), for `t` in `[-1, 1]` (inputs outside are counted in
//!   [`CleartextRun::relu_outside`]: there the encrypted circuit diverges);
//! - [`HeOp::Rescale`], [`HeOp::DropLevel`], [`HeOp::Bootstrap`]: the values unchanged (scales
//!   and levels are the encrypted executor's business; levels are checked, see below).
//!
//! Levels: [`HeProgram::check`] runs first (operands, plaintexts, equal depths of binary
//! operations) and gives every value's depth; with [`CleartextOptions::input_level`] the run
//! also refuses a program that would consume more levels than the inputs have (a depth above
//! it: a rescale, level drop or ReLU below level 0), as the encrypted run would.
//!
//! Arithmetic is plain `f64` in program order; results differ from a plaintext forward pass
//! only by rounding (summation order), from the encrypted path by CKKS noise.

use heaccel_verification::circuits::MinimaxActivation;

use super::program::{HeOp, HeProgram, ValueId};
use super::{InputsError, PackError};

/// What a cleartext run is given besides the program and its inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CleartextOptions<'a> {
    /// The minimax ReLU of [`HeProgram::relu`], required when the program has a
    /// [`HeOp::Relu`]; its depth and `eps` must be the program's [`crate::pack::ReluSpec`]'s.
    pub relu: Option<&'a MinimaxActivation>,
    /// The level of the inputs (and of bootstrapped values): when set, a value deeper than it
    /// is an error. `None`: depths are checked for consistency only.
    pub input_level: Option<usize>,
}

/// The result of [`run_cleartext_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct CleartextRun {
    /// The output values' slot vectors, in [`HeProgram::outputs`] order, `slots` values each.
    pub outputs: Vec<Vec<f64>>,
    /// Depth of each output (levels consumed since the input or the last bootstrapping), in
    /// the same order.
    pub output_depths: Vec<usize>,
    /// The largest depth of any value of the program.
    pub max_depth: usize,
    /// ReLU input slots with `|t| > 1` (or not finite), over every [`HeOp::Relu`]: where the
    /// encrypted minimax circuit is not accurate. Slots that hold no pixel count too.
    pub relu_outside: usize,
}

/// Runs `program` on `inputs` (one slot vector of [`HeProgram::slots`] values per program
/// input, in input order) in cleartext and returns the outputs' slot vectors in
/// [`HeProgram::outputs`] order; `relu` is the program's minimax ReLU (needed when it has a
/// [`HeOp::Relu`]). See [`run_cleartext_with`] for the errors.
pub fn run_cleartext(
    program: &HeProgram,
    inputs: &[Vec<f64>],
    relu: Option<&MinimaxActivation>,
) -> Result<Vec<Vec<f64>>, PackError> {
    let options = CleartextOptions {
        relu,
        input_level: None,
    };
    Ok(run_cleartext_with(program, inputs, options)?.outputs)
}

/// [`run_cleartext`] with level checking and the run's figures.
///
/// Errors: those of [`HeProgram::check`]; an unmaterialized program
/// ([`PackError::NotMaterialized`]); a wrong number of inputs or an input of other than
/// `slots` values ([`PackError::Inputs`]); a [`HeOp::Relu`] without `options.relu`, an
/// activation of another depth or `eps` than the program's [`crate::pack::ReluSpec`], a value
/// deeper than `options.input_level` ([`PackError::Program`], naming the op).
pub fn run_cleartext_with(
    program: &HeProgram,
    inputs: &[Vec<f64>],
    options: CleartextOptions<'_>,
) -> Result<CleartextRun, PackError> {
    let depths = program.check()?;
    if !program.is_materialized() {
        return Err(PackError::NotMaterialized);
    }
    if inputs.len() != program.inputs {
        return Err(InputsError::Count {
            given: inputs.len(),
            expected: program.inputs,
            kind: "slot vectors",
        }
        .into());
    }
    for (i, v) in inputs.iter().enumerate() {
        if v.len() != program.slots {
            return Err(InputsError::Values {
                input: i,
                values: v.len(),
                slots: program.slots,
            }
            .into());
        }
    }
    let bad = |k: usize, problem: String| PackError::Program { op: k, problem };
    if let (Some(spec), Some(act)) = (program.relu, options.relu) {
        let depth = act.relu_depth() as usize;
        let eps = act.composite().eps();
        if spec.depth != depth || spec.eps != eps {
            return Err(bad(
                0,
                format!(
                    "relu: the activation given has depth {depth} and eps {eps}, the program's \
                     ReluSpec depth {} and eps {}",
                    spec.depth, spec.eps
                ),
            ));
        }
    }
    if let Some(level) = options.input_level {
        if let Some(v) = (program.inputs..depths.len()).find(|&v| depths[v] > level) {
            return Err(bad(
                v - program.inputs,
                format!(
                    "{} reaches depth {}: the inputs have {level} levels",
                    program.ops[v - program.inputs].name(),
                    depths[v]
                ),
            ));
        }
    }
    // Last use of every value (outputs live to the end), so values are dropped early.
    let n = program.value_count();
    let mut last_use = vec![None; n];
    for (k, op) in program.ops.iter().enumerate() {
        for v in op.operands() {
            last_use[v] = Some(k);
        }
    }
    for &o in &program.outputs {
        last_use[o] = Some(usize::MAX);
    }
    let slots = program.slots;
    let mut values: Vec<Option<Vec<f64>>> = vec![None; n];
    for (i, v) in inputs.iter().enumerate() {
        values[i] = Some(v.clone());
    }
    let mut relu_outside = 0;
    for (k, op) in program.ops.iter().enumerate() {
        let get = |v: ValueId| {
            values[v]
                .as_deref()
                .expect("operands are live until last use")
        };
        let zip = |a: &[f64], b: &[f64], f: fn(f64, f64) -> f64| -> Vec<f64> {
            a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
        };
        let result = match *op {
            HeOp::Rotate { src, step, .. } => {
                let mut v = get(src).to_vec();
                v.rotate_left(step.rem_euclid(slots as i64) as usize);
                v
            }
            HeOp::PMult { src, plain } => {
                zip(get(src), &program.plaintexts[plain].values, |x, w| x * w)
            }
            HeOp::AddPlain { src, plain } => {
                zip(get(src), &program.plaintexts[plain].values, |x, w| x + w)
            }
            HeOp::Add { a, b } => zip(get(a), get(b), |x, y| x + y),
            HeOp::MulRelin { a, b } => zip(get(a), get(b), |x, y| x * y),
            HeOp::AddConst { src, value } => get(src).iter().map(|x| x + value).collect(),
            HeOp::MulConst { src, value } => get(src).iter().map(|x| x * value).collect(),
            HeOp::Relu { src, multiplier } => {
                let act = options.relu.ok_or_else(|| {
                    bad(
                        k,
                        "relu: the cleartext run was given no minimax activation".into(),
                    )
                })?;
                get(src)
                    .iter()
                    .map(|&t| {
                        if t.is_nan() || t.abs() > 1.0 {
                            relu_outside += 1;
                        }
                        multiplier * act.relu_plain(t)
                    })
                    .collect()
            }
            HeOp::Rescale { src } | HeOp::DropLevel { src, .. } | HeOp::Bootstrap { src } => {
                get(src).to_vec()
            }
        };
        let me = program.inputs + k;
        if last_use[me].is_some() {
            values[me] = Some(result);
        }
        for v in op.operands() {
            if last_use[v] == Some(k) {
                values[v] = None;
            }
        }
    }
    let outputs = program
        .outputs
        .iter()
        .map(|&o| values[o].clone().expect("outputs live to the end"))
        .collect();
    Ok(CleartextRun {
        outputs,
        output_depths: program.outputs.iter().map(|&o| depths[o]).collect(),
        max_depth: depths.iter().copied().max().unwrap_or(0),
        relu_outside,
    })
}
