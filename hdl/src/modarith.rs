//! Modular adder, subtractor and multiplier for one prime `q < 2^(W-2)` on `W`-bit words.
//!
//! The adder and subtractor are `#[hdl_gen]` blocks generic over `W`, written with every
//! operand already at the width of the result, so that rust-hdl's simulation and the emitted
//! Verilog compute the same values (see `docs/DESIGN.md`). The multiplier's limb structure depends
//! on `W` (see [`MulLimbs`]), which an `#[hdl_gen]` kernel cannot express, so it is a custom
//! rust-hdl `Logic` (as rust-hdl's own RAM/ROM widgets, and the NTT unit): a register-exact
//! Rust model and a Verilog body generated from one description of its partial products.

use std::fmt::Write as _;

use rust_hdl::prelude::*;

use crate::params::Prime;

/// `(a + b) mod q` on `W`-bit words, registered: inputs `a, b` in `[0, q)`, output `y` in
/// `[0, q)`, [`ModAdd::LATENCY`] cycles later; one result per cycle.
#[derive(LogicBlock, Debug)]
pub struct ModAdd<const W: usize = 32> {
    /// Clock of the output register.
    pub clock: Signal<In, Clock>,
    /// First operand, in `[0, q)`.
    pub a: Signal<In, Bits<W>>,
    /// Second operand, in `[0, q)`.
    pub b: Signal<In, Bits<W>>,
    /// `(a + b) mod q`, in `[0, q)`.
    pub y: Signal<Out, Bits<W>>,
    q: Constant<Bits<W>>,
    sum: Signal<Local, Bits<W>>,
    out: DFF<Bits<W>>,
}

impl<const W: usize> ModAdd<W> {
    /// Pipeline latency in cycles.
    pub const LATENCY: usize = 1;
    /// Results per cycle.
    pub const THROUGHPUT: usize = 1;

    /// The adder for prime `q`. Panics unless `q < 2^(W-2)` (see [`Prime::for_word`]).
    pub fn new(q: Prime) -> Self {
        check_word::<W>(q);
        ModAdd {
            clock: Signal::default(),
            a: Signal::default(),
            b: Signal::default(),
            y: Signal::default(),
            q: Constant::new(q.value().to_bits()),
            sum: Signal::default(),
            out: DFF::default(),
        }
    }
}

impl<const W: usize> Logic for ModAdd<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, out);
        // a + b < 2q < 2^(W-1): no carry out of W bits.
        self.sum.next = self.a.val() + self.b.val();
        if self.sum.val() >= self.q.val() {
            self.out.d.next = self.sum.val() - self.q.val();
        } else {
            self.out.d.next = self.sum.val();
        }
        self.y.next = self.out.q.val();
    }
}

/// `(a - b) mod q` on `W`-bit words, registered: inputs `a, b` in `[0, q)`, output `y` in
/// `[0, q)`, [`ModSub::LATENCY`] cycles later; one result per cycle.
#[derive(LogicBlock, Debug)]
pub struct ModSub<const W: usize = 32> {
    /// Clock of the output register.
    pub clock: Signal<In, Clock>,
    /// Minuend, in `[0, q)`.
    pub a: Signal<In, Bits<W>>,
    /// Subtrahend, in `[0, q)`.
    pub b: Signal<In, Bits<W>>,
    /// `(a - b) mod q`, in `[0, q)`.
    pub y: Signal<Out, Bits<W>>,
    q: Constant<Bits<W>>,
    out: DFF<Bits<W>>,
}

impl<const W: usize> ModSub<W> {
    /// Pipeline latency in cycles.
    pub const LATENCY: usize = 1;
    /// Results per cycle.
    pub const THROUGHPUT: usize = 1;

    /// The subtractor for prime `q`. Panics unless `q < 2^(W-2)`.
    pub fn new(q: Prime) -> Self {
        check_word::<W>(q);
        ModSub {
            clock: Signal::default(),
            a: Signal::default(),
            b: Signal::default(),
            y: Signal::default(),
            q: Constant::new(q.value().to_bits()),
            out: DFF::default(),
        }
    }
}

