//! Scratchpad allocation of a whole program: a stream of *chunks* (one lowered CKKS operation
//! each) becomes one stream of instructions over the physical scratchpad slots.
//!
//! **Input contract.** A chunk is a list of ISA instructions over its own slots
//! (`0 .. local_slots`); values pass between chunks only through buffers (a chunk stores its
//! results, a later chunk loads them), as the host lowering writes operations. Buffers are
//! global to the stream; a `free` hint after a buffer's last load says its contents are dead.
//!
//! **What the allocator does.**
//! - *Registers*: each chunk's slot values get physical slots for their lifetime (liveness
//!   within the chunk: a value dies at its last read before it is overwritten). Values of one
//!   operation are never spilled: the operation must fit the scratchpad with what it pins.
//! - *The scratchpad as a cache of buffer limbs*: a load whose limb is already on chip (loaded
//!   before, or stored by an earlier operation) costs nothing; a store leaves its value on chip
//!   as the limb's newest copy (dirty) instead of writing it off chip. Keys and plaintexts
//!   loaded once serve every later operation while they stay (ARK's inter-operation key
//!   reuse); a ciphertext stays on chip between its producer and its consumers.
//! - *Eviction by furthest next use* (Belady) within a lookahead window of the stream: dead
//!   copies first (freed, or overwritten before being read), then copies with no use in the
//!   window (clean before dirty), then the one used last. A dirty copy is written back to its
//!   buffer when evicted while still needed (a spill, counted as traffic of the buffer's role)
//!   and dropped when dead.
//! - *Copy on write*: an in-place operation (NTT, inverse NTT, multiply-accumulate) on a value
//!   that is also a buffer's only copy, or shared with another value, or (while a slot is
//!   free) a clean copy loaded again later, works on an on-chip copy.
//! - *Prefetch*: after each chunk, loads of keys, plaintexts and input ciphertexts of the next
//!   `prefetch_chunks` chunks are issued into free slots (never evicting, always leaving the
//!   next chunk's own slots free), so the memory channel runs ahead of compute; free slots are
//!   reused oldest first, so a slot just read is not written again at once (double buffering).
//! - At the end, every dirty copy still on chip is written back (program outputs).
//!
//! The output is bit-exact with the input program on the functional executor (the host's
//! whole-network tests check this), and its traffic is what the timing model charges.

use std::collections::{BTreeSet, VecDeque};

use rustc_hash::FxHashMap as HashMap;

use serde::Serialize;

use crate::error::{invalid, Result, SimError};
use crate::isa::{Buffer, BufferRole, Instruction, Slot};
use crate::timing::{for_reads, for_writes, Scheduler};

/// Where allocated instructions go.
pub trait Sink {
    /// Takes the next instruction of the allocated stream.
    fn emit(&mut self, ins: Instruction) -> Result<()>;
}

impl Sink for Vec<Instruction> {
    fn emit(&mut self, ins: Instruction) -> Result<()> {
        self.push(ins);
        Ok(())
    }
}

impl Sink for Scheduler {
    fn emit(&mut self, ins: Instruction) -> Result<()> {
        self.push(&ins)
    }
}

/// Settings of an [`Allocator`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocOptions {
    /// Physical scratchpad slots, `>= 1`.
    pub slots: u32,
    /// Instructions of lookahead for next-use decisions, `>= 1` (memory grows with it: about
    /// 120 bytes an instruction).
    pub lookahead: usize,
    /// Chunks ahead whose keys, plaintexts and inputs are prefetched (0: none).
    pub prefetch_chunks: usize,
    /// Configuration name, for errors.
    pub config: String,
}

/// What an allocation did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AllocStats {
    /// Chunks (operations) allocated.
    pub chunks: u64,
    /// Instructions of the input stream (hints included).
    pub input_instructions: u64,
    /// Instructions of the allocated stream.
    pub output_instructions: u64,
    /// Loads of the input stream.
    pub loads: u64,
    /// Of those, served by a copy already on chip (no traffic).
    pub load_hits: u64,
    /// Of those, loads whose value no instruction reads (dropped).
    pub dead_loads: u64,
    /// Loads issued ahead of their chunk (prefetch).
    pub prefetches: u64,
    /// On-chip copies made for copy on write.
    pub copies: u64,
    /// Stores of the input stream kept on chip instead.
    pub stores_kept: u64,
    /// Dirty copies written back when evicted while still needed.
    pub spills: u64,
    /// Dirty copies written back at the end of the stream.
    pub final_writebacks: u64,
    /// Dirty copies dropped because they were dead (freed or overwritten).
    pub dropped_dead: u64,
    /// Most physical slots in use at once.
    pub peak_slots: u32,
    /// Distinct limbs of keys, plaintexts and input ciphertexts loaded (by a load whose value
    /// is read), plus distinct limbs of output buffers stored: the compulsory traffic in vectors (each read or written once).
    pub compulsory_vectors: u64,
}

