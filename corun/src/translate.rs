//! ISA programs as the core's instructions.

use heaccel_hdl::automorph::galois_inverse;
use heaccel_hdl::core::{
    bconv_entries, opcode, CoreConversion, CoreGeometry, CoreInstr, COEFF_FORM,
};
use heaccel_hdl::MAX_Q_BITS;
use heaccel_sim::isa::{Instruction, PolyForm, Program};

use crate::error::CoRunError;
use crate::memory::check_memory;

/// The conversion table of a `bconv` from primes `from` to `to`.
fn table_of(from: &[u16], to: &[u16], centered: bool) -> CoreConversion {
    CoreConversion {
        from: from.iter().map(|&m| m as u32).collect(),
        to: to.iter().map(|&m| m as u32).collect(),
        centered,
    }
}

/// A program translated for the core.
#[derive(Clone, Debug)]
pub struct CoreProgram {
    /// The core it runs on.
    pub geometry: CoreGeometry,
    /// Its queue entries (a `bconv` is a head and its extension entries).
    pub instructions: Vec<CoreInstr>,
    /// For each queue entry, the index of the program instruction it comes from.
    pub origin: Vec<usize>,
    /// `(buffer, limb)` of each `load`, in program order, and whether the program stored
    /// that limb before (the host then streams back what was stored).
    pub loads: Vec<((usize, usize), bool)>,
    /// `(buffer, limb)` of each `store`, in program order.
    pub stores: Vec<(usize, usize)>,
}

/// Translates `program` (validated) for a core with `lanes` NTT lanes and one conversion
/// table per distinct `bconv` (sources, targets, centering), in order of first use. Refuses,
/// naming the file and the field: primes of 30 bits or more (the core's word), more than 16
/// primes, 256 slots or 16 distinct conversions, a conversion of more than 16 sources or
/// targets (a coefficient-form `automorph` carries `g^-1 mod 2N` with bit 31 set, [`COEFF_FORM`]).
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
    let mut conversions: Vec<CoreConversion> = Vec::new();
    let mut count = 0;
    for ins in &program.instructions {
        count += match ins {
            Instruction::Free { .. } => 0,
            Instruction::Bconv {
                from, to, centered, ..
            } => {
                let c = table_of(from, to, *centered);
                // The head and its extension entries (`bconv_entries` checks the list lengths).
                let entries = 1 + c.extension_entries();
                if !conversions.contains(&c) {
                    conversions.push(c);
                }
                entries
            }
            _ => 1,
        };
    }
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
    .and_then(|g| g.with_conversions(conversions.clone()))
    .map_err(|error| CoRunError::Geometry {
        file: source.into(),
        error,
    })?;
    let mut instructions = Vec::new();
    let mut origin = Vec::new();
    let (mut loads, mut stores) = (Vec::new(), Vec::new());
    let mut stored = std::collections::HashSet::new();
    for (k, ins) in program.instructions.iter().enumerate() {
        use Instruction::*;
        let (op, m, dst, a, b, imm) = match ins {
            Load { dst, buffer, limb } => {
                let key = (*buffer as usize, *limb as usize);
                loads.push((key, stored.contains(&key)));
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
                // Coefficient form: the unit gathers by g^-1 mod 2N, which the host supplies.
                let element = if *form == PolyForm::Coeff {
                    let two_n = 2u32 << program.log_n;
                    (galois_inverse(*galois as u32) & (two_n - 1)) as u64 | COEFF_FORM as u64
                } else {
                    *galois
                };
                (opcode::AUTOMORPH, *modulus, *dst, *src, 0, element)
            }
            Copy { dst, src } => (opcode::COPY, 0, *dst, *src, 0, 0),
            // An allocation hint without effect on results: nothing for the core to run.
            Free { .. } => continue,
            Bconv {
                src,
                from,
                dst,
                to,
                centered,
            } => {
                let wanted = table_of(from, to, *centered);
                let table = conversions
                    .iter()
                    .position(|c| *c == wanted)
                    .expect("collected above");
                let entries =
                    bconv_entries(&geometry, table as u32, src, dst).map_err(|error| {
                        CoRunError::Instruction {
                            file: source.into(),
                            index: k,
                            name: ins.name(),
                            error,
                        }
                    })?;
                origin.extend(std::iter::repeat_n(k, entries.len()));
                instructions.extend(entries);
                continue;
            }
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
        origin.push(k);
    }
    Ok(CoreProgram {
        geometry,
        instructions,
        origin,
        loads,
        stores,
    })
}