impl<const W: usize> Logic for ModSub<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, out);
        if self.a.val() >= self.b.val() {
            self.out.d.next = self.a.val() - self.b.val();
        } else {
            // a + q < 2^(W-1): no carry out of W bits.
            self.out.d.next = (self.a.val() + self.q.val()) - self.b.val();
        }
        self.y.next = self.out.q.val();
    }
}

/// Panics unless the block's word `W` is supported and `q < 2^(W-2)`: a programming error
/// (user input is validated by [`Prime::for_word`]).
fn check_word<const W: usize>(q: Prime) {
    assert!(
        crate::SUPPORTED_WORDS.contains(&W),
        "W = {W} is not a supported word"
    );
    assert!(
        q.value() >> (W - 2) == 0,
        "q = {} does not fit W = {W} (q < 2^{})",
        q.value(),
        W - 2
    );
}

/// One 16x16 partial product of a Karatsuba decomposition: `x_i y_i` (`j == i`) or
/// `(x_i + x_j)(y_i + y_j)` (`i < j`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Partial {
    i: usize,
    j: usize,
}

/// Limb decomposition of the `W`-bit Shoup multiplier: operands below `2^L`, `L = W - 2`, cut
/// into `m = ceil(L / 15)` limbs of `k = ceil(L / m) <= 15` bits (limb sums fit 16 bits), and
/// multiplied by one-level Karatsuba: `x_i y_i` for each limb and `(x_i + x_j)(y_i + y_j)` for
/// each pair, so column `c` of the product (weight `2^(k c)`) is
/// `sum_{i+j=c} x_i y_j`, below `2^32` for every supported `W`.
///
/// | W  | L  | m | k  | a w mod 2^W | a w_shoup (full) | Q q mod 2^W | 16x16 products | plain WxW |
/// |----|----|---|----|-------------|------------------|-------------|----------------|-----------|
/// | 32 | 30 | 2 | 15 | 3           | 3                | 3           | 9              | 4         |
/// | 36 | 34 | 3 | 12 | 5           | 6                | 5           | 16             | 9         |
/// | 64 | 62 | 5 | 13 | 11          | 15               | 11          | 37             | 16        |
///
/// The low products keep only the columns below `W` (`k c < W`) and the products they need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MulLimbs {
    /// Machine word `W`.
    pub word: usize,
    /// Limbs `m`.
    pub limbs: usize,
    /// Bits per limb `k`.
    pub limb_bits: usize,
}

