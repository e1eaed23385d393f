//! Support of the `fuzz_*` tests (issue 22): structured mutations of valid inputs (bytes and
//! text), and a global allocator that records the largest single allocation, so that a test
//! can check that no reader allocates in proportion to a corrupt length field.
//!
//! A dev-dependency of every crate with a parser; a test binary installs [`Counting`] as its
//! `#[global_allocator]` to use [`measure`].
#![warn(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use proptest::prelude::*;

/// Cases per parser and run.
pub const CASES: u32 = 10_000;

/// The proptest configuration of every fuzz test: [`CASES`] cases, shrinking bounded in time,
/// failures reported (with the minimal input) rather than persisted.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        max_shrink_time: 30_000,
        failure_persistence: None,
        ..ProptestConfig::with_cases(CASES)
    }
}

/// Runs a property over [`CASES`] inputs of the strategy `make` returns, holding
/// [`exclusive`] throughout (the strategy's own set-up included), so that [`measure`] sees the
/// allocations of this test alone. Panics with the minimal failing input.
pub fn run<S: Strategy>(
    make: impl FnOnce() -> S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let _serial = exclusive();
    let strategy = make();
    let mut runner = proptest::test_runner::TestRunner::new(config());
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Allocation tracking

/// Wraps the system allocator and records the largest single request since [`measure`] began.
#[derive(Debug)]
pub struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

// SAFETY: every call is forwarded unchanged to `System`; only a counter is updated besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the one of `System.alloc`.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Serializes the tests of one binary that measure allocations (the counter is global);
/// hold the guard for the whole property ([`run`] does).
pub fn exclusive() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` and returns its result with the largest single allocation made meanwhile (by any
/// thread: hold [`exclusive`]).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.store(0, Ordering::Relaxed);
    let out = f();
    (out, LARGEST.load(Ordering::Relaxed))
}

/// The largest single allocation a binary reader may make for an input of `len` bytes: a
/// fixed 1 MiB (decoder buffers, tables) plus 64 bytes per input byte. A reader that trusts a
/// corrupt length or count field (`Vec::with_capacity(declared)`) exceeds it by orders of
/// magnitude.
pub fn allocation_limit(len: usize) -> usize {
    (1 << 20) + 64 * len
}

/// As [`allocation_limit`] for text parsers, with 1 KiB per input byte: `toml` keeps a
/// document tree of several hundred bytes per list entry (measured: 8 MiB, after doubling,
/// for a list of 4,600 entries in 18 KiB of text).
pub fn text_allocation_limit(len: usize) -> usize {
    (1 << 20) + 1024 * len
}

// ---------------------------------------------------------------------------------------------
// Byte mutations

/// Values written over length and count fields.
const INTERESTING: [u64; 14] = [
    0,
    1,
    2,
    0x7f,
    0xff,
    0x100,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// One edit of a byte string; positions are taken modulo the current length.
#[derive(Clone, Debug)]
pub enum Edit {
    /// Keep the first `n` bytes.
    Truncate(usize),
    /// XOR one byte with a non-zero mask.
    Flip(usize, u8),
    /// Write a 1-, 2-, 4- or 8-byte integer, little- or big-endian (a length field changed).
    Word {
        /// Offset of the first byte.
        at: usize,
        /// The value written (its low `width` bytes).
        value: u64,
        /// Bytes written: 1, 2, 4 or 8.
        width: usize,
        /// Byte order.
        big_endian: bool,
    },
    /// Insert bytes.
    Insert(usize, Vec<u8>),
    /// Remove up to `len` bytes.
    Remove(usize, usize),
    /// Repeat up to `len` bytes in place (a field duplicated).
    Duplicate(usize, usize),
}

/// One [`Edit`] with positions, values and lengths drawn as fuzzing needs them.
pub fn edit_strategy() -> impl Strategy<Value = Edit> {
    let value = prop_oneof![
        3 => prop::sample::select(&INTERESTING[..]),
        1 => any::<u64>(),
        1 => 0u64..4096,
    ];
    prop_oneof![
        1 => any::<usize>().prop_map(Edit::Truncate),
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Edit::Flip(at, mask)),
        4 => (any::<usize>(), value, prop::sample::select(&[1usize, 2, 4, 8][..]), any::<bool>())
            .prop_map(|(at, value, width, big_endian)| Edit::Word { at, value, width, big_endian }),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| Edit::Remove(at, len)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| Edit::Duplicate(at, len)),
    ]
}

/// Applies `edit` to `bytes`.
pub fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    let len = bytes.len();
    match edit {
        Edit::Truncate(n) => bytes.truncate(n % (len + 1)),
        Edit::Flip(i, mask) => {
            if len > 0 {
                bytes[at(*i, len)] ^= mask;
            }
        }
        Edit::Word {
            at: i,
            value,
            width,
            big_endian,
        } => {
            let le = value.to_le_bytes();
            let word: Vec<u8> = if *big_endian {
                le[..*width].iter().rev().copied().collect()
            } else {
                le[..*width].to_vec()
            };
            let start = at(*i, len);
            for (k, b) in word.into_iter().enumerate() {
                match bytes.get_mut(start + k) {
                    Some(slot) => *slot = b,
                    None => bytes.push(b),
                }
            }
        }
        Edit::Insert(i, new) => {
            let start = at(*i, len + 1);
            bytes.splice(start..start, new.iter().copied());
        }
        Edit::Remove(i, n) => {
            let start = at(*i, len);
            let end = (start + n).min(len);
            bytes.drain(start..end);
        }
        Edit::Duplicate(i, n) => {
            let start = at(*i, len);
            let end = (start + n).min(len);
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
        }
    }
}

/// `seed` with one to four [`Edit`]s.
pub fn edited(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(edit_strategy(), 1..5).prop_map(move |edits| {
        let mut bytes = seed.clone();
        for e in &edits {
            apply(&mut bytes, e);
        }
        bytes
    })
}

/// Mostly edits of one of `seeds` (chosen by the case), sometimes random bytes of up to twice
/// the longest seed's length.
pub fn mutated_bytes(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let longest = seeds.iter().map(Vec::len).max().unwrap_or(64);
    let edited_seed = prop::sample::select(seeds).prop_flat_map(edited);
    prop_oneof![
        9 => edited_seed,
        1 => prop::collection::vec(any::<u8>(), 0..2 * longest + 1),
    ]
}

// ---------------------------------------------------------------------------------------------
// Text mutations (line- and token-level), for JSON, TOML and text reports

/// Tokens written over numbers and values: big, negative, fractional, retyped.
const TOKENS: [&str; 22] = [
    "0",
    "1",
    "-1",
    "255",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "281474976710657",
    "99999999999999999999999999999",
    "1e308",
    "3.5",
    "NaN",
    "\"13\"",
    "\"\"",
    "[]",
    "[1, 2, 3]",
    "{}",
    "null",
    "true",
    "=== x ===",
];

/// One edit of a text.
#[derive(Clone, Debug)]
pub enum TextEdit {
    /// Drop line `i`.
    DropLine(usize),
    /// Repeat line `i` (a field duplicated).
    DuplicateLine(usize),
    /// Swap two lines.
    SwapLines(usize, usize),
    /// Replace the `k`-th run of digits by a token (a value changed or retyped).
    Number(usize, &'static str),
    /// Replace line `i` by a token.
    ReplaceLine(usize, &'static str),
    /// Change line `i`'s indentation to `n` spaces.
    Indent(usize, usize),
    /// Repeat the `k`-th run of digits `n` times inside a list (`x` -> `x, x, x`).
    Repeat(usize, usize),
    /// A byte-level edit.
    Bytes(Edit),
}

fn text_edit() -> impl Strategy<Value = TextEdit> {
    let token = prop::sample::select(&TOKENS[..]);
    prop_oneof![
        2 => any::<usize>().prop_map(TextEdit::DropLine),
        2 => any::<usize>().prop_map(TextEdit::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| TextEdit::SwapLines(a, b)),
        4 => (any::<usize>(), token.clone()).prop_map(|(k, t)| TextEdit::Number(k, t)),
        1 => (any::<usize>(), token).prop_map(|(i, t)| TextEdit::ReplaceLine(i, t)),
        1 => (any::<usize>(), 0usize..12).prop_map(|(i, n)| TextEdit::Indent(i, n)),
        1 => (any::<usize>(), 1usize..400).prop_map(|(k, n)| TextEdit::Repeat(k, n)),
        2 => edit_strategy().prop_map(TextEdit::Bytes),
    ]
}

/// Byte ranges of the runs of ASCII digits in `text`.
fn digit_runs(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    runs
}

/// Applies `edit` to `text`.
pub fn apply_text(text: &mut String, edit: &TextEdit) {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len();
    let line_edit = |lines: &mut Vec<String>| -> String { lines.join("\n") + "\n" };
    match edit {
        TextEdit::DropLine(i) if n > 0 => {
            lines.remove(i % n);
            *text = line_edit(&mut lines);
        }
        TextEdit::DuplicateLine(i) if n > 0 => {
            let line = lines[i % n].clone();
            lines.insert(i % n, line);
            *text = line_edit(&mut lines);
        }
        TextEdit::SwapLines(a, b) if n > 0 => {
            lines.swap(a % n, b % n);
            *text = line_edit(&mut lines);
        }
        TextEdit::ReplaceLine(i, token) if n > 0 => {
            lines[i % n] = token.to_string();
            *text = line_edit(&mut lines);
        }
        TextEdit::Indent(i, spaces) if n > 0 => {
            let line = &mut lines[i % n];
            *line = format!("{}{}", " ".repeat(*spaces), line.trim_start());
            *text = line_edit(&mut lines);
        }
        TextEdit::Number(k, token) => {
            let runs = digit_runs(text);
            if !runs.is_empty() {
                let (start, end) = runs[k % runs.len()];
                text.replace_range(start..end, token);
            }
        }
        TextEdit::Repeat(k, times) => {
            let runs = digit_runs(text);
            if !runs.is_empty() {
                let (start, end) = runs[k % runs.len()];
                let value = text[start..end].to_string();
                let repeated = vec![value; *times].join(", ");
                text.replace_range(start..end, &repeated);
            }
        }
        TextEdit::Bytes(e) => {
            let mut bytes = std::mem::take(text).into_bytes();
            apply(&mut bytes, e);
            *text = String::from_utf8_lossy(&bytes).into_owned();
        }
        _ => {}
    }
}

/// Mostly one to four [`TextEdit`]s of one of `seeds`, sometimes random printable text.
pub fn mutated_text(seeds: Vec<String>) -> impl Strategy<Value = String> {
    let edited_seed = prop::sample::select(seeds).prop_flat_map(|seed| {
        prop::collection::vec(text_edit(), 1..5).prop_map(move |edits| {
            let mut text = seed.clone();
            for e in &edits {
                apply_text(&mut text, e);
            }
            text
        })
    });
    prop_oneof![
        9 => edited_seed,
        1 => "[ -~\n]{0,300}",
    ]
}
