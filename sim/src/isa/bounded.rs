//! Deserializers of the program's lists that stop at the list's limit: a declared length
//! (binary) over the limit is refused before any element is read, and a list (JSON) is
//! refused at its first element past the limit.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Error, SeqAccess, Visitor};

use super::{Buffer, Instruction, ModulusIndex, Slot};
use super::{MAX_BUFFERS, MAX_INSTRUCTIONS, MAX_MODULI};

struct Bounded<T> {
    field: &'static str,
    limit: usize,
    marker: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Bounded<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of at most {} elements", self.limit)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let declared = seq.size_hint();
        if let Some(n) = declared.filter(|&n| n > self.limit) {
            return Err(A::Error::custom(format!(
                "`{}` declares {n} elements, more than the limit of {}",
                self.field, self.limit
            )));
        }
        // Never more capacity up front than the limit or a few pages.
        let mut out = Vec::with_capacity(declared.unwrap_or(0).min(self.limit).min(4096));
        while let Some(x) = seq.next_element()? {
            if out.len() == self.limit {
                return Err(A::Error::custom(format!(
                    "`{}` has more than the limit of {} elements",
                    self.field, self.limit
                )));
            }
            out.push(x);
        }
        Ok(out)
    }
}

fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    field: &'static str,
    limit: usize,
) -> Result<Vec<T>, D::Error> {
    d.deserialize_seq(Bounded {
        field,
        limit,
        marker: PhantomData,
    })
}

pub(super) fn moduli<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    list(d, "moduli", MAX_MODULI)
}

pub(super) fn buffers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Buffer>, D::Error> {
    list(d, "buffers", MAX_BUFFERS)
}

pub(super) fn instructions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Instruction>, D::Error> {
    list(d, "instructions", MAX_INSTRUCTIONS)
}

pub(super) fn bconv_slots<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Slot>, D::Error> {
    list(d, "bconv slots", MAX_MODULI)
}

pub(super) fn bconv_moduli<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ModulusIndex>, D::Error> {
    list(d, "bconv moduli", MAX_MODULI)
}