impl MulLimbs {
    /// The decomposition for word `word` (`word` in `[32, 64]`).
    pub const fn for_word(word: usize) -> Self {
        let l = word - 2;
        let m = l.div_ceil(15);
        MulLimbs {
            word,
            limbs: m,
            limb_bits: l.div_ceil(m),
        }
    }
    /// Operand bits `L = W - 2`.
    pub const fn operand_bits(&self) -> usize {
        self.word - 2
    }
    /// Columns of the full product: `2m - 1`.
    pub const fn columns(&self) -> usize {
        2 * self.limbs - 1
    }
    /// Columns of a product taken mod `2^W`: those with `k c < W`.
    pub const fn low_columns(&self) -> usize {
        let c = self.word.div_ceil(self.limb_bits);
        if c < self.columns() {
            c
        } else {
            self.columns()
        }
    }
    /// Whether partial product `(i, j)` is needed for the columns below `cols`.
    const fn needed(&self, i: usize, j: usize, cols: usize) -> bool {
        if i < j {
            return i + j < cols;
        }
        // x_i y_i: in its own column, or subtracted from a needed pair's product.
        if 2 * i < cols {
            return true;
        }
        let mut o = 0;
        while o < self.limbs {
            if o != i && i + o < cols {
                return true;
            }
            o += 1;
        }
        false
    }
    const fn count(&self, cols: usize) -> usize {
        let mut n = 0;
        let mut i = 0;
        while i < self.limbs {
            let mut j = i;
            while j < self.limbs {
                if self.needed(i, j, cols) {
                    n += 1;
                }
                j += 1;
            }
            i += 1;
        }
        n
    }
    /// 16x16 partial products (DSP slices) of one modular product: `a w mod 2^W`, the full
    /// `a w_shoup`, `Q q mod 2^W`.
    pub const fn partial_products(&self) -> usize {
        2 * self.count(self.low_columns()) + self.count(self.columns())
    }
    /// Partial products of `Q q` whose constant factor (a limb of `q`, or a sum of two) is
    /// zero or a power of two: synthesis turns them into shifts, so the multiplier for `q`
    /// takes [`MulLimbs::partial_products`] minus this many DSP slices (one at `W = 32` when
    /// `q = 1 mod 2^15`, as for every NTT prime of `N >= 2^14`).
    pub fn folded_products(&self, q: u64) -> usize {
        let ql = self.split(q);
        self.partials(self.low_columns())
            .iter()
            .filter(|p| {
                let c = if p.i == p.j {
                    ql[p.i]
                } else {
                    ql[p.i] + ql[p.j]
                };
                c.count_ones() <= 1
            })
            .count()
    }
    /// Partial products of `Q q` (constant factor `q`): the only ones synthesis may turn
    /// into shifts and adds.
    pub const fn constant_products(&self) -> usize {
        self.count(self.low_columns())
    }
    /// 16x16 partial products of a plain `W x W` product: `ceil(W/16)^2`.
    pub const fn plain_products(&self) -> usize {
        let n = self.word.div_ceil(16);
        n * n
    }
    fn partials(&self, cols: usize) -> Vec<Partial> {
        let mut v = Vec::new();
        for i in 0..self.limbs {
            for j in i..self.limbs {
                if self.needed(i, j, cols) {
                    v.push(Partial { i, j });
                }
            }
        }
        v
    }
    /// Bit range `[lo, hi)` of limb `i` (limbs cover `[0, L)`).
    fn limb_range(&self, i: usize) -> (usize, usize) {
        let lo = self.limb_bits * i;
        (lo, (lo + self.limb_bits).min(self.operand_bits()))
    }
    fn split(&self, x: u64) -> Vec<u32> {
        (0..self.limbs)
            .map(|i| {
                let (lo, hi) = self.limb_range(i);
                ((x >> lo) & ((1u64 << (hi - lo)) - 1)) as u32
            })
            .collect()
    }
    /// Column `c` of a product from its partial products: wrapping 32-bit arithmetic, exact
    /// because every column is below `2^32`.
    fn column(&self, parts: &[Partial], prods: &[u32], c: usize) -> u32 {
        let find = |i: usize, j: usize| {
            prods[parts
                .iter()
                .position(|p| p.i == i && p.j == j)
                .expect("partial product present")]
        };
        let mut sum = 0u32;
        for p in parts {
            if p.i + p.j != c {
                continue;
            }
            if p.i == p.j {
                sum = sum.wrapping_add(find(p.i, p.i));
            } else {
                let mid = find(p.i, p.j)
                    .wrapping_sub(find(p.i, p.i))
                    .wrapping_sub(find(p.j, p.j));
                sum = sum.wrapping_add(mid);
            }
        }
        sum
    }
    fn word_mask(&self) -> u128 {
        (1u128 << self.word) - 1
    }
    /// `sum_c column_c 2^(k c) mod 2^W` over the low columns.
    fn low_word(&self, cols: &[u32]) -> u64 {
        let mut s = 0u128;
        for (c, &v) in cols.iter().enumerate().take(self.low_columns()) {
            s = (s + ((v as u128) << (self.limb_bits * c))) & self.word_mask();
        }
        s as u64
    }
    /// `c0 = floor(L / k)` and `o = L - k c0`: `Q` starts at bit `o` of column `c0`.
    fn quotient_origin(&self) -> (usize, usize) {
        let c0 = self.operand_bits() / self.limb_bits;
        (c0, self.operand_bits() - self.limb_bits * c0)
    }
    /// Carry-propagated digits `acc_c = column_c + (acc_{c-1} >> k)` (32 bits each).
    fn carried(&self, cols: &[u32]) -> Vec<u32> {
        let mut acc = Vec::with_capacity(cols.len());
        for (c, &v) in cols.iter().enumerate() {
            let carry = if c == 0 {
                0
            } else {
                acc[c - 1] >> self.limb_bits
            };
            acc.push(v.wrapping_add(carry));
        }
        acc
    }
    /// Terms of `Q = floor(P / 2^L)` from the carried digits: `(column, right shift of the
    /// digit, left shift in the word, digit masked to k bits)`.
    fn quotient_terms(&self) -> Vec<(usize, usize, usize, bool)> {
        let (c0, o) = self.quotient_origin();
        let top = self.columns() - 1;
        let mut v = vec![(c0, o, 0, c0 < top)];
        for c in c0 + 1..=top {
            let shift = self.limb_bits * (c - c0) - o;
            if shift < self.word {
                v.push((c, 0, shift, c < top));
            }
        }
        v
    }
    fn quotient(&self, cols: &[u32]) -> u64 {
        let acc = self.carried(cols);
        let kmask = (1u32 << self.limb_bits) - 1;
        let mut q = 0u128;
        for (c, rs, ls, masked) in self.quotient_terms() {
            let d = if masked { acc[c] & kmask } else { acc[c] };
            q = (q + (((d >> rs) as u128) << ls)) & self.word_mask();
        }
        q as u64
    }
}

