//! Allocating the chunk at the front of the window: each instruction's sources and
//! destinations get physical slots (loads and stores served from the cache), then the next
//! chunks' inputs are prefetched into free slots.

use super::rewrite::{read_operand, remap, Liveness};
use super::{loc, Allocator, Home, Next, Sink};
use crate::error::{Result, SimError};
use crate::isa::{BufferRole, Instruction, Slot};
use crate::timing::{for_reads, for_writes};

impl<S: Sink> Allocator<S> {
    pub(super) fn process_front(&mut self) -> Result<()> {
        let chunk = self.window.pop_front().expect("a chunk");
        self.window_len -= chunk.instructions.len();
        self.stats.chunks += 1;
        let liveness = chunk
            .liveness
            .unwrap_or_else(|| Liveness::of(&chunk.instructions, chunk.local_slots as usize));
        let mut regs: Vec<Option<u32>> = vec![None; chunk.local_slots as usize];
        for (i, ins) in chunk.instructions.iter().enumerate() {
            let pos = chunk.first + i as u64;
            let next = self.links.pop_front().expect("a link per instruction");
            self.links_base += 1;
            self.stats.input_instructions += 1;
            self.step(pos, ins, next, &liveness, i, &mut regs)?;
        }
        // Values still mapped are dead at the chunk's end (values cross chunks in buffers).
        for p in regs.into_iter().flatten() {
            self.detach(p);
        }
        self.prefetch()
    }

    fn step(
        &mut self,
        pos: u64,
        ins: &Instruction,
        next: Next,
        liveness: &Liveness,
        i: usize,
        regs: &mut [Option<u32>],
    ) -> Result<()> {
        let unwritten = |operand: &str, slot: Slot| SimError::Unwritten {
            source_name: "stream".into(),
            instruction: pos,
            operand: operand.into(),
            slot,
        };
        match *ins {
            Instruction::Free { buffer } => {
                for l in 0..self.buffers[buffer as usize].limbs {
                    if let Some(p) = self.homes.remove(&loc(buffer, l)) {
                        let slot = &mut self.phys[p as usize];
                        let k = slot.homes.iter().position(|h| h.loc == loc(buffer, l));
                        if let Some(k) = k {
                            if slot.homes.swap_remove(k).dirty {
                                self.stats.dropped_dead += 1;
                            }
                        }
                        self.settle(p);
                    }
                }
                Ok(())
            }
            Instruction::Load { dst, buffer, limb } => {
                self.stats.loads += 1;
                let here = loc(buffer, limb);
                if liveness.dead_write(i, 0) {
                    self.stats.dead_loads += 1;
                    if let Some(&p) = self.homes.get(&here) {
                        self.update_home(p, here, |h| h.next = next);
                    }
                    return Ok(());
                }
                self.count_compulsory(buffer, limb, false);
                if let Some(old) = regs[dst as usize].take() {
                    self.detach(old);
                }
                let p = match self.homes.get(&here).copied() {
                    Some(p) => {
                        self.stats.load_hits += 1;
                        if let Some(h) = self.phys[p as usize]
                            .homes
                            .iter_mut()
                            .find(|h| h.loc == here)
                        {
                            h.next = next;
                        }
                        p
                    }
                    None => self.fill(pos, buffer, limb, next)?,
                };
                regs[dst as usize] = Some(p);
                self.attach(p);
                Ok(())
            }
            Instruction::Store { src, buffer, limb } => {
                let p = regs[src as usize].ok_or_else(|| unwritten("src", src))?;
                self.count_compulsory(buffer, limb, true);
                self.stats.stores_kept += 1;
                let here = loc(buffer, limb);
                if let Some(q) = self.homes.insert(here, p) {
                    if q != p {
                        let slot = &mut self.phys[q as usize];
                        if let Some(k) = slot.homes.iter().position(|h| h.loc == here) {
                            slot.homes.swap_remove(k);
                        }
                        self.settle(q);
                    }
                }
                let slot = &mut self.phys[p as usize];
                match slot.homes.iter_mut().find(|h| h.loc == here) {
                    Some(h) => {
                        h.dirty = true;
                        h.next = next;
                    }
                    None => slot.homes.push(Home {
                        loc: here,
                        dirty: true,
                        next,
                    }),
                }
                if liveness.dies(i, 0) {
                    regs[src as usize] = None;
                    self.detach(p);
                }
                Ok(())
            }
            _ => self.compute(pos, ins, liveness, i, regs, &unwritten),
        }
    }

