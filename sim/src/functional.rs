//! The functional executor: runs a [`Program`] on real data with the reference model's
//! arithmetic (`heaccel-verification`), bit for bit.

use std::collections::HashMap;

use heaccel_verification::arith::{first_unreduced, Modulus};
use heaccel_verification::automorphism::{automorphism_coeff, automorphism_ntt, ntt_index_map};
use heaccel_verification::ntt::NttTable;
use heaccel_verification::rns::BasisConverter;

use crate::error::{invalid, Result};
use crate::isa::{Instruction, ModulusIndex, PolyForm, Program, Slot};

/// Off-chip memory of a program: `buffers[b][limb]` is a vector of `N` words. Limbs are
/// stored once written (an unwritten limb reads as zeros), and a `free` hint releases its
/// buffer's storage (its contents are dead: a later read before a store sees zeros), so a
/// whole-network program needs memory for its live values only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memory {
    names: Vec<String>,
    /// Per buffer, per limb: the words, or empty when unwritten or freed.
    buffers: Vec<Vec<Vec<u64>>>,
    /// `N` zeros: what an unwritten limb reads as.
    zeros: Vec<u64>,
}

impl Memory {
    /// Zero-filled buffers as the program declares them.
    pub fn for_program(program: &Program) -> Self {
        Memory {
            names: program.buffers.iter().map(|b| b.name.clone()).collect(),
            buffers: program
                .buffers
                .iter()
                .map(|b| vec![Vec::new(); b.limbs as usize])
                .collect(),
            zeros: vec![0; program.n()],
        }
    }

    /// Limb `limb` of buffer number `b` (in range).
    fn limb(&self, b: usize, limb: usize) -> &[u64] {
        let v = &self.buffers[b][limb];
        if v.is_empty() {
            &self.zeros
        } else {
            v
        }
    }

    fn index(&self, name: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| invalid("memory", "buffer", format!("no buffer named `{name}`")))
    }

    /// Writes limb `limb` of buffer `name` (`data` of length `N`).
    pub fn write(&mut self, name: &str, limb: usize, data: &[u64]) -> Result<()> {
        let b = self.index(name)?;
        let n = self.zeros.len();
        let target = self.buffers[b]
            .get_mut(limb)
            .ok_or_else(|| invalid("memory", format!("{name}[{limb}]"), "limb out of range"))?;
        if data.len() != n {
            return Err(invalid(
                "memory",
                format!("{name}[{limb}]"),
                format!("{} words given, N = {n}", data.len()),
            ));
        }
        *target = data.to_vec();
        Ok(())
    }

    /// Limb `limb` of buffer `name`.
    pub fn read(&self, name: &str, limb: usize) -> Result<&[u64]> {
        let b = self.index(name)?;
        if limb >= self.buffers[b].len() {
            return Err(invalid(
                "memory",
                format!("{name}[{limb}]"),
                "limb out of range",
            ));
        }
        Ok(self.limb(b, limb))
    }
}

/// Executes programs; caches NTT tables, index maps and basis converters per program.
#[derive(Debug)]
pub struct FunctionalExecutor<'p> {
    program: &'p Program,
    tables: Vec<NttTable>,
    index_maps: HashMap<u64, Vec<usize>>,
    converters: HashMap<(Vec<ModulusIndex>, Vec<ModulusIndex>), BasisConverter>,
}

