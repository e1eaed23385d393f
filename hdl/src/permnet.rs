//! An Omega (shuffle-exchange) permutation network of `P = 2^l` lines (Lawrie, "Access and
//! alignment of data in an array processor", IEEE Trans. Computers 24(12), 1975): `l` stages,
//! each a perfect shuffle (line `p` moves to `rotl_l(p)`, its bits rotated left) followed by
//! `P/2` 2x2 switches on the line pairs `(2k, 2k+1)`; a crossed switch swaps its pair. That is
//! `l P / 2` switches (`l P` two-input word multiplexers) against the `P (P - 1)` of a crossbar
//! of multiplexer trees. Not every permutation passes (the network is blocking); the pure-Rust
//! model here routes one, reports conflicts, and applies the settings in either direction; the
//! Verilog emitters write the same circuit.
//!
//! # Routing (destination tags, self-routing)
//!
//! Through stage `s` (from 0) a word travelling from input line `x` to output line `d` sits,
//! after the shuffle, on line `(x mod 2^(l-1-s), d >> (l-s), x_(l-1-s))` (fields from the high
//! bits) and leaves its switch on line `(x mod 2^(l-1-s), d >> (l-1-s))`: the switch sets the
//! low bit to `d_(l-1-s)`, crossing when that differs from `x_(l-1-s)`. Two words conflict
//! (want one switch output) exactly when, for some `s`, they agree on `x mod 2^(l-1-s)` and on
//! `d >> (l-1-s)`. For `d = a x + b mod P` with `a` odd, words with `x' = x + 2^(l-1-s) t`
//! have `d' = d + a t 2^(l-1-s)`, whose high `s + 1` bits differ from `d`'s by
//! `a t mod 2^(s+1) != 0`: no conflict (the affine class attributed to Lawrie; `docs/RTL.md`
//! says what of the paper could be read). For the conjugate
//! `d = brev_l(A(brev_l(x)))` with `A` affine of odd slope, `u = brev_l(x)`: agreeing on the
//! low `l-1-s` bits of `x` and the high `s+1` bits of `d` is agreeing on the high `l-1-s`
//! bits of `u` and on `A(u) mod 2^(s+1)`, i.e. on `u mod 2^(s+1)` (`A` is a bijection mod
//! every power of two): all `l` bits of `u`, so `x = x'`. Both classes pass, and each is
//! closed under inversion; `tests/automorph.rs` checks every odd `a` and every `b` for
//! `P = 2..256`.
//!
//! The settings are computed from the *output* side (the tag known per output line is the
//! input line it reads, `source[d]`): the network run backwards (per stage from the last:
//! switches, then the inverse shuffle) is itself a self-routing network in which the word of
//! output `d` carries the tag `source[d]` and each switch crosses when the word on its even
//! line has tag bit `l-1-s` set ([`OmegaNetwork::route`]). Run backwards the same settings
//! carry a payload from output `d` to input `source[d]` ([`OmegaNetwork::scatter`]); run
//! forwards they carry a word from input `source[d]` to output `d`
//! ([`OmegaNetwork::gather`]).

use std::fmt::Write as _;

/// An Omega network of `P = 2^l` lines, `l` in `[0, 8]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OmegaNetwork {
    log_p: u32,
}

/// The switch settings of one routing: crossed (`true`) or straight, per stage and switch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OmegaRoute {
    /// `cross[s * P/2 + k]`: switch `k` in `[0, P/2)` of stage `s` in `[0, l)`.
    pub cross: Vec<bool>,
    /// Switches whose two words wanted the same output (0 for a permutation the network
    /// passes); the switch then follows its even line's word.
    pub conflicts: usize,
}

impl OmegaNetwork {
    /// Largest supported `l = log2 P`.
    pub const MAX_LOG_LINES: u32 = 8;

