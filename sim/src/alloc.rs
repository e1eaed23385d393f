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
//!
//! One concern a file: this file holds the types and the intake of the stream (checking each
//! chunk and linking each limb to its next use); the scratchpad as a cache of buffer limbs
//! (slot bookkeeping, eviction, fills and write-backs) is in `alloc/cache.rs`, allocating a
//! chunk's instructions and prefetching in `alloc/chunk.rs`, and the per-chunk analysis
//! (liveness, operand renaming) in `alloc/rewrite.rs`.

use std::collections::{BTreeSet, VecDeque};

use rustc_hash::FxHashMap as HashMap;

use serde::Serialize;

use crate::error::{invalid, Result, SimError};
use crate::isa::{Buffer, Instruction};
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
}

mod cache;
mod chunk;
mod rewrite;

use rewrite::Liveness;