/// Register state of [`ModMul`] (mirrors the Verilog registers of [`modmul_verilog`]).
#[derive(Clone, Debug, Default)]
struct MulState {
    /// Stage 1: partial products of `a w` (low) and `a w_shoup` (full).
    p_aw: Vec<u32>,
    p_as: Vec<u32>,
    /// Stage 2.
    quotient: u64,
    aw_low2: u64,
    /// Stage 3: partial products of `Q q` (low).
    p_qq: Vec<u32>,
    aw_low3: u64,
    /// Stage 4.
    lazy: u64,
    /// Stage 5.
    out: u64,
}

/// Pipelined Shoup modular multiplier by a precomputed-constant operand on `W`-bit words:
/// `y = a * w mod q` for `a` in `[0, 2^(W-2))`, `w` in `[0, q)` and
/// `w_shoup = floor(w * 2^(W-2) / q)` ([`Prime::shoup_for`]; [`Prime::shoup30`] at `W = 32`);
/// `y` in `[0, q)`, [`ModMul::LATENCY`] cycles later, one product per cycle.
///
/// Algorithm: `Q = floor(a * w_shoup / 2^(W-2))` is `floor(a w / q)` or one less, so
/// `r = a w - Q q` lies in `[0, 2q)` and is computed modulo `2^W` from the low words of the
/// two products; one conditional subtraction finishes. Every product is a one-level Karatsuba
/// product of limbs of at most 15 bits ([`MulLimbs`]): each partial product is one 16x16
/// multiplier (one DSP slice). At `W = 32` (two 15-bit limbs) the multiplier uses nine 16x16
/// products against twelve for a Barrett multiplier built from schoolbook 32x32 products of
/// four each; eight when `q = 1 mod 2^15` (synthesis folds the product by the low limb of q,
/// which is 1). [`ModMul::PARTIAL_PRODUCTS`] gives the count for every `W`.
///
/// Stages: (1) limb products of `a w` and `a w_shoup`; (2) `Q` and `a w mod 2^W`;
/// (3) limb products of `Q q`; (4) `r = a w - Q q mod 2^W`; (5) `r mod q`.
#[derive(LogicBlock)]
pub struct ModMul<const W: usize = 32> {
    /// Clock of every pipeline register.
    pub clock: Signal<In, Clock>,
    /// Variable operand, in `[0, 2^(W-2))`.
    pub a: Signal<In, Bits<W>>,
    /// Fixed operand, in `[0, q)`.
    pub w: Signal<In, Bits<W>>,
    /// `floor(w * 2^(W-2) / q)`, in `[0, 2^(W-2))`.
    pub w_shoup: Signal<In, Bits<W>>,
    /// `a * w mod q`, in `[0, q)`.
    pub y: Signal<Out, Bits<W>>,
    _q: u64,
    _st: MulState,
}

