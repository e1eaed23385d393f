//! ISA programs as the core's instructions.

use heaccel_hdl::core::{opcode, CoreGeometry, CoreInstr};
use heaccel_hdl::MAX_Q_BITS;
use heaccel_sim::isa::{Instruction, PolyForm, Program};

use crate::error::{CoRunError, NotOnChip};
use crate::memory::check_memory;

/// A program translated for the core.
#[derive(Clone, Debug)]
pub struct CoreProgram {
    /// The core it runs on.
    pub geometry: CoreGeometry,
    /// Its instructions.
    pub instructions: Vec<CoreInstr>,
    /// `(buffer, limb)` of each `load`, in program order.
    pub loads: Vec<(usize, usize)>,
    /// `(buffer, limb)` of each `store`, in program order.
    pub stores: Vec<(usize, usize)>,
}

/// Translates `program` (validated) for a core with `lanes` NTT lanes. Refuses, naming the
/// file and the field: primes of 30 bits or more (the core's word), more than 16 primes or
/// 256 slots, `bconv` (basis conversion is not an on-chip instruction of the core),
/// coefficient-form `automorph` (the automorphism unit works in the NTT domain), and a `load`
/// of a limb the program stored before (the co-run streams inputs from the initial memory).
pub fn translate(program: &Program, lanes: usize, source: &str) -> Result<CoreProgram, CoRunError> {
    program.validate(source)?;
    for (i, &q) in program.moduli.iter().enumerate() {
        if q >> MAX_Q_BITS != 0 {
            return Err(CoRunError::ModulusTooWide {
                file: source.into(),
                index: i,
                value: q,
                max_bits: MAX_Q_BITS,
            });
        }
    }
    let count = program.instructions.len();
    if count > CoreGeometry::MAX_QUEUE {
        return Err(CoRunError::TooManyInstructions {
            file: source.into(),
            count,
            max: CoreGeometry::MAX_QUEUE,
        });
    }
    check_memory(program, source)?;
    let queue = count.max(2).next_power_of_two();
    let geometry = CoreGeometry::new(
        program.log_n,
        lanes,
        &program.moduli,
        program.slots as usize,
        queue,
    )
    .map_err(|error| CoRunError::Geometry {
        file: source.into(),
        error,
    })?;
    let mut instructions = Vec::new();
    let (mut loads, mut stores) = (Vec::new(), Vec::new());
    let mut stored = std::collections::HashSet::new();
    for (k, ins) in program.instructions.iter().enumerate() {
        use Instruction::*;
        let not_on_chip = |what| CoRunError::NotOnChip {
            file: source.into(),
            index: k,
            name: ins.name(),
            what,
        };
        let (op, m, dst, a, b, imm) = match ins {
            Load { dst, buffer, limb } => {
                let key = (*buffer as usize, *limb as usize);
                if stored.contains(&key) {
                    return Err(CoRunError::LoadAfterStore {
                        file: source.into(),
                        index: k,
                        buffer: program.buffers[*buffer as usize].name.clone(),
                        limb: *limb,
                    });
                }
                loads.push(key);
                (opcode::LOAD, 0, *dst, 0, 0, 0)
            }
            Store { src, buffer, limb } => {
                stores.push((*buffer as usize, *limb as usize));
                stored.insert((*buffer as usize, *limb as usize));
                (opcode::STORE, 0, 0, *src, 0, 0)
            }
            Ntt { slot, modulus } => (opcode::NTT, *modulus, *slot, *slot, 0, 0),
            Intt { slot, modulus } => (opcode::INTT, *modulus, *slot, *slot, 0, 0),
            Add { dst, a, b, modulus } => (opcode::ADD, *modulus, *dst, *a, *b, 0),
            Sub { dst, a, b, modulus } => (opcode::SUB, *modulus, *dst, *a, *b, 0),
            Mul { dst, a, b, modulus } => (opcode::MUL, *modulus, *dst, *a, *b, 0),
            AddScalar {
                dst,
                a,
                scalar,
                modulus,
            } => (opcode::ADD_SCALAR, *modulus, *dst, *a, 0, *scalar),
            MulScalar {
                dst,
                a,
                scalar,
                modulus,
            } => (opcode::MUL_SCALAR, *modulus, *dst, *a, 0, *scalar),
            Mac { acc, a, b, modulus } => (opcode::MAC, *modulus, *acc, *a, *b, 0),
            Automorph {
                dst,
                src,
                galois,
                form,
                modulus,
            } => {
                if *form == PolyForm::Coeff {
                    return Err(not_on_chip(NotOnChip::CoefficientAutomorphism));
                }
                (opcode::AUTOMORPH, *modulus, *dst, *src, 0, *galois)
            }
            Copy { dst, src } => (opcode::COPY, 0, *dst, *src, 0, 0),
            // An allocation hint without effect on results: nothing for the core to run.
            Free { .. } => continue,
            Bconv { .. } => return Err(not_on_chip(NotOnChip::BasisConversion)),
        };
        instructions.push(
            CoreInstr::from_parts(&geometry, op, m as u32, dst, a, b, imm).map_err(|error| {
                CoRunError::Instruction {
                    file: source.into(),
                    index: k,
                    name: ins.name(),
                    error,
                }
            })?,
        );
    }
    Ok(CoreProgram {
        geometry,
        instructions,
        loads,
        stores,
    })
}