    fn compute(
        &mut self,
        pos: u64,
        ins: &Instruction,
        liveness: &Liveness,
        i: usize,
        regs: &mut [Option<u32>],
        unwritten: &dyn Fn(&str, Slot) -> SimError,
    ) -> Result<()> {
        // Every source must hold a value.
        let mut missing = None;
        let mut k = 0;
        for_reads(ins, |s| {
            if missing.is_none() && regs[s as usize].is_none() {
                missing = Some((read_operand(ins, k), s));
            }
            k += 1;
        });
        if let Some((operand, s)) = missing {
            return Err(unwritten(&operand, s));
        }
        let in_place = match *ins {
            Instruction::Ntt { slot, .. } | Instruction::Intt { slot, .. } => Some(slot),
            Instruction::Mac { acc, .. } => Some(acc),
            _ => None,
        };
        if let Some(w) = in_place {
            let p = regs[w as usize].expect("checked above");
            let slot = &self.phys[p as usize];
            // Kept by a copy: a value shared with another, a buffer's only copy, or (while
            // slots are free) a clean copy loaded again later in the window.
            let room = !self.free.is_empty();
            let shared = slot.regs > 1
                || slot
                    .homes
                    .iter()
                    .any(|h| !h.is_dead() && (h.dirty || (room && h.next.pos != u64::MAX)));
            if shared {
                let q = self.obtain(pos)?;
                self.emit(Instruction::Copy { dst: q, src: p })?;
                self.stats.copies += 1;
                regs[w as usize] = Some(q);
                self.attach(q);
                self.detach(p);
            } else {
                // Its clean or dead copies become stale: the buffers keep the value.
                let homes = std::mem::take(&mut self.phys[p as usize].homes);
                for h in homes {
                    self.homes.remove(&h.loc);
                    if h.dirty {
                        self.stats.dropped_dead += 1;
                    }
                }
            }
        }
        // Physical sources, read before anything is written.
        let mut sources = Vec::with_capacity(4);
        for_reads(ins, |s| {
            sources.push(regs[s as usize].expect("checked above"))
        });
        // Sources whose value dies here are released (the in-place slot keeps its value).
        let mut k = 0;
        let mut dying = Vec::new();
        for_reads(ins, |s| {
            if liveness.dies(i, k) && Some(s) != in_place {
                dying.push(s);
            }
            k += 1;
        });
        for s in dying {
            if let Some(p) = regs[s as usize].take() {
                self.detach(p);
            }
        }
        // Destinations of whole writes take fresh slots.
        let mut targets = Vec::with_capacity(1);
        let mut written = Vec::with_capacity(1);
        for_writes(ins, |s| written.push(s));
        for &s in &written {
            if Some(s) == in_place {
                targets.push(regs[s as usize].expect("checked above"));
                continue;
            }
            if let Some(old) = regs[s as usize].take() {
                self.detach(old);
            }
            let p = self.obtain(pos)?;
            regs[s as usize] = Some(p);
            self.attach(p);
            targets.push(p);
        }
        self.emit(remap(ins, &sources, &targets))?;
        // Values no one reads are released at once.
        for (k, &s) in written.iter().enumerate() {
            if liveness.dead_write(i, k) {
                if let Some(p) = regs[s as usize].take() {
                    self.detach(p);
                }
            }
        }
        Ok(())
    }

    /// Loads of the next chunks' keys, plaintexts and inputs into free slots.
    fn prefetch(&mut self) -> Result<()> {
        let Some(reserve) = self.window.front().map(|c| c.local_slots as usize) else {
            return Ok(());
        };
        let mut wanted = Vec::new();
        for chunk in self.window.iter_mut().take(self.options.prefetch_chunks) {
            let liveness = chunk.liveness.get_or_insert_with(|| {
                Liveness::of(&chunk.instructions, chunk.local_slots as usize)
            });
            for (i, ins) in chunk.instructions.iter().enumerate() {
                if let Instruction::Load { buffer, limb, .. } = *ins {
                    if liveness.dead_write(i, 0) {
                        continue; // its value is never read
                    }
                    let role = self.buffers[buffer as usize].role;
                    if matches!(
                        role,
                        BufferRole::Key | BufferRole::Plaintext | BufferRole::Input
                    ) {
                        wanted.push((chunk.first + i as u64, buffer, limb));
                    }
                }
            }
        }
        for (pos, buffer, limb) in wanted {
            if self.free.len() <= reserve {
                break;
            }
            let here = loc(buffer, limb);
            if self.homes.contains_key(&here) {
                continue;
            }
            let next = Next {
                pos,
                is_store: false,
            };
            let p = self.fill(pos, buffer, limb, next)?;
            self.stats.prefetches += 1;
            self.settle(p);
        }
        Ok(())
    }
}