impl<const W: usize> std::fmt::Debug for ModMul<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModMul")
            .field("word", &W)
            .field("q", &self._q)
            .finish_non_exhaustive()
    }
}

impl<const W: usize> ModMul<W> {
    /// Pipeline latency in cycles (every supported `W`).
    pub const LATENCY: usize = 5;
    /// Products per cycle.
    pub const THROUGHPUT: usize = 1;
    /// The limb decomposition.
    pub const LIMBS: MulLimbs = MulLimbs::for_word(W);
    /// 16x16 partial products (DSP slices) per modular product: 9 at `W = 32`, 16 at 36, 37
    /// at 64 (see [`MulLimbs`]).
    pub const PARTIAL_PRODUCTS: usize = Self::LIMBS.partial_products();

    /// The multiplier for prime `q`. Panics unless `q < 2^(W-2)` (see [`Prime::for_word`]).
    pub fn new(q: Prime) -> Self {
        check_word::<W>(q);
        ModMul {
            clock: Signal::default(),
            a: Signal::default(),
            w: Signal::default(),
            w_shoup: Signal::default(),
            y: Signal::default(),
            _q: q.value(),
            _st: MulState {
                p_aw: vec![0; Self::LIMBS.count(Self::LIMBS.low_columns())],
                p_as: vec![0; Self::LIMBS.count(Self::LIMBS.columns())],
                p_qq: vec![0; Self::LIMBS.count(Self::LIMBS.low_columns())],
                ..MulState::default()
            },
        }
    }

    /// One clock edge: every register takes its next value from the pre-edge state.
    fn step(&mut self) {
        let g = Self::LIMBS;
        let low = g.partials(g.low_columns());
        let full = g.partials(g.columns());
        let prods = |x: u64, y: u64, parts: &[Partial]| -> Vec<u32> {
            let (xs, ys) = (g.split(x), g.split(y));
            parts
                .iter()
                .map(|p| {
                    if p.i == p.j {
                        xs[p.i] * ys[p.i]
                    } else {
                        (xs[p.i] + xs[p.j]) * (ys[p.i] + ys[p.j])
                    }
                })
                .collect()
        };
        let st = &self._st;
        let mut next = st.clone();
        let (a, w, s) = (
            self.a.val().to_u64(),
            self.w.val().to_u64(),
            self.w_shoup.val().to_u64(),
        );
        next.p_aw = prods(a, w, &low);
        next.p_as = prods(a, s, &full);
        let cols_aw: Vec<u32> = (0..g.low_columns())
            .map(|c| g.column(&low, &st.p_aw, c))
            .collect();
        let cols_as: Vec<u32> = (0..g.columns())
            .map(|c| g.column(&full, &st.p_as, c))
            .collect();
        next.aw_low2 = g.low_word(&cols_aw);
        next.quotient = g.quotient(&cols_as);
        next.p_qq = prods(st.quotient, self._q, &low);
        next.aw_low3 = st.aw_low2;
        let cols_qq: Vec<u32> = (0..g.low_columns())
            .map(|c| g.column(&low, &st.p_qq, c))
            .collect();
        let qq = g.low_word(&cols_qq);
        next.lazy = ((st.aw_low3 as u128 + (1u128 << W) - qq as u128) & g.word_mask()) as u64;
        next.out = if st.lazy >= self._q {
            st.lazy - self._q
        } else {
            st.lazy
        };
        self._st = next;
    }
}