    /// The network of `lines` lines: a power of two in `[1, 256]`.
    pub fn new(lines: usize) -> Self {
        assert!(
            lines.is_power_of_two() && lines.trailing_zeros() <= Self::MAX_LOG_LINES,
            "lines must be a power of two in [1, 256], got {lines}"
        );
        OmegaNetwork {
            log_p: lines.trailing_zeros(),
        }
    }

    /// Lines `P`.
    pub fn lines(&self) -> usize {
        1 << self.log_p
    }

    /// Stages `l = log2 P`.
    pub fn stages(&self) -> usize {
        self.log_p as usize
    }

    /// Switches per stage, `P / 2` (0 for one line).
    pub fn switches_per_stage(&self) -> usize {
        self.lines() / 2
    }

    /// Line `p` after the perfect shuffle: its `l` bits rotated left by one.
    pub fn shuffle(&self, p: usize) -> usize {
        let l = self.log_p;
        if l == 0 {
            return p;
        }
        ((p << 1) | (p >> (l - 1))) & (self.lines() - 1)
    }

    /// Line `p` after the inverse shuffle: its `l` bits rotated right by one.
    pub fn unshuffle(&self, p: usize) -> usize {
        let l = self.log_p;
        if l == 0 {
            return p;
        }
        (p >> 1) | ((p & 1) << (l - 1))
    }

    /// Settings routing output line `d` from input line `source[d]` (`source` a permutation
    /// of `[0, P)` for a conflict-free route), computed as the hardware does: the backward
    /// network self-routed by the tags `source[d]` (see the module documentation).
    /// `invert`, a negative control, inverts that switch's control `(stage, switch)` as it
    /// is computed.
    pub fn route(&self, source: &[usize], invert: Option<(usize, usize)>) -> OmegaRoute {
        let (p, l, half) = (self.lines(), self.stages(), self.switches_per_stage());
        assert_eq!(source.len(), p, "one source per output line");
        let mut route = OmegaRoute {
            cross: vec![false; l * half],
            conflicts: 0,
        };
        let mut tags = source.to_vec();
        for s in (0..l).rev() {
            let bit = l - 1 - s;
            for k in 0..half {
                let (t0, t1) = (tags[2 * k], tags[2 * k + 1]);
                let c = ((t0 >> bit) & 1 == 1) ^ (invert == Some((s, k)));
                route.conflicts += usize::from(((t0 ^ t1) >> bit) & 1 == 0);
                route.cross[s * half + k] = c;
            }
            tags = self.backward_stage(&route, s, &tags);
        }
        route
    }

    /// Backward through stage `s`: its switches, then the inverse shuffle.
    fn backward_stage<T: Copy>(&self, route: &OmegaRoute, s: usize, words: &[T]) -> Vec<T> {
        let half = self.switches_per_stage();
        let mut out = words.to_vec();
        for (k, pair) in words.chunks(2).enumerate() {
            let c = route.cross[s * half + k];
            out[self.unshuffle(2 * k)] = pair[usize::from(c)];
            out[self.unshuffle(2 * k + 1)] = pair[usize::from(!c)];
        }
        out
    }

    /// Runs `route` backwards: the word at output line `d` arrives at input line
    /// `source[d]` (for the `source` it was routed from).
    pub fn scatter<T: Copy>(&self, route: &OmegaRoute, at_outputs: &[T]) -> Vec<T> {
        assert_eq!(at_outputs.len(), self.lines(), "one word per line");
        (0..self.stages()).rev().fold(at_outputs.to_vec(), |w, s| {
            self.backward_stage(route, s, &w)
        })
    }

    /// Runs `route` forwards: output line `d` receives the word at input line `source[d]`.
    pub fn gather<T: Copy>(&self, route: &OmegaRoute, at_inputs: &[T]) -> Vec<T> {
        assert_eq!(at_inputs.len(), self.lines(), "one word per line");
        let half = self.switches_per_stage();
        let mut words = at_inputs.to_vec();
        for s in 0..self.stages() {
            let mut shuffled = words.clone();
            for (p, w) in words.iter().enumerate() {
                shuffled[self.shuffle(p)] = *w;
            }
            for k in 0..half {
                if route.cross[s * half + k] {
                    shuffled.swap(2 * k, 2 * k + 1);
                }
            }
            words = shuffled;
        }
        words
    }