/// A buffer limb: `buffer << 32 | limb`.
type Loc = u64;

fn loc(buffer: u32, limb: u32) -> Loc {
    (buffer as u64) << 32 | limb as u64
}

/// The next occurrence of a limb in the stream: its position (`u64::MAX`: none in the window)
/// and whether it is a store (which makes the current copy dead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Next {
    pos: u64,
    is_store: bool,
}

const NO_NEXT: Next = Next {
    pos: u64::MAX,
    is_store: false,
};

/// An on-chip copy of a buffer limb.
#[derive(Clone, Copy, Debug)]
struct Home {
    loc: Loc,
    dirty: bool,
    next: Next,
}

impl Home {
    fn is_dead(&self) -> bool {
        self.next.is_store
    }

    /// Eviction priority, larger first: dead; no use in the window (clean, then dirty); the
    /// furthest next load.
    fn priority(&self) -> (u8, u64) {
        if self.is_dead() {
            (3, u64::MAX)
        } else if self.next.pos == u64::MAX {
            (if self.dirty { 1 } else { 2 }, u64::MAX)
        } else {
            (0, self.next.pos)
        }
    }
}

/// A physical slot: values of the current chunk mapped to it and buffer limbs it holds.
#[derive(Clone, Debug, Default)]
struct Phys {
    regs: u32,
    homes: Vec<Home>,
    /// Its entry in the evictable set, when it is there.
    key: Option<(u8, u64)>,
}

/// A chunk waiting in the lookahead window.
#[derive(Debug)]
struct Pending {
    instructions: Vec<Instruction>,
    first: u64,
    local_slots: u32,
    /// Made when first needed (prefetch looks at it before the chunk runs).
    liveness: Option<Liveness>,
}

/// Allocates a stream of chunks onto `slots` physical slots, writing the allocated stream to
/// a [`Sink`] (a [`Scheduler`] to time it, a `Vec` to run it). See the module docs.
#[derive(Debug)]
pub struct Allocator<S: Sink> {
    sink: S,
    options: AllocOptions,
    buffers: Vec<Buffer>,
    phys: Vec<Phys>,
    free: VecDeque<u32>,
    evictable: BTreeSet<(u8, u64, u32)>,
    homes: HashMap<Loc, u32>,
    window: VecDeque<Pending>,
    window_len: usize,
    /// Next occurrence of the limb each windowed load or store touches (others: unused).
    links: VecDeque<Next>,
    links_base: u64,
    last_seen: HashMap<Loc, u64>,
    freed: Vec<bool>,
    /// Per buffer, the limbs counted as compulsory (bit sets, made on first use).
    counted: Vec<Vec<u64>>,
    enqueued: u64,
    stats: AllocStats,
}

impl<S: Sink> Allocator<S> {
    /// An allocator over `buffers` (the stream's buffer table) writing to `sink`.
    pub fn new(buffers: Vec<Buffer>, options: AllocOptions, sink: S) -> Result<Self> {
        if options.slots == 0 || options.lookahead == 0 {
            return Err(invalid(
                "allocation",
                if options.slots == 0 {
                    "slots"
                } else {
                    "lookahead"
                },
                "must be at least 1",
            ));
        }
        Ok(Allocator {
            sink,
            phys: vec![Phys::default(); options.slots as usize],
            free: (0..options.slots).collect(),
            freed: vec![false; buffers.len()],
            counted: vec![Vec::new(); buffers.len()],
            buffers,
            options,
            evictable: BTreeSet::new(),
            homes: HashMap::default(),
            window: VecDeque::new(),
            window_len: 0,
            links: VecDeque::new(),
            links_base: 0,
            last_seen: HashMap::default(),
            enqueued: 0,
            stats: AllocStats::default(),
        })
    }

    /// Adds a chunk over slots `0 .. local_slots`; allocates earlier chunks once the window
    /// holds more than the lookahead. Errors: a slot, buffer or limb out of range, a load of a
    /// freed buffer, and any error of allocating (see [`Allocator::finish`]).
    pub fn push_chunk(&mut self, instructions: Vec<Instruction>, local_slots: u32) -> Result<()> {
        let first = self.enqueued;
        for (i, ins) in instructions.iter().enumerate() {
            let pos = first + i as u64;
            self.enqueue(pos, ins, local_slots)?;
        }
        self.enqueued += instructions.len() as u64;
        self.window_len += instructions.len();
        self.window.push_back(Pending {
            instructions,
            first,
            local_slots,
            liveness: None,
        });
        while self.window_len > self.options.lookahead && self.window.len() > 1 {
            self.process_front()?;
        }
        Ok(())
    }