impl<const W: usize> Logic for ModMul<W> {
    fn update(&mut self) {
        // As a DFF: at the edge the state moves and the output takes the new output
        // register's value; consumers sampling at the same edge read the old one (a `next`
        // written in this pass is seen in the following pass, when no edge is present).
        if self.clock.pos_edge() {
            self.step();
        }
        self.y.next = self._st.out.to_bits();
    }

    fn connect(&mut self) {
        self.y.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(modmul_verilog(Self::LIMBS, self._q))
    }
}

/// Verilog of one set of partial products `x * y` into 32-bit registers `{tag}_{i}_{j}`
/// (inside an `always @(posedge clock)` block), with the 16-bit limb wires declared first.
fn verilog_products(
    decl: &mut String,
    body: &mut String,
    tag: &str,
    x: &str,
    y: &str,
    parts: &[Partial],
) {
    for p in parts {
        let _ = writeln!(decl, "reg [31:0] {tag}_{}_{} = 32'd0;", p.i, p.j);
        if p.i == p.j {
            let _ = writeln!(body, "  {tag}_{i}_{i} <= {x}_l{i} * {y}_l{i};", i = p.i);
        } else {
            let _ = writeln!(
                body,
                "  {tag}_{i}_{j} <= {x}_s{i}_{j} * {y}_s{i}_{j};",
                i = p.i,
                j = p.j
            );
        }
    }
}

/// 16-bit limb wires `{name}_l{i}` of a `W`-bit signal (limbs cover bits `[0, L)`) and the
/// limb sums `{name}_s{i}_{j}` (below `2^16`: limbs have at most 15 bits).
fn verilog_limbs(v: &mut String, g: MulLimbs, name: &str) {
    for i in 0..g.limbs {
        let (lo, hi) = g.limb_range(i);
        let _ = writeln!(
            v,
            "wire [15:0] {name}_l{i} = {{{}'d0, {name}[{}:{lo}]}};",
            16 - (hi - lo),
            hi - 1
        );
    }
    for i in 0..g.limbs {
        for j in i + 1..g.limbs {
            let _ = writeln!(
                v,
                "wire [15:0] {name}_s{i}_{j} = {name}_l{i} + {name}_l{j};"
            );
        }
    }
}

/// `value` (a 32-bit expression or wire) zero-extended to `W` bits.
fn widen(value: &str, w: usize) -> String {
    if w == 32 {
        value.to_string()
    } else {
        format!("{{{}'d0, {value}}}", w - 32)
    }
}

/// 32-bit column wires `{tag}_c{c}` of a product (the same sums as [`MulLimbs::column`]).
fn verilog_columns(v: &mut String, tag: &str, parts: &[Partial], cols: usize) {
    for c in 0..cols {
        let terms: Vec<String> = parts
            .iter()
            .filter(|p| p.i + p.j == c)
            .map(|p| {
                if p.i == p.j {
                    format!("{tag}_{i}_{i}", i = p.i)
                } else {
                    format!(
                        "(({tag}_{i}_{j} - {tag}_{i}_{i}) - {tag}_{j}_{j})",
                        i = p.i,
                        j = p.j
                    )
                }
            })
            .collect();
        let _ = writeln!(v, "wire [31:0] {tag}_c{c} = {};", terms.join(" + "));
    }
}

/// `sum_c {tag}_c{c} << (k c) mod 2^W` over the low columns, as a `W`-bit wire `name`.
fn verilog_low_word(v: &mut String, g: MulLimbs, tag: &str, name: &str) {
    let w = g.word;
    let mut terms = Vec::new();
    for c in 0..g.low_columns() {
        let _ = writeln!(
            v,
            "wire [{}:0] {tag}_w{c} = {};",
            w - 1,
            widen(&format!("{tag}_c{c}"), w)
        );
        terms.push(format!("({tag}_w{c} << {})", g.limb_bits * c));
    }
    let _ = writeln!(v, "wire [{}:0] {name} = {};", w - 1, terms.join(" + "));
}

