//! The errors of packing, compilation and execution.

use crate::nn::Shape;
use thiserror::Error;

/// Errors of packing, compilation and execution.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PackError {
    /// A layer's hyperparameter, weights or strategy setting does not fit.
    #[error("layer '{layer}', field `{field}`: {problem}")]
    Layer {
        /// Layer name.
        layer: String,
        /// The offending field.
        field: &'static str,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// A layer kind the HE pipeline does not run (yet).
    #[error("layer {location}: {problem}")]
    Unsupported {
        /// Where it is (`#path kind 'name'`).
        location: String,
        /// Why.
        problem: String,
    },
    /// An invalid layout.
    #[error("layout: {0}")]
    Layout(#[from] LayoutError),
    /// An invalid program.
    #[error("program, op {op}: {problem}")]
    Program {
        /// Index of the offending op (the op count for outputs).
        op: usize,
        /// What is wrong.
        problem: String,
    },
    /// The program was built for counting only.
    #[error("program plaintexts were not materialized (built for counting only)")]
    NotMaterialized,
    /// Wrong inputs for a program.
    #[error("program inputs: {0}")]
    Inputs(#[from] InputsError),
    /// From the network IR.
    #[error(transparent)]
    Nn(#[from] crate::nn::NnError),
    /// From the reference model.
    #[error(transparent)]
    Ckks(#[from] heaccel_verification::Error),
}

/// Why a layout (or a linear map between layouts) is invalid ([`PackError::Layout`]).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutError {
    /// An interleaving whose group count is 0 or does not divide the channels.
    #[error("interleaving {groups} groups: must be >= 1 and divide {channels} channels")]
    Interleaving {
        /// Groups asked for.
        groups: usize,
        /// Channels of the map.
        channels: usize,
    },
    /// A multiplexing fill outside `[1, gap]`.
    #[error("fill {fill} is outside [1, gap = {gap}]")]
    Fill {
        /// Channels per side of a block.
        fill: usize,
        /// The gap.
        gap: usize,
    },
    /// A slot count that is not a power of two.
    #[error("slots = {slots} is not a power of two")]
    Slots {
        /// The slot count.
        slots: usize,
    },
    /// An empty shape, or a zero gap or stride.
    #[error("shape {shape}, gap {gap}, fine strides ({fine_row}, {fine_col}): all must be >= 1")]
    Empty {
        /// The map's shape.
        shape: Shape,
        /// The gap.
        gap: usize,
        /// The fine row stride.
        fine_row: usize,
        /// The fine column stride.
        fine_col: usize,
    },
    /// One block spans more slots than a ciphertext has.
    #[error(
        "a block of shape ({height}, {width}) with gap {gap} spans {extent} slots, more than \
         the {slots} of a ciphertext"
    )]
    BlockTooLarge {
        /// Rows of the map.
        height: usize,
        /// Columns of the map.
        width: usize,
        /// The gap.
        gap: usize,
        /// Slots one block spans.
        extent: usize,
        /// Slots of a ciphertext.
        slots: usize,
    },
    /// A forced plane size outside the powers of two in `[min, slots]`.
    #[error("plane {plane}: must be a power of two in [{min}, {slots}]")]
    Plane {
        /// The plane asked for.
        plane: usize,
        /// The smallest plane holding a block.
        min: usize,
        /// Slots of a ciphertext.
        slots: usize,
    },
    /// A replica count that is not a power of two dividing the slots.
    #[error("replicas = {replicas} must be a power of two dividing {slots} slots")]
    Replicas {
        /// The replica count.
        replicas: usize,
        /// Slots of a ciphertext.
        slots: usize,
    },
    /// Not one placement per channel.
    #[error("{placements} channel placements for {channels} channels")]
    Placements {
        /// Placements given.
        placements: usize,
        /// Channels of the shape.
        channels: usize,
    },
    /// A pixel placed outside the ciphertexts or the first copy.
    #[error(
        "pixel ({channel}, {y}, {x}) at ciphertext {ciphertext} slot {slot}: outside \
         {ciphertexts} x {period}"
    )]
    PixelOutside {
        /// Channel of the pixel.
        channel: usize,
        /// Row.
        y: usize,
        /// Column.
        x: usize,
        /// Its ciphertext.
        ciphertext: usize,
        /// Its slot.
        slot: usize,
        /// Ciphertexts of the layout.
        ciphertexts: usize,
        /// Slots of one copy.
        period: usize,
    },
    /// Two pixels at one slot.
    #[error("pixel ({channel}, {y}, {x}) shares ciphertext {ciphertext} slot {slot} with another")]
    PixelShared {
        /// Channel of the pixel.
        channel: usize,
        /// Row.
        y: usize,
        /// Column.
        x: usize,
        /// Its ciphertext.
        ciphertext: usize,
        /// Its slot.
        slot: usize,
    },
    /// A feature map of another shape than the layout's.
    #[error("feature map of shape {map} for a layout of shape {layout}")]
    MapShape {
        /// The map's shape.
        map: Shape,
        /// The layout's shape.
        layout: Shape,
    },
    /// Slot vectors that are not one per ciphertext of the layout's slot count.
    #[error("{given} slot vectors given, expected {ciphertexts} of {slots} slots")]
    SlotVectors {
        /// Vectors given.
        given: usize,
        /// Ciphertexts of the layout.
        ciphertexts: usize,
        /// Slots each.
        slots: usize,
    },
    /// A giant step that is not a power of two in `[1, slots]`.
    #[error("giant step {giant}: must be a power of two in [1, {slots}]")]
    GiantStep {
        /// The giant step asked for.
        giant: usize,
        /// Slots of a ciphertext.
        slots: usize,
    },
    /// A linear map without input ciphertexts.
    #[error("a linear map with no input")]
    NoInput,
}

/// Why a program's inputs do not fit it ([`PackError::Inputs`]).
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum InputsError {
    /// Not as many inputs as the program takes.
    #[error("{given} {kind} given, the program takes {expected}")]
    Count {
        /// Inputs given.
        given: usize,
        /// Inputs the program takes.
        expected: usize,
        /// `ciphertexts` or `slot vectors`.
        kind: &'static str,
    },
    /// A ciphertext of another slot count than the program's.
    #[error("input {input} has 2^{log_slots} slots, the program works on {slots}")]
    LogSlots {
        /// Index of the input.
        input: usize,
        /// Its `log2` slot count.
        log_slots: u32,
        /// The program's slot count.
        slots: usize,
    },
    /// A slot vector of another length than the program's slot count.
    #[error("input {input} has {values} values, the program works on {slots} slots")]
    Values {
        /// Index of the input.
        input: usize,
        /// Its length.
        values: usize,
        /// The program's slot count.
        slots: usize,
    },
    /// A network input of another shape than the network's.
    #[error("input of shape {given}, the network takes {expected}")]
    InputShape {
        /// The input's shape.
        given: Shape,
        /// The network's input shape.
        expected: Shape,
    },
    /// Not one ReLU bound per activation layer.
    #[error("{given} ReLU bounds for a network with {activations} activation layers")]
    ReluBounds {
        /// Bounds given.
        given: usize,
        /// Activation layers of the network.
        activations: usize,
    },
    /// A ReLU bound that is not finite and positive.
    #[error("ReLU bound {bound}: expected finite and > 0")]
    ReluBound {
        /// The bound.
        bound: f64,
    },
}