    /// Allocates what is left, writes back every dirty copy still on chip, and returns the
    /// sink and the statistics.
    pub fn finish(mut self) -> Result<(S, AllocStats)> {
        while !self.window.is_empty() {
            self.process_front()?;
        }
        for p in 0..self.phys.len() {
            let homes = std::mem::take(&mut self.phys[p].homes);
            for h in homes {
                if h.dirty {
                    self.write_back(p as u32, h.loc)?;
                    self.stats.final_writebacks += 1;
                }
            }
        }
        Ok((self.sink, self.stats))
    }

    fn stream_error(&self, pos: u64, field: &str, reason: String) -> SimError {
        invalid("stream", format!("instructions[{pos}].{field}"), reason)
    }

    fn check_loc(&self, pos: u64, buffer: u32, limb: u32) -> Result<()> {
        let b = self.buffers.get(buffer as usize).ok_or_else(|| {
            self.stream_error(
                pos,
                "buffer",
                format!("buffer {buffer} is outside [0, {})", self.buffers.len()),
            )
        })?;
        if limb >= b.limbs {
            return Err(self.stream_error(
                pos,
                "limb",
                format!(
                    "limb {limb} is outside [0, {}) of buffer `{}`",
                    b.limbs, b.name
                ),
            ));
        }
        Ok(())
    }

