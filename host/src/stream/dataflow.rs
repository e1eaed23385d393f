//! The dataflow of a whole network: its CKKS operations at their shapes ([`StreamOp`]) over
//! numbered ciphertexts ([`Value`]), what each reads and writes ([`StreamEvent`]), and the
//! plaintexts they use ([`PlainKey`]). [`super::trace`] builds one.

/// A value of the stream: one ciphertext, numbered in order of definition.
pub type Value = usize;

/// One CKKS operation of the stream at its shape: what is lowered to one chunk of
/// instructions ([`crate::lowering`]).
#[derive(Clone, Debug, PartialEq)]
pub enum StreamOp {
    /// `a + b` at `level`.
    Add {
        /// Level of the operands.
        level: usize,
    },
    /// `a - b` at `level`.
    Sub {
        /// Level of the operands.
        level: usize,
    },
    /// `-a` at `level`.
    Neg {
        /// Level of the operand.
        level: usize,
    },
    /// `a + value` for `a` at `scale`.
    AddConst {
        /// Level of the operand.
        level: usize,
        /// The constant.
        value: f64,
        /// The operand's scale.
        scale: f64,
    },
    /// `a * value`, the constant encoded at `const_scale`.
    MulConst {
        /// Level of the operand.
        level: usize,
        /// The constant.
        value: f64,
        /// Its encoding scale (`>= 1`).
        const_scale: f64,
    },
    /// Product and relinearization (one key switch with the relinearization key).
    MulRelin {
        /// Level of the operands.
        level: usize,
    },
    /// Rescale from `level` to `level - 1`.
    Rescale {
        /// Level of the operand (`>= 1`).
        level: usize,
    },
    /// Limbs dropped from `from` to `to < from`.
    DropLevel {
        /// Level of the operand.
        from: usize,
        /// Level of the result.
        to: usize,
    },
    /// `a * X^k` (a plaintext product with the monomial).
    MulMonomial {
        /// Level of the operand.
        level: usize,
        /// Exponent, `[0, 2N)`.
        k: usize,
    },
    /// Automorphisms of one ciphertext by each (distinct) Galois element, one decomposition.
    Rotations {
        /// Level of the operand.
        level: usize,
        /// Galois elements, in the order of the results.
        galois: Vec<u64>,
    },
    /// `sum_t x_t * m_t` over `terms` ciphertexts and plaintexts.
    InnerProduct {
        /// Level of the operands.
        level: usize,
        /// Terms, `>= 1`.
        terms: usize,
    },
    /// ModRaise from level 0 to `to`.
    ModRaise {
        /// Level of the result.
        to: usize,
    },
    /// Product with a plaintext.
    MulPlain {
        /// Level of the operands.
        level: usize,
    },
    /// Sum with a plaintext.
    AddPlain {
        /// Level of the operands.
        level: usize,
    },
}

impl StreamOp {
    /// The operation's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            StreamOp::Add { .. } => "add",
            StreamOp::Sub { .. } => "sub",
            StreamOp::Neg { .. } => "neg",
            StreamOp::AddConst { .. } => "add_const",
            StreamOp::MulConst { .. } => "mul_const",
            StreamOp::MulRelin { .. } => "mul_relin",
            StreamOp::Rescale { .. } => "rescale",
            StreamOp::DropLevel { .. } => "drop_level",
            StreamOp::MulMonomial { .. } => "mul_monomial",
            StreamOp::Rotations { .. } => "rotations",
            StreamOp::InnerProduct { .. } => "inner_product",
            StreamOp::ModRaise { .. } => "mod_raise",
            StreamOp::MulPlain { .. } => "mul_plain",
            StreamOp::AddPlain { .. } => "add_plain",
        }
    }
}

/// A plaintext of the stream: which vector, encoded at which level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlainKey {
    /// Plaintext `id` of the network's program ([`HeProgram::plaintexts`](crate::pack::HeProgram::plaintexts)).
    Network {
        /// Index into the program's plaintexts.
        id: usize,
        /// Level it is encoded at.
        level: usize,
    },
    /// The `index`-th plaintext a bootstrapping reads (the same in every bootstrapping).
    Bootstrap {
        /// Position in the bootstrapping circuit's plaintext reads.
        index: usize,
        /// Level it is encoded at.
        level: usize,
    },
    /// The monomial `X^k`.
    Monomial {
        /// Exponent, `[0, 2N)`.
        k: usize,
        /// Level it is encoded at.
        level: usize,
    },
}

impl PlainKey {
    /// The level the plaintext is encoded at.
    pub fn level(&self) -> usize {
        match *self {
            PlainKey::Network { level, .. }
            | PlainKey::Bootstrap { level, .. }
            | PlainKey::Monomial { level, .. } => level,
        }
    }
}

/// One operation of the stream with its dataflow.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEvent {
    /// The operation.
    pub op: StreamOp,
    /// Values read, in operand order (`a`, `b`, or the terms of an inner product).
    pub reads: Vec<Value>,
    /// Values defined, in result order.
    pub writes: Vec<Value>,
    /// Plaintexts read, in operand order.
    pub plains: Vec<PlainKey>,
    /// The network program's operation it belongs to (index into [`HeProgram::ops`](crate::pack::HeProgram::ops)).
    pub source: usize,
}

/// A whole network's dataflow.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataflow {
    /// Operations in program order.
    pub events: Vec<StreamEvent>,
    /// Level of every value (its ciphertext has `level + 1` limbs a part).
    pub levels: Vec<usize>,
    /// Scale of every value.
    pub scales: Vec<f64>,
    /// The network's input values, in the program's input order.
    pub inputs: Vec<Value>,
    /// The network's output values, in the program's output order.
    pub outputs: Vec<Value>,
    /// Bootstrappings expanded.
    pub bootstrappings: usize,
}