/// Verilog body of [`ModMul`] (ports `clock`, `a`, `w`, `w_shoup`, `y` declared by rust-hdl).
fn modmul_verilog(g: MulLimbs, q: u64) -> String {
    let w = g.word;
    let low = g.partials(g.low_columns());
    let full = g.partials(g.columns());
    let mut v = String::new();
    let _ = writeln!(
        v,
        "// Shoup multiplier, W = {w}: {} limbs of {} bits, {} 16x16 partial products.",
        g.limbs,
        g.limb_bits,
        g.partial_products()
    );
    let _ = writeln!(v, "localparam [{}:0] Q = {w}'d{q};", w - 1);
    let q_limbs = g.split(q);
    for (i, l) in q_limbs.iter().enumerate() {
        let _ = writeln!(v, "localparam [15:0] q_l{i} = 16'd{l};");
    }
    for i in 0..g.limbs {
        for j in i + 1..g.limbs {
            let _ = writeln!(
                v,
                "localparam [15:0] q_s{i}_{j} = 16'd{};",
                q_limbs[i] + q_limbs[j]
            );
        }
    }
    verilog_limbs(&mut v, g, "a");
    verilog_limbs(&mut v, g, "w");
    verilog_limbs(&mut v, g, "w_shoup");
    let mut body = String::new();
    // Stage 1.
    verilog_products(&mut v, &mut body, "p_aw", "a", "w", &low);
    verilog_products(&mut v, &mut body, "p_as", "a", "w_shoup", &full);
    // Stage 2: columns, a w mod 2^W and Q.
    verilog_columns(&mut v, "p_aw", &low, g.low_columns());
    verilog_low_word(&mut v, g, "p_aw", "aw_low");
    verilog_columns(&mut v, "p_as", &full, g.columns());
    for c in 0..g.columns() {
        if c == 0 {
            let _ = writeln!(v, "wire [31:0] acc_0 = p_as_c0;");
        } else {
            let _ = writeln!(
                v,
                "wire [31:0] acc_{c} = p_as_c{c} + (acc_{} >> {});",
                c - 1,
                g.limb_bits
            );
        }
    }
    let kmask = (1u32 << g.limb_bits) - 1;
    let mut qterms = Vec::new();
    for (c, rs, ls, masked) in g.quotient_terms() {
        let d = if masked {
            format!("(acc_{c} & 32'd{kmask})")
        } else {
            format!("acc_{c}")
        };
        let _ = writeln!(v, "wire [31:0] qs_{c} = {d} >> {rs};");
        let _ = writeln!(
            v,
            "wire [{}:0] qd_{c} = {};",
            w - 1,
            widen(&format!("qs_{c}"), w)
        );
        qterms.push(format!("(qd_{c} << {ls})"));
    }
    let _ = writeln!(
        v,
        "reg [{w1}:0] quotient = {w}'d0;\nreg [{w1}:0] aw_low2 = {w}'d0;\nwire [{w1}:0] \
         quotient_d = {};",
        qterms.join(" + "),
        w1 = w - 1
    );
    let _ = writeln!(
        body,
        "  quotient <= quotient_d;\n  aw_low2 <= aw_low;\n  aw_low3 <= aw_low2;"
    );
    // Stage 3: Q q.
    verilog_limbs(&mut v, g, "quotient");
    let _ = writeln!(v, "reg [{}:0] aw_low3 = {w}'d0;", w - 1);
    verilog_products(&mut v, &mut body, "p_qq", "quotient", "q", &low);
    // Stage 4 and 5.
    verilog_columns(&mut v, "p_qq", &low, g.low_columns());
    verilog_low_word(&mut v, g, "p_qq", "qq_low");
    // The output register is `y` itself (declared `output reg` by rust-hdl).
    let _ = writeln!(
        v,
        "reg [{w1}:0] lazy = {w}'d0;\ninitial y = {w}'d0;",
        w1 = w - 1
    );
    let _ = writeln!(
        body,
        "  lazy <= aw_low3 - qq_low;\n  y <= (lazy >= Q) ? (lazy - Q) : lazy;"
    );
    let _ = write!(v, "always @(posedge clock) begin\n{body}end\n");
    v
}