    /// Checks one instruction and links its limb to the previous occurrence.
    fn enqueue(&mut self, pos: u64, ins: &Instruction, local_slots: u32) -> Result<()> {
        let mut bad = None;
        for_reads(ins, |s| bad = bad.or((s >= local_slots).then_some(s)));
        for_writes(ins, |s| bad = bad.or((s >= local_slots).then_some(s)));
        if let Some(s) = bad {
            return Err(self.stream_error(
                pos,
                ins.name(),
                format!("slot {s} is outside the chunk's [0, {local_slots})"),
            ));
        }
        self.links.push_back(NO_NEXT);
        let (buffer, limb, is_store) = match *ins {
            Instruction::Load { buffer, limb, .. } => (buffer, limb, false),
            Instruction::Store { buffer, limb, .. } => (buffer, limb, true),
            Instruction::Free { buffer } => {
                self.check_loc(pos, buffer, 0)?;
                self.freed[buffer as usize] = true;
                for l in 0..self.buffers[buffer as usize].limbs {
                    self.last_seen.remove(&loc(buffer, l));
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        self.check_loc(pos, buffer, limb)?;
        if is_store {
            // a store makes a freed buffer live again (reuse)
            self.freed[buffer as usize] = false;
        } else if self.freed[buffer as usize] {
            return Err(SimError::ReadAfterFree {
                source_name: "stream".into(),
                instruction: pos,
                buffer: self.buffers[buffer as usize].name.clone(),
            });
        }
        let here = loc(buffer, limb);
        let next = Next { pos, is_store };
        if let Some(prev) = self.last_seen.insert(here, pos) {
            if prev >= self.links_base {
                self.links[(prev - self.links_base) as usize] = next;
            } else if let Some(&p) = self.homes.get(&here) {
                // Its last occurrence is already allocated: the copy on chip learns its next.
                self.update_home(p, here, |h| {
                    if h.next == NO_NEXT {
                        h.next = next
                    }
                });
            }
        }
        Ok(())
    }

    fn update_home(&mut self, p: u32, at: Loc, f: impl FnOnce(&mut Home)) {
        if let Some(h) = self.phys[p as usize].homes.iter_mut().find(|h| h.loc == at) {
            f(h);
        }
        self.settle(p);
    }

    /// Puts `p` where it belongs: free (nothing on it), evictable (only buffer copies, keyed
    /// by its most urgent copy), or pinned (values of the current chunk).
    fn settle(&mut self, p: u32) {
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

    fn write_back(&mut self, p: u32, at: Loc) -> Result<()> {
        self.sink.emit(Instruction::Store {
            src: p,
            buffer: (at >> 32) as u32,
            limb: at as u32,
        })?;
        self.stats.output_instructions += 1;
        Ok(())
    }

    /// A free physical slot, evicting the copy needed last when none is free.
    fn obtain(&mut self, pos: u64) -> Result<u32> {
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
    fn fill(&mut self, pos: u64, buffer: u32, limb: u32, next: Next) -> Result<u32> {
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

    fn attach(&mut self, p: u32) {
        self.phys[p as usize].regs += 1;
        self.settle(p);
    }

    fn detach(&mut self, p: u32) {
        self.phys[p as usize].regs -= 1;
        self.settle(p);
    }

    fn emit(&mut self, ins: Instruction) -> Result<()> {
        self.stats.output_instructions += 1;
        self.sink.emit(ins)
    }

    fn count_compulsory(&mut self, buffer: u32, limb: u32, store: bool) {
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

    fn process_front(&mut self) -> Result<()> {
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

/// The name of the `k`-th source operand of `ins` (as [`for_reads`] visits them).
fn read_operand(ins: &Instruction, k: usize) -> String {
    use Instruction::*;
    match ins {
        Store { .. } | Copy { .. } | Automorph { .. } => "src".into(),
        Ntt { .. } | Intt { .. } => "slot".into(),
        Add { .. } | Sub { .. } | Mul { .. } => ["a", "b"][k.min(1)].into(),
        AddScalar { .. } | MulScalar { .. } => "a".into(),
        Mac { .. } => ["acc", "a", "b"][k.min(2)].into(),
        Bconv { .. } => format!("src[{k}]"),
        Load { .. } | Free { .. } => String::new(),
    }
}

/// `ins` with its sources replaced by `sources` and its destinations by `targets`, both in
/// the order [`for_reads`] and [`for_writes`] visit them.
fn remap(ins: &Instruction, sources: &[Slot], targets: &[Slot]) -> Instruction {
    use Instruction::*;
    let (r, w) = (sources, targets);
    match ins.clone() {
        Ntt { modulus, .. } => Ntt {
            slot: w[0],
            modulus,
        },
        Intt { modulus, .. } => Intt {
            slot: w[0],
            modulus,
        },
        Add { modulus, .. } => Add {
            dst: w[0],
            a: r[0],
            b: r[1],
            modulus,
        },
        Sub { modulus, .. } => Sub {
            dst: w[0],
            a: r[0],
            b: r[1],
            modulus,
        },
        Mul { modulus, .. } => Mul {
            dst: w[0],
            a: r[0],
            b: r[1],
            modulus,
        },
        AddScalar {
            scalar, modulus, ..
        } => AddScalar {
            dst: w[0],
            a: r[0],
            scalar,
            modulus,
        },
        MulScalar {
            scalar, modulus, ..
        } => MulScalar {
            dst: w[0],
            a: r[0],
            scalar,
            modulus,
        },
        Mac { modulus, .. } => Mac {
            acc: w[0],
            a: r[1],
            b: r[2],
            modulus,
        },
        Automorph {
            galois,
            form,
            modulus,
            ..
        } => Automorph {
            dst: w[0],
            src: r[0],
            galois,
            form,
            modulus,
        },
        Bconv {
            from, to, centered, ..
        } => Bconv {
            src: r.to_vec(),
            from,
            dst: w.to_vec(),
            to,
            centered,
        },
        Copy { .. } => Copy {
            dst: w[0],
            src: r[0],
        },
        other @ (Load { .. } | Store { .. } | Free { .. }) => other,
    }
}

/// Per instruction of a chunk: which sources die there and which destinations are never read.
#[derive(Debug)]
struct Liveness {
    read_start: Vec<u32>,
    dies: Vec<bool>,
    write_start: Vec<u32>,
    dead_writes: Vec<bool>,
}

impl Liveness {
    fn of(instructions: &[Instruction], slots: usize) -> Self {
        let (mut read_start, mut write_start) = (Vec::new(), Vec::new());
        let (mut reads, mut writes) = (0u32, 0u32);
        for ins in instructions {
            read_start.push(reads);
            write_start.push(writes);
            for_reads(ins, |_| reads += 1);
            for_writes(ins, |_| writes += 1);
        }
        let mut dies = vec![false; reads as usize];
        let mut dead_writes = vec![false; writes as usize];
        let mut live = vec![false; slots];
        let mut written = Vec::new();
        for (i, ins) in instructions.iter().enumerate().rev() {
            written.clear();
            for_writes(ins, |s| written.push(s));
            for (k, &s) in written.iter().enumerate() {
                dead_writes[write_start[i] as usize + k] = !live[s as usize];
            }
            let mut k = read_start[i] as usize;
            for_reads(ins, |s| {
                dies[k] = written.contains(&s) || !live[s as usize];
                k += 1;
            });
            for &s in &written {
                live[s as usize] = false;
            }
            for_reads(ins, |s| live[s as usize] = true);
        }
        Liveness {
            read_start,
            dies,
            write_start,
            dead_writes,
        }
    }

    fn dies(&self, i: usize, k: usize) -> bool {
        self.dies[self.read_start[i] as usize + k]
    }

    fn dead_write(&self, i: usize, k: usize) -> bool {
        self.dead_writes[self.write_start[i] as usize + k]
    }
}
