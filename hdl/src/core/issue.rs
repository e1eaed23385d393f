//! How the core issues instructions: its engines, the scratchpad slots each instruction
//! locks, and the exact cycle schedule of a program ([`program_cycles`]).
//!
//! See [`CoreIssue`] for the rules.

use super::{bconv_cycles, cycles_of, extension_slots, opcode, CoreGeometry, CoreInstr};

/// How a core issues instructions.
///
/// The core has five **engines**, each running one instruction at a time: the stream engine
/// (`load`, `store`), the element-wise engine, the NTT engine, the automorphism engine and
/// the basis-conversion engine ([`Engine`]). A dispatcher takes the queue's entries in
/// program order, at most one a cycle. With [`CoreIssue::Overlapped`] it hands an
/// instruction to its engine as soon as the engine is idle and none of the slots the
/// instruction names ([`locked_slots`]) is held by a running instruction (a **scoreboard**
/// of one owner per slot: every slot has one read and one write port, so a slot serves one
/// engine at a time); the instruction holds its engine and its slots until its last result is
/// written. A stalled entry stalls the ones behind it (in-order issue, out-of-order
/// completion). With [`CoreIssue::InOrder`] it also waits for every engine to be idle: one
/// instruction at a time, `2 + sum entry_cycles` for a program.
///
/// A `bconv`'s head waits for the conversion engine; its extension entries are read one a
/// cycle, each waiting until the slots it names are free (or already held by this `bconv`),
/// and the engine starts the cycle after the last one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CoreIssue {
    /// One instruction at a time: each waits until every engine is idle.
    InOrder,
    /// Independent instructions on different engines run at the same time (the default).
    #[default]
    Overlapped,
}

impl CoreIssue {
    /// `"in-order"` or `"overlapped"`.
    pub fn name(self) -> &'static str {
        match self {
            CoreIssue::InOrder => "in-order",
            CoreIssue::Overlapped => "overlapped",
        }
    }
}

/// The engines of the core, numbered as the owner of a slot in the scoreboard (`0` is no
/// owner).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// `load` and `store` (the AXI4-Stream ports).
    Stream = 1,
    /// Element-wise operations (`add` ... `copy`).
    ElementWise = 2,
    /// `ntt`, `intt`.
    Ntt = 3,
    /// `automorph`.
    Automorph = 4,
    /// `bconv`.
    Bconv = 5,
}

impl Engine {
    /// The engines in owner-number order.
    pub const ALL: [Engine; 5] = [
        Engine::Stream,
        Engine::ElementWise,
        Engine::Ntt,
        Engine::Automorph,
        Engine::Bconv,
    ];

    /// The engine that runs opcode `op` (an extension entry belongs to its `bconv`).
    pub fn of(op: u32) -> Engine {
        match op {
            opcode::LOAD | opcode::STORE => Engine::Stream,
            opcode::NTT | opcode::INTT => Engine::Ntt,
            opcode::AUTOMORPH => Engine::Automorph,
            opcode::BCONV | opcode::EXT => Engine::Bconv,
            _ => Engine::ElementWise,
        }
    }

    /// Its owner number in `[1, 5]`.
    pub fn id(self) -> usize {
        self as usize
    }
}

/// Which of `dst`, `a`, `b` a one-entry instruction names as slots it reads or writes (and
/// so locks): `load` its `dst`, `store` its `a`, `add`/`sub`/`mul`/`mac` all three, every
/// other opcode `dst` and `a` (`ntt`/`intt` name their slot in both).
pub fn uses_fields(op: u32) -> [bool; 3] {
    match op {
        opcode::LOAD => [true, false, false],
        opcode::STORE => [false, true, false],
        opcode::ADD | opcode::SUB | opcode::MUL | opcode::MAC => [true, true, true],
        _ => [true, true, false],
    }
}

/// The slots a one-entry instruction locks while it runs ([`uses_fields`]; a slot named twice
/// appears twice).
pub fn locked_slots(ins: &CoreInstr) -> Vec<u32> {
    uses_fields(ins.op)
        .iter()
        .zip([ins.dst, ins.a, ins.b])
        .filter(|(used, _)| **used)
        .map(|(_, s)| s)
        .collect()
}

/// Cycles an engine spends on an instruction after its dispatch cycle, without stream
/// stalls: [`cycles_of`] minus the fetch; a `bconv` by `c`, [`bconv_cycles`] minus the fetch
/// and its extension entries.
fn engine_cycles(geo: &CoreGeometry, ins: &CoreInstr) -> usize {
    match ins.op {
        opcode::BCONV => geo
            .conversions()
            .get(ins.modulus as usize)
            .map_or(0, |c| bconv_cycles(geo, c) - 1 - c.extension_entries()),
        op => cycles_of(geo, op) - 1,
    }
}

/// Cycles of a whole run of queue entries `entries` on `geo` without stream stalls, under
/// `geo`'s issue policy ([`CoreGeometry::issue`]): for [`CoreIssue::InOrder`]
/// `2 + sum entry_cycles`; for [`CoreIssue::Overlapped`] the scoreboard schedule of
/// [`CoreIssue`]. Meaningful for well-formed programs (every `bconv` head
/// followed by its extension entries); a malformed tail counts as far as it goes.
pub fn program_cycles(geo: &CoreGeometry, entries: &[CoreInstr]) -> usize {
    let in_order = geo.issue() == CoreIssue::InOrder;
    // Cycle numbers: the start edge is cycle 0, the first dispatch cycle 1. An engine given
    // an instruction at cycle `t` runs in `t + 1 ..= t + e` and is idle (its slots free) from
    // `t + e + 1`.
    let mut dispatch = 1usize;
    let mut engine_free = [0usize; 6];
    let mut slot_free = vec![0usize; geo.slots()];
    let free_at = |slots: &[u32], slot_free: &[usize]| {
        slots
            .iter()
            .map(|&s| slot_free.get(s as usize).copied().unwrap_or(0))
            .max()
            .unwrap_or(0)
    };
    let mut i = 0;
    while i < entries.len() {
        let ins = &entries[i];
        let engine = Engine::of(ins.op).id();
        let all_free = *engine_free.iter().max().expect("six entries");
        let mut t = dispatch.max(engine_free[engine]);
        if in_order {
            t = t.max(all_free);
        }
        let (slots, consumed) = if ins.op == opcode::BCONV {
            let Some(c) = geo.conversions().get(ins.modulus as usize) else {
                break;
            };
            let count = c.from.len() + c.to.len();
            let mut slots = Vec::new();
            let mut taken = 0;
            for k in 0..c.extension_entries() {
                let Some(ext) = entries.get(i + 1 + k) else {
                    break;
                };
                let named: Vec<u32> = extension_slots(ext)
                    .iter()
                    .take(count - k * super::SLOTS_PER_EXTENSION)
                    .copied()
                    .collect();
                t = (t + 1).max(free_at(&named, &slot_free));
                slots.extend(named);
                taken += 1;
            }
            (slots, 1 + taken)
        } else {
            let slots = locked_slots(ins);
            t = t.max(free_at(&slots, &slot_free));
            (slots, 1)
        };
        let idle = t + engine_cycles(geo, ins) + 1;
        engine_free[engine] = idle;
        for &s in &slots {
            if let Some(f) = slot_free.get_mut(s as usize) {
                *f = idle;
            }
        }
        dispatch = t + 1;
        i += consumed;
    }
    // The dispatch cycle that finds the queue empty and every engine idle, then its edge.
    dispatch.max(*engine_free.iter().max().expect("six entries")) + 1
}