    /// Emits the backward self-routing network: `lines[d]` are `width`-bit Verilog
    /// expressions whose low `l` bits are the tag `source[d]`. Declares the switch controls
    /// `{name}_x{s}_{k}` (wires, one per switch, in the order of [`OmegaRoute::cross`]) and
    /// returns them with the lines arriving at the inputs (`{name}_b{s}_{p}`, or `lines`
    /// itself for one line). `invert` as in [`OmegaNetwork::route`].
    pub fn emit_route(
        &self,
        v: &mut String,
        name: &str,
        lines: &[String],
        width: usize,
        invert: Option<(usize, usize)>,
    ) -> (Vec<String>, Vec<String>) {
        let (p, l, half) = (self.lines(), self.stages(), self.switches_per_stage());
        assert_eq!(lines.len(), p, "one expression per line");
        assert!(width >= l, "lines narrower than their tags");
        let mut cur = lines.to_vec();
        let mut controls = vec![String::new(); l * half];
        for s in (0..l).rev() {
            let bit = l - 1 - s;
            let mut next = vec![String::new(); p];
            for k in 0..half {
                let x = format!("{name}_x{s}_{k}");
                let inv = if invert == Some((s, k)) { "~" } else { "" };
                let _ = writeln!(v, "wire {x} = {inv}{}[{bit}];", cur[2 * k]);
                for (line, (a, b)) in [(2 * k, (2 * k + 1, 2 * k)), (2 * k + 1, (2 * k, 2 * k + 1))]
                {
                    let dst = self.unshuffle(line);
                    let w = format!("{name}_b{s}_{dst}");
                    let _ = writeln!(
                        v,
                        "wire [{}:0] {w} = {x} ? {} : {};",
                        width - 1,
                        cur[a],
                        cur[b]
                    );
                    next[dst] = w;
                }
                controls[s * half + k] = x;
            }
            cur = next;
        }
        (controls, cur)
    }

