//! Basis conversions on the core: the conversion tables a core is generated with
//! ([`CoreConversion`]), the multi-entry `bconv` instruction that names one of them with its
//! slots ([`bconv_entries`]), and its cycle count.
//!
//! A `bconv` is one head entry in the instruction queue, `op = BCONV`, the table index in
//! the modulus field, then `ceil((K + L) / 7)` extension entries (`op = EXT`) carrying the
//! `K` source slots then the `L` destination slots, seven per entry:
//! `word0 = EXT | s0 << 8 | s1 << 16 | s2 << 24`, `word1 = s3 | s4 << 8 | s5 << 16 | s6 << 24`
//! (unused bytes zero). The core reads one extension entry per cycle after the head.

use crate::bconv::{BconvConstants, BconvUnit};
use crate::params::HdlError;

use super::{opcode, CoreGeometry, CoreInstr};

/// Slots carried by one extension entry.
pub const SLOTS_PER_EXTENSION: usize = 7;

/// One basis conversion a core is generated for: source and target primes (indices into the
/// core's primes), and whether it is the exact-centered variant. The core holds one
/// [`BconvUnit`] per conversion and row lane, with its constants in ROM (a core is generated
/// for the conversions of the programs it runs, as for its primes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoreConversion {
    /// Source prime indices, 1 to [`BconvConstants::MAX_FROM`], distinct.
    pub from: Vec<u32>,
    /// Target prime indices, 1 to [`CoreConversion::MAX_TO`], distinct.
    pub to: Vec<u32>,
    /// Exact-centered ([`BconvConstants::centered`]) or approximate.
    pub centered: bool,
}

impl CoreConversion {
    /// Most targets of one conversion on the core.
    pub const MAX_TO: usize = 16;

    /// The conversion's constants on the primes of `geo`, validated: indices below the
    /// number of primes, sources and targets each distinct, 1 to 16 of each.
    pub fn constants(&self, geo: &CoreGeometry) -> Result<BconvConstants, HdlError> {
        let bad = |field: &str, value: u64, reason: String| HdlError::InvalidParameter {
            field: field.into(),
            value,
            reason,
        };
        let primes = geo.primes();
        let pick = |field: &str, list: &[u32], max: usize| {
            if list.is_empty() || list.len() > max {
                return Err(bad(
                    field,
                    list.len() as u64,
                    format!("a conversion on the core has 1 to {max}"),
                ));
            }
            list.iter()
                .enumerate()
                .map(|(k, &m)| {
                    if m as usize >= primes.len() {
                        Err(bad(
                            field,
                            m as u64,
                            format!("the core holds {} primes", primes.len()),
                        ))
                    } else if list[..k].contains(&m) {
                        Err(bad(field, m as u64, "appears twice".into()))
                    } else {
                        Ok(primes[m as usize])
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let from = pick("from", &self.from, BconvConstants::MAX_FROM)?;
        let to = pick("to", &self.to, Self::MAX_TO)?;
        let c = BconvConstants::new(&from, &to, 32)?;
        Ok(if self.centered { c.centered() } else { c })
    }

    /// Extension entries after the head: `ceil((K + L) / 7)`.
    pub fn extension_entries(&self) -> usize {
        (self.from.len() + self.to.len()).div_ceil(SLOTS_PER_EXTENSION)
    }

    /// Latency of its unit ([`BconvUnit::latency_for`] or `centered_latency_for`).
    pub fn latency(&self) -> usize {
        if self.centered {
            BconvUnit::<32>::centered_latency_for(self.from.len())
        } else {
            BconvUnit::<32>::latency_for(self.from.len())
        }
    }
}

/// The queue entries of a `bconv` by table `table` of `geo` from slots `src` (one per source
/// prime, in the table's order) to slots `dst` (one per target): the head, then the
/// extension entries. Errors: an unknown table, list lengths other than the table's, a slot
/// `>= S`, a destination slot named twice.
pub fn bconv_entries(
    geo: &CoreGeometry,
    table: u32,
    src: &[u32],
    dst: &[u32],
) -> Result<Vec<CoreInstr>, HdlError> {
    let bad = |field: &str, value: u64, reason: String| HdlError::InvalidParameter {
        field: field.into(),
        value,
        reason,
    };
    let conv = geo.conversions().get(table as usize).ok_or_else(|| {
        bad(
            "table",
            table as u64,
            format!("the core holds {} conversions", geo.conversions().len()),
        )
    })?;
    if src.len() != conv.from.len() || dst.len() != conv.to.len() {
        return Err(bad(
            "slots",
            (src.len() + dst.len()) as u64,
            format!(
                "conversion {table} takes {} source and {} destination slots",
                conv.from.len(),
                conv.to.len()
            ),
        ));
    }
    if let Some((k, &s)) = dst.iter().enumerate().find(|&(k, s)| dst[..k].contains(s)) {
        return Err(bad(
            "dst",
            s as u64,
            format!("destination slot {s} appears twice (positions {k} and before)"),
        ));
    }
    let slots: Vec<u32> = src.iter().chain(dst).copied().collect();
    if let Some(&s) = slots.iter().find(|&&s| s as usize >= geo.slots()) {
        return Err(bad(
            "slot",
            s as u64,
            format!("the core has {} slots", geo.slots()),
        ));
    }
    let mut entries = vec![CoreInstr {
        op: opcode::BCONV,
        modulus: table,
        dst: 0,
        a: 0,
        b: 0,
        imm: 0,
    }];
    for chunk in slots.chunks(SLOTS_PER_EXTENSION) {
        let byte = |k: usize| chunk.get(k).copied().unwrap_or(0);
        entries.push(CoreInstr {
            op: opcode::EXT,
            modulus: 0,
            dst: byte(0),
            a: byte(1),
            b: byte(2),
            imm: byte(3) | byte(4) << 8 | byte(5) << 16 | byte(6) << 24,
        });
    }
    Ok(entries)
}

/// The slots an extension entry carries, in order (seven).
pub fn extension_slots(ins: &CoreInstr) -> [u32; SLOTS_PER_EXTENSION] {
    [
        ins.dst,
        ins.a,
        ins.b,
        ins.imm & 255,
        (ins.imm >> 8) & 255,
        (ins.imm >> 16) & 255,
        ins.imm >> 24,
    ]
}