impl<'p> FunctionalExecutor<'p> {
    /// Validates `program` and builds the NTT tables of its primes.
    pub fn new(program: &'p Program) -> Result<Self> {
        program.validate("program")?;
        let tables = program
            .moduli
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                NttTable::new(q, program.log_n)
                    .map_err(|e| invalid("program", format!("moduli[{i}]"), e.to_string()))
            })
            .collect::<Result<_>>()?;
        Ok(FunctionalExecutor {
            program,
            tables,
            index_maps: HashMap::new(),
            converters: HashMap::new(),
        })
    }

    /// Runs the whole program on `memory`; scratchpad slots start unwritten.
    pub fn run(&mut self, memory: &mut Memory) -> Result<()> {
        let n = self.program.n();
        let mut slots: Vec<Option<Vec<u64>>> = vec![None; self.program.slots as usize];
        for (k, ins) in self.program.instructions.iter().enumerate() {
            self.step(k, ins, &mut slots, memory, n)?;
        }
        Ok(())
    }

    /// Runs another program on this executor's tables: `program` must have this executor's
    /// `log_n` and prime table (as every lowering of one parameter set does) and `memory`
    /// its buffers ([`Memory::for_program`]). One executor then serves many programs without
    /// rebuilding its NTT tables, index maps and converters.
    pub fn run_program(&mut self, program: &Program, memory: &mut Memory) -> Result<()> {
        program.validate("program")?;
        if program.log_n != self.program.log_n || program.moduli != self.program.moduli {
            return Err(invalid(
                "program",
                "moduli",
                "log_n or prime table differs from the executor's",
            ));
        }
        let fits = memory.buffers.len() == program.buffers.len()
            && memory.zeros.len() == program.n()
            && memory
                .buffers
                .iter()
                .zip(&program.buffers)
                .all(|(m, b)| m.len() == b.limbs as usize);
        if !fits {
            return Err(invalid(
                "memory",
                "buffers",
                "does not have the program's buffers (use Memory::for_program)",
            ));
        }
        let n = program.n();
        let mut slots: Vec<Option<Vec<u64>>> = vec![None; program.slots as usize];
        for (k, ins) in program.instructions.iter().enumerate() {
            self.step(k, ins, &mut slots, memory, n)?;
        }
        Ok(())
    }

    fn step(
        &mut self,
        k: usize,
        ins: &Instruction,
        slots: &mut [Option<Vec<u64>>],
        memory: &mut Memory,
        n: usize,
    ) -> Result<()> {
        use Instruction::*;
        let fail = |field: &str, reason: String| {
            invalid(
                "program",
                format!("instructions[{k}].{field}"),
                format!("{reason} ({})", ins.name()),
            )
        };
        // A source slot, checked written and reduced modulo q (when q is given).
        let source = |slots: &[Option<Vec<u64>>],
                      field: &str,
                      s: Slot,
                      q: Option<u64>|
         -> Result<Vec<u64>> {
            let v = slots[s as usize]
                .clone()
                .ok_or_else(|| fail(field, format!("slot {s} is read before it is written")))?;
            if let Some(q) = q {
                if first_unreduced(&v, q).is_some() {
                    return Err(fail(
                        field,
                        format!("slot {s} holds a value not reduced modulo {q}"),
                    ));
                }
            }
            Ok(v)
        };
        let modulus = |m: ModulusIndex| {
            Modulus::new(self.program.moduli[m as usize]).expect("validated prime")
        };
        let elementwise = |slots: &mut [Option<Vec<u64>>],
                           dst: Slot,
                           a: Slot,
                           b: Slot,
                           m: ModulusIndex,
                           f: &dyn Fn(&Modulus, u64, u64) -> u64|
         -> Result<()> {
            let md = modulus(m);
            let va = source(slots, "a", a, Some(md.value()))?;
            let vb = source(slots, "b", b, Some(md.value()))?;
            slots[dst as usize] = Some(va.iter().zip(&vb).map(|(&x, &y)| f(&md, x, y)).collect());
            Ok(())
        };
        match ins {
            Load { dst, buffer, limb } => {
                slots[*dst as usize] = Some(memory.limb(*buffer as usize, *limb as usize).to_vec());
            }
            Store { src, buffer, limb } => {
                let v = source(slots, "src", *src, None)?;
                memory.buffers[*buffer as usize][*limb as usize] = v;
            }
            Ntt { slot, modulus: m } | Intt { slot, modulus: m } => {
                let mut v = source(slots, "slot", *slot, Some(self.program.moduli[*m as usize]))?;
                let table = &self.tables[*m as usize];
                if matches!(ins, Ntt { .. }) {
                    table.forward(&mut v);
                } else {
                    table.inverse(&mut v);
                }
                slots[*slot as usize] = Some(v);
            }
            Add {
                dst,
                a,
                b,
                modulus: m,
            } => elementwise(slots, *dst, *a, *b, *m, &|md, x, y| md.add(x, y))?,
            Sub {
                dst,
                a,
                b,
                modulus: m,
            } => elementwise(slots, *dst, *a, *b, *m, &|md, x, y| md.sub(x, y))?,
            Mul {
                dst,
                a,
                b,
                modulus: m,
            } => elementwise(slots, *dst, *a, *b, *m, &|md, x, y| md.mul(x, y))?,
            AddScalar {
                dst,
                a,
                scalar,
                modulus: m,
            }
            | MulScalar {
                dst,
                a,
                scalar,
                modulus: m,
            } => {
                let md = modulus(*m);
                let va = source(slots, "a", *a, Some(md.value()))?;
                let add = matches!(ins, AddScalar { .. });
                slots[*dst as usize] = Some(
                    va.iter()
                        .map(|&x| {
                            if add {
                                md.add(x, *scalar)
                            } else {
                                md.mul(x, *scalar)
                            }
                        })
                        .collect(),
                );
            }
            Mac {
                acc,
                a,
                b,
                modulus: m,
            } => {
                let md = modulus(*m);
                let vacc = source(slots, "acc", *acc, Some(md.value()))?;
                let va = source(slots, "a", *a, Some(md.value()))?;
                let vb = source(slots, "b", *b, Some(md.value()))?;
                slots[*acc as usize] = Some(
                    vacc.iter()
                        .zip(va.iter().zip(&vb))
                        .map(|(&c, (&x, &y))| md.add(c, md.mul(x, y)))
                        .collect(),
                );
            }
            Automorph {
                dst,
                src,
                galois,
                form,
                modulus: m,
            } => {
                let md = modulus(*m);
                let v = source(slots, "src", *src, Some(md.value()))?;
                let out = match form {
                    PolyForm::Ntt => {
                        let log_n = self.program.log_n;
                        let idx = match self.index_maps.entry(*galois) {
                            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                                ntt_index_map(*galois, log_n)
                                    .map_err(|e| fail("galois", e.to_string()))?,
                            ),
                        };
                        automorphism_ntt(&v, idx)
                    }
                    PolyForm::Coeff => automorphism_coeff(&v, *galois, &md)
                        .map_err(|e| fail("galois", e.to_string()))?,
                };
                slots[*dst as usize] = Some(out);
            }
            Bconv {
                src,
                from,
                dst,
                to,
                centered,
            } => {
                let inputs = src
                    .iter()
                    .zip(from)
                    .enumerate()
                    .map(|(i, (&s, &m))| {
                        source(
                            slots,
                            &format!("src[{i}]"),
                            s,
                            Some(self.program.moduli[m as usize]),
                        )
                    })
                    .collect::<Result<Vec<_>>>()?;
                let key = (from.clone(), to.clone());
                if !self.converters.contains_key(&key) {
                    let f: Vec<Modulus> = from.iter().map(|&m| modulus(m)).collect();
                    let t: Vec<Modulus> = to.iter().map(|&m| modulus(m)).collect();
                    let conv =
                        BasisConverter::new(&f, &t).map_err(|e| fail("from", e.to_string()))?;
                    self.converters.insert(key.clone(), conv);
                }
                let conv = &self.converters[&key];
                let input_refs: Vec<&[u64]> = inputs.iter().map(|v| v.as_slice()).collect();
                let mut outputs = vec![vec![0u64; n]; to.len()];
                {
                    let mut out_refs: Vec<&mut [u64]> =
                        outputs.iter_mut().map(|v| v.as_mut_slice()).collect();
                    if *centered {
                        conv.convert_centered(&input_refs, &mut out_refs);
                    } else {
                        conv.convert(&input_refs, &mut out_refs);
                    }
                }
                for (&s, v) in dst.iter().zip(outputs) {
                    slots[s as usize] = Some(v);
                }
            }
            Copy { dst, src } => {
                slots[*dst as usize] = Some(source(slots, "src", *src, None)?);
            }
            // An allocation hint: the buffer's contents are dead (no valid program reads them
            // before storing again), so its storage is released.
            Free { buffer } => {
                for limb in &mut memory.buffers[*buffer as usize] {
                    *limb = Vec::new();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::{Buffer, BufferRole};
    use heaccel_verification::arith::ntt_primes;
    use heaccel_verification::ntt::negacyclic_schoolbook;
    use proptest::prelude::*;

    fn buffer(name: &str, limbs: u32, role: BufferRole) -> Buffer {
        Buffer {
            name: name.into(),
            limbs,
            role,
        }
    }

    /// A negacyclic product a * b through NTT, MUL, INTT; then X -> X^5 and a conversion of
    /// the product to the second prime, all checked against the reference model directly.
    fn product_program(log_n: u32) -> Program {
        use Instruction::*;
        let moduli = ntt_primes(40, log_n, 2, &[]).unwrap();
        let mut p = Program::new(log_n, moduli, 4);
        p.buffers = vec![
            buffer("a", 1, BufferRole::Input),
            buffer("b", 1, BufferRole::Input),
            buffer("out", 3, BufferRole::Output),
        ];
        p.instructions = vec![
            Load {
                dst: 0,
                buffer: 0,
                limb: 0,
            },
            Load {
                dst: 1,
                buffer: 1,
                limb: 0,
            },
            Ntt {
                slot: 0,
                modulus: 0,
            },
            Ntt {
                slot: 1,
                modulus: 0,
            },
            Mul {
                dst: 2,
                a: 0,
                b: 1,
                modulus: 0,
            },
            Intt {
                slot: 2,
                modulus: 0,
            },
            Store {
                src: 2,
                buffer: 2,
                limb: 0,
            },
            Automorph {
                dst: 3,
                src: 2,
                galois: 5,
                form: PolyForm::Coeff,
                modulus: 0,
            },
            Store {
                src: 3,
                buffer: 2,
                limb: 1,
            },
            Bconv {
                src: vec![2],
                from: vec![0],
                dst: vec![3],
                to: vec![1],
                centered: true,
            },
            Store {
                src: 3,
                buffer: 2,
                limb: 2,
            },
        ];
        p
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn programs_equal_the_reference_model(log_n in 4u32..=9, seed: u64) {
            let p = product_program(log_n);
            let n = p.n();
            let (m0, m1) = (Modulus::new(p.moduli[0]).unwrap(), Modulus::new(p.moduli[1]).unwrap());
            let mut state = seed | 1;
            let mut next = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state % m0.value() };
            let a: Vec<u64> = (0..n).map(|_| next()).collect();
            let b: Vec<u64> = (0..n).map(|_| next()).collect();
            let mut mem = Memory::for_program(&p);
            mem.write("a", 0, &a).unwrap();
            mem.write("b", 0, &b).unwrap();
            FunctionalExecutor::new(&p).unwrap().run(&mut mem).unwrap();
            let product = negacyclic_schoolbook(&a, &b, &m0);
            prop_assert_eq!(mem.read("out", 0).unwrap(), product.as_slice());
            let rotated = automorphism_coeff(&product, 5, &m0).unwrap();
            prop_assert_eq!(mem.read("out", 1).unwrap(), rotated.as_slice());
            let centered: Vec<u64> = product.iter().map(|&x| m1.reduce_i64(m0.center(x))).collect();
            prop_assert_eq!(mem.read("out", 2).unwrap(), centered.as_slice());
        }
    }

    #[test]
    fn program_bugs_are_errors() {
        use Instruction::*;
        let mut p = product_program(4);
        p.instructions.insert(
            0,
            Add {
                dst: 0,
                a: 3,
                b: 3,
                modulus: 0,
            },
        );
        let mut mem = Memory::for_program(&p);
        let e = FunctionalExecutor::new(&p)
            .unwrap()
            .run(&mut mem)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("instructions[0].a") && e.contains("read before it is written"),
            "{e}"
        );

        let p = product_program(4);
        let mut mem = Memory::for_program(&p);
        mem.write("a", 0, &[u64::MAX; 16]).unwrap();
        mem.write("b", 0, &[1; 16]).unwrap();
        let e = FunctionalExecutor::new(&p)
            .unwrap()
            .run(&mut mem)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("instructions[2].slot") && e.contains("not reduced"),
            "{e}"
        );
        assert!(mem.write("a", 0, &[1, 2]).is_err());
        assert!(mem.write("nope", 0, &[0; 16]).is_err());
    }

    #[test]
    fn one_executor_runs_other_programs_of_its_primes() {
        let p = product_program(5);
        // a second program: the product's first half only, on a different buffer set
        let mut q = p.clone();
        q.instructions.truncate(7);
        q.buffers[2].limbs = 1;
        let a: Vec<u64> = (0..32).map(|i| i * 7 + 1).collect();
        let b: Vec<u64> = (0..32).map(|i| i * i + 3).collect();
        let fill = |prog: &Program| {
            let mut m = Memory::for_program(prog);
            m.write("a", 0, &a).unwrap();
            m.write("b", 0, &b).unwrap();
            m
        };
        let mut own = fill(&q);
        FunctionalExecutor::new(&q).unwrap().run(&mut own).unwrap();
        let mut executor = FunctionalExecutor::new(&p).unwrap();
        let mut shared = fill(&q);
        executor.run_program(&q, &mut shared).unwrap();
        assert_eq!(own, shared);
        let mut full = fill(&p);
        executor.run_program(&p, &mut full).unwrap();
        assert_eq!(full.read("out", 0).unwrap(), own.read("out", 0).unwrap());
        // memory of another program, or other primes, are errors
        let e = executor
            .run_program(&p, &mut shared)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Memory::for_program"), "{e}");
        let mut other = product_program(5);
        other.moduli.reverse();
        let mut m = Memory::for_program(&other);
        let e = executor
            .run_program(&other, &mut m)
            .unwrap_err()
            .to_string();
        assert!(e.contains("prime table"), "{e}");
    }
}