    /// Emits the forward network carrying `inputs` (`width`-bit Verilog expressions, one per
    /// input line) to the outputs under the switch controls `cross` (one-bit expressions in
    /// the order of [`OmegaRoute::cross`]); returns the output lines. Stages are emitted in
    /// fused pairs: output line `o` of stages `(s, s+1)` is one of four input lines picked
    /// by a two-bit select (`{name}_s{s}_{o}`, from three controls), a 4:1 word multiplexer
    /// (one LUT6 per bit) instead of two 2:1 levels (`{name}_f{s}_{o}`); an odd last stage is
    /// a 2:1 level. For one line the inputs are returned.
    pub fn emit_gather(
        &self,
        v: &mut String,
        name: &str,
        inputs: &[String],
        cross: &[String],
        width: usize,
    ) -> Vec<String> {
        let (p, l, half) = (self.lines(), self.stages(), self.switches_per_stage());
        assert_eq!(inputs.len(), p, "one expression per line");
        assert_eq!(cross.len(), l * half, "one control per switch");
        let mut cur = inputs.to_vec();
        let mut s = 0;
        while s < l {
            let mut next = vec![String::new(); p];
            for (o, slot) in next.iter_mut().enumerate() {
                let w = format!("{name}_f{s}_{o}");
                if s + 1 < l {
                    // out[o] = in[unshuffle(u ^ c0[u >> 1])], u = unshuffle(o ^ c1[o >> 1]).
                    let c1 = &cross[(s + 1) * half + (o >> 1)];
                    let (u0, u1) = (self.unshuffle(o), self.unshuffle(o ^ 1));
                    let (c0a, c0b) = (&cross[s * half + (u0 >> 1)], &cross[s * half + (u1 >> 1)]);
                    let sel = format!("{name}_s{s}_{o}");
                    let _ = writeln!(v, "wire [1:0] {sel} = {{{c1}, {c1} ? {c0b} : {c0a}}};");
                    let pick = |u: usize, c0: usize| cur[self.unshuffle(u ^ c0)].clone();
                    let _ = writeln!(
                        v,
                        "wire [{}:0] {w} = {sel}[1] ? ({sel}[0] ? {} : {}) : ({sel}[0] ? {} : {});",
                        width - 1,
                        pick(u1, 1),
                        pick(u1, 0),
                        pick(u0, 1),
                        pick(u0, 0)
                    );
                } else {
                    // out[o] = in[unshuffle(o ^ c[o >> 1])].
                    let c = &cross[s * half + (o >> 1)];
                    let _ = writeln!(
                        v,
                        "wire [{}:0] {w} = {c} ? {} : {};",
                        width - 1,
                        cur[self.unshuffle(o ^ 1)],
                        cur[self.unshuffle(o)]
                    );
                }
                *slot = w;
            }
            cur = next;
            s += 2;
        }
        cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_rotate_the_line_bits() {
        let net = OmegaNetwork::new(8);
        assert_eq!(
            (0..8).map(|p| net.shuffle(p)).collect::<Vec<_>>(),
            [0, 2, 4, 6, 1, 3, 5, 7]
        );
        for p in 0..8 {
            assert_eq!(net.unshuffle(net.shuffle(p)), p);
        }
        let one = OmegaNetwork::new(1);
        assert_eq!((one.stages(), one.shuffle(0), one.unshuffle(0)), (0, 0, 0));
    }

    #[test]
    fn identity_and_a_rotation_route_without_conflict() {
        let net = OmegaNetwork::new(16);
        for shift in 0..16 {
            let source: Vec<usize> = (0..16).map(|d| (d + shift) % 16).collect();
            let r = net.route(&source, None);
            assert_eq!(r.conflicts, 0, "shift {shift}");
            let words: Vec<u32> = (100..116).collect();
            let out = net.gather(&r, &words);
            for d in 0..16 {
                assert_eq!(out[d], words[source[d]]);
            }
            let back = net.scatter(&r, &source);
            assert_eq!(back, (0..16).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_blocked_permutation_is_reported() {
        // Bit reversal does not pass an 8-line Omega network.
        let net = OmegaNetwork::new(8);
        let source: Vec<usize> = (0..8)
            .map(|d| heaccel_verification::arith::bit_reverse(d, 3))
            .collect();
        assert!(net.route(&source, None).conflicts > 0);
    }

    #[test]
    fn emitted_text_of_a_two_line_network() {
        let net = OmegaNetwork::new(2);
        let mut v = String::new();
        let (x, out) = net.emit_route(&mut v, "a", &["t0".into(), "t1".into()], 3, None);
        assert_eq!(x, ["a_x0_0"]);
        assert_eq!(out, ["a_b0_0", "a_b0_1"]);
        assert_eq!(
            v,
            "wire a_x0_0 = t0[0];\nwire [2:0] a_b0_0 = a_x0_0 ? t1 : t0;\n\
             wire [2:0] a_b0_1 = a_x0_0 ? t0 : t1;\n"
        );
        let mut v = String::new();
        let out = net.emit_gather(&mut v, "d", &["r0".into(), "r1".into()], &x, 8);
        assert_eq!(out, ["d_f0_0", "d_f0_1"]);
        assert!(v.contains("wire [7:0] d_f0_1 = a_x0_0 ? r0 : r1;"));
        // Four lines: one fused pair of stages, a 4:1 multiplexer per output.
        let mut v = String::new();
        let words: Vec<String> = (0..4).map(|i| format!("r{i}")).collect();
        let cross: Vec<String> = (0..4).map(|i| format!("c{i}")).collect();
        let out = OmegaNetwork::new(4).emit_gather(&mut v, "d", &words, &cross, 8);
        assert_eq!(out, ["d_f0_0", "d_f0_1", "d_f0_2", "d_f0_3"]);
        assert_eq!(v.lines().count(), 8);
    }
}
