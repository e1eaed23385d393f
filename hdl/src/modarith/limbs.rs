//! The multiplier's limb decomposition ([`MulLimbs`]): which Karatsuba partial products a
//! word needs, and the arithmetic on limbs both the Rust model and the Verilog follow.

/// One 16x16 partial product of a Karatsuba decomposition: `x_i y_i` (`j == i`) or
/// `(x_i + x_j)(y_i + y_j)` (`i < j`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Partial {
    pub(super) i: usize,
    pub(super) j: usize,
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
    pub(super) const fn count(&self, cols: usize) -> usize {
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
    pub(super) fn partials(&self, cols: usize) -> Vec<Partial> {
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
    pub(super) fn limb_range(&self, i: usize) -> (usize, usize) {
        let lo = self.limb_bits * i;
        (lo, (lo + self.limb_bits).min(self.operand_bits()))
    }
    pub(super) fn split(&self, x: u64) -> Vec<u32> {
        (0..self.limbs)
            .map(|i| {
                let (lo, hi) = self.limb_range(i);
                ((x >> lo) & ((1u64 << (hi - lo)) - 1)) as u32
            })
            .collect()
    }
    /// Column `c` of a product from its partial products: wrapping 32-bit arithmetic, exact
    /// because every column is below `2^32`.
    pub(super) fn column(&self, parts: &[Partial], prods: &[u32], c: usize) -> u32 {
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
    pub(super) fn word_mask(&self) -> u128 {
        (1u128 << self.word) - 1
    }
    /// `sum_c column_c 2^(k c) mod 2^W` over the low columns.
    pub(super) fn low_word(&self, cols: &[u32]) -> u64 {
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
    pub(super) fn quotient_terms(&self) -> Vec<(usize, usize, usize, bool)> {
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
    pub(super) fn quotient(&self, cols: &[u32]) -> u64 {
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
