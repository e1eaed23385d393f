//! The scratchpad as a cache of buffer limbs: which physical slot holds which copy, eviction
//! by furthest next use, fills from and write-backs to buffers, and the emitted stream.

use super::{loc, Allocator, Home, Loc, Next, Sink};
use crate::error::{Result, SimError};
use crate::isa::{BufferRole, Instruction};

impl<S: Sink> Allocator<S> {
    pub(super) fn update_home(&mut self, p: u32, at: Loc, f: impl FnOnce(&mut Home)) {
        if let Some(h) = self.phys[p as usize].homes.iter_mut().find(|h| h.loc == at) {
            f(h);
        }
        self.settle(p);
    }

    /// Puts `p` where it belongs: free (nothing on it), evictable (only buffer copies, keyed
    /// by its most urgent copy), or pinned (values of the current chunk).
    pub(super) fn settle(&mut self, p: u32) {
        let slot = &mut self.phys[p as usize];
        let key = if slot.regs > 0 {
            None
        } else {
            slot.homes.iter().map(Home::priority).min()
        };
        if key.is_some() && key == slot.key {
            return; // already evictable under this key
        }
        if let Some((c, pos)) = slot.key.take() {
            self.evictable.remove(&(c, pos, p));
        }
        if slot.regs > 0 {
            return;
        }
        match key {
            Some((c, pos)) => {
                slot.key = Some((c, pos));
                self.evictable.insert((c, pos, p));
            }
            None => self.free.push_back(p),
        }
    }

    pub(super) fn write_back(&mut self, p: u32, at: Loc) -> Result<()> {
        self.sink.emit(Instruction::Store {
            src: p,
            buffer: (at >> 32) as u32,
            limb: at as u32,
        })?;
        self.stats.output_instructions += 1;
        Ok(())
    }

    /// A free physical slot, evicting the copy needed last when none is free.
    pub(super) fn obtain(&mut self, pos: u64) -> Result<u32> {
        let p = match self.free.pop_front() {
            Some(p) => p,
            None => {
                let Some(&(c, at, p)) = self.evictable.iter().next_back() else {
                    return Err(SimError::ScratchpadFull {
                        source_name: "stream".into(),
                        instruction: pos,
                        slots: self.options.slots,
                        config: self.options.config.clone(),
                    });
                };
                self.evictable.remove(&(c, at, p));
                self.phys[p as usize].key = None;
                let homes = std::mem::take(&mut self.phys[p as usize].homes);
                for h in homes {
                    self.homes.remove(&h.loc);
                    if h.dirty {
                        if h.is_dead() {
                            self.stats.dropped_dead += 1;
                        } else {
                            self.write_back(p, h.loc)?;
                            self.stats.spills += 1;
                        }
                    }
                }
                p
            }
        };
        let used = self.options.slots - self.free.len() as u32;
        self.stats.peak_slots = self.stats.peak_slots.max(used);
        Ok(p)
    }

    /// Loads a buffer limb into a fresh slot as its clean copy, whose next use is `next`.
    pub(super) fn fill(&mut self, pos: u64, buffer: u32, limb: u32, next: Next) -> Result<u32> {
        let p = self.obtain(pos)?;
        self.emit(Instruction::Load {
            dst: p,
            buffer,
            limb,
        })?;
        let here = loc(buffer, limb);
        self.phys[p as usize].homes.push(Home {
            loc: here,
            dirty: false,
            next,
        });
        self.homes.insert(here, p);
        Ok(p)
    }

    pub(super) fn attach(&mut self, p: u32) {
        self.phys[p as usize].regs += 1;
        self.settle(p);
    }

    pub(super) fn detach(&mut self, p: u32) {
        self.phys[p as usize].regs -= 1;
        self.settle(p);
    }

    pub(super) fn emit(&mut self, ins: Instruction) -> Result<()> {
        self.stats.output_instructions += 1;
        self.sink.emit(ins)
    }

    pub(super) fn count_compulsory(&mut self, buffer: u32, limb: u32, store: bool) {
        let role = self.buffers[buffer as usize].role;
        let counts = if store {
            role == BufferRole::Output
        } else {
            matches!(
                role,
                BufferRole::Key | BufferRole::Plaintext | BufferRole::Input
            )
        };
        if !counts {
            return;
        }
        let bits = &mut self.counted[buffer as usize];
        if bits.is_empty() {
            bits.resize(self.buffers[buffer as usize].limbs.div_ceil(64) as usize, 0);
        }
        let (w, b) = (limb as usize / 64, 1u64 << (limb % 64));
        if bits[w] & b == 0 {
            bits[w] |= b;
            self.stats.compulsory_vectors += 1;
        }
    }
}
