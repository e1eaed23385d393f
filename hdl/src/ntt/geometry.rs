//! The size of an NTT unit ([`NttGeometry`]) and the arithmetic of its banks, conflict-free
//! schedule and twiddle ROM layout (see the `ntt` module documentation).

use crate::params::HdlError;

use super::NttUnit;

/// Size of an NTT unit: `N = 2^log_n` coefficients, `P = lanes` butterflies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NttGeometry {
    log_n: u32,
    lanes: usize,
}

/// One word access of a stage: `(bank, row)` of address `a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankAccess {
    /// The coefficient address in `[0, N)`.
    pub addr: usize,
    /// Bank in `[0, 2P)`.
    pub bank: usize,
    /// Row in the bank, in `[0, N/2P)`.
    pub row: usize,
}

impl NttGeometry {
    /// Largest supported `log2(N)`.
    pub const MAX_LOG_N: u32 = 16;
    /// Largest supported lane count.
    pub const MAX_LANES: usize = 128;

    /// Validates: `lanes` a power of two in `[1, 128]`, `log_n` in `[2, 16]` with
    /// `N >= 4P` (banks at least two rows deep).
    pub fn new(log_n: u32, lanes: usize) -> Result<Self, HdlError> {
        if !lanes.is_power_of_two() || lanes > Self::MAX_LANES {
            return Err(HdlError::InvalidParameter {
                field: "lanes".into(),
                value: lanes as u64,
                reason: format!("must be a power of two in [1, {}]", Self::MAX_LANES),
            });
        }
        let p = lanes.trailing_zeros() + 1;
        let min = (p + 1).max(2);
        if log_n < min || log_n > Self::MAX_LOG_N {
            return Err(HdlError::InvalidParameter {
                field: "log-n".into(),
                value: log_n as u64,
                reason: format!(
                    "must lie in [{min}, {}] for {lanes} lanes (N >= 4P)",
                    Self::MAX_LOG_N
                ),
            });
        }
        Ok(NttGeometry { log_n, lanes })
    }

    /// `log2(N)`.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }
    /// `N`.
    pub fn n(&self) -> usize {
        1 << self.log_n
    }
    /// Butterfly lanes `P`.
    pub fn lanes(&self) -> usize {
        self.lanes
    }
    /// `p = log2(2P)`: bits of a bank number.
    pub fn bank_bits(&self) -> u32 {
        self.lanes.trailing_zeros() + 1
    }
    /// Banks `2P`.
    pub fn banks(&self) -> usize {
        2 * self.lanes
    }
    /// Rows per bank `N / 2P`: also the issue cycles of a stage.
    pub fn depth(&self) -> usize {
        self.n() / self.banks()
    }
    /// Address bits of a bank row: `log_n - p`.
    pub fn row_bits(&self) -> u32 {
        self.log_n - self.bank_bits()
    }

    /// Paired bit `b` of stage `s` in `[0, log_n)`: `log_n - 1 - s` forward, `s` inverse.
    pub fn stage_bit(&self, inverse: bool, s: usize) -> usize {
        if inverse {
            s
        } else {
            self.log_n as usize - 1 - s
        }
    }
    /// Lowest bit `w0` of the window of the stage pairing bit `b`.
    pub fn window(&self, b: usize) -> usize {
        b.saturating_sub(self.bank_bits() as usize - 1)
    }
    /// Position of the paired bit inside the window.
    pub fn pair_pos(&self, b: usize) -> usize {
        b - self.window(b)
    }
    /// Rotation `w0 mod p` of the window onto the bank bits.
    pub fn rotation(&self, b: usize) -> usize {
        self.window(b) % self.bank_bits() as usize
    }
    /// Address of window value `v` in cycle `c` of a stage whose window starts at `w0`.
    pub fn slot_addr(&self, c: usize, w0: usize, v: usize) -> usize {
        let p = self.bank_bits() as usize;
        ((c >> w0) << (w0 + p)) | (v << w0) | (c & ((1 << w0) - 1))
    }
    /// XOR of the `p`-bit fields of `a`: the bank of address `a`.
    pub fn fold(&self, a: usize) -> usize {
        let p = self.bank_bits();
        let mask = self.banks() - 1;
        let mut f = 0;
        let mut x = a;
        while x != 0 {
            f ^= x & mask;
            x >>= p;
        }
        f
    }
    /// Bank and row of address `a`.
    pub fn locate(&self, a: usize) -> BankAccess {
        BankAccess {
            addr: a,
            bank: self.fold(a),
            row: a >> self.bank_bits(),
        }
    }
    /// `p`-bit left rotation.
    pub fn rotl(&self, x: usize, s: usize) -> usize {
        let p = self.bank_bits() as usize;
        (((x << p) | x) << s >> p) & (self.banks() - 1)
    }
    /// `p`-bit right rotation.
    pub fn rotr(&self, x: usize, s: usize) -> usize {
        let p = self.bank_bits() as usize;
        (((x << p) | x) >> s) & (self.banks() - 1)
    }
    /// Window values `(v_x, v_y)` of lane `k` when the paired bit sits at window position `r`.
    pub fn lane_slots(&self, k: usize, r: usize) -> (usize, usize) {
        let vx = ((k >> r) << (r + 1)) | (k & ((1 << r) - 1));
        (vx, vx | (1 << r))
    }

    /// The accesses of cycle `c` of stage `s`, lane by lane: `[(x, y); P]`.
    pub fn stage_accesses(
        &self,
        inverse: bool,
        s: usize,
        c: usize,
    ) -> Vec<(BankAccess, BankAccess)> {
        let b = self.stage_bit(inverse, s);
        let (w0, r) = (self.window(b), self.pair_pos(b));
        (0..self.lanes)
            .map(|k| {
                let (vx, vy) = self.lane_slots(k, r);
                (
                    self.locate(self.slot_addr(c, w0, vx)),
                    self.locate(self.slot_addr(c, w0, vy)),
                )
            })
            .collect()
    }

    /// Twiddle words of the stage pairing bit `b`, per lane.
    pub(super) fn segment(&self, b: usize) -> usize {
        self.depth() >> self.window(b)
    }
    /// Words of one direction's twiddle table per lane.
    fn rom_half(&self) -> usize {
        (0..self.log_n as usize).map(|b| self.segment(b)).sum()
    }
    /// Twiddle ROM depth per lane (forward then inverse).
    pub fn rom_depth(&self) -> usize {
        2 * self.rom_half()
    }
    /// First ROM word of stage `s`.
    pub fn rom_base(&self, inverse: bool, s: usize) -> usize {
        let before: usize = (0..s)
            .map(|t| self.segment(self.stage_bit(inverse, t)))
            .sum();
        before + if inverse { self.rom_half() } else { 0 }
    }

    /// Cycles of one transform from the edge that samples `start` to the one after which
    /// `busy` is low: `1 + log_n (N/2P + NttUnit::LATENCY - 1)`.
    pub fn cycles(&self) -> usize {
        1 + self.log_n as usize * (self.depth() + <NttUnit>::LATENCY - 1)
    }
    /// The bound `N/2 log_n / P`.
    pub fn bound(&self) -> usize {
        self.n() / 2 * self.log_n as usize / self.lanes
    }
}
