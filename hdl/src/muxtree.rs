//! Word selection for the blocks' hand-written Verilog bodies, as explicit binary multiplexer
//! trees.
//!
//! A variable part-select `flat[idx * W +: W]` is what a crossbar looks like in Verilog, but
//! Yosys maps it as a shifter as wide as `flat` (one stage per index bit, every stage
//! `count * W` bits) before it prunes the unread outputs: at 128 banks of 32 bits one select
//! is ~53,000 two-input multiplexers before optimisation, and the NTT unit at P = 64 has
//! hundreds of them (Yosys ran out of 24 GB). A tree of `count - 1` word-wide multiplexers
//! steered by the index bits is the circuit meant, and what Yosys keeps.
//!
//! [`pick_functions`] emits one Verilog function per tree size (`{name}2`, `{name}4`, ... up
//! to `count` rounded up to a power of two), each built from two of the next smaller; [`pick`]
//! is the call selecting one word. Words are ordered as in a Verilog concatenation `{w_{count-1},
//! ..., w_1, w_0}`: word `i` is bits `[i * W + W - 1 : i * W]`; an index `>= count` selects
//! zero (only reachable where the block's own checks already refuse it).

use std::fmt::Write as _;

/// Index bits of a selection among `count` words (at least 1).
pub(crate) fn index_bits(count: usize) -> usize {
    (count.next_power_of_two().trailing_zeros() as usize).max(1)
}

/// Verilog functions `{name}2`, `{name}4`, ..., `{name}{S}` (`S` = `count` rounded up to a
/// power of two, at least 2) selecting one `w`-bit word of `S` by an index of `log2(S)` bits.
pub(crate) fn pick_functions(name: &str, w: usize, count: usize) -> String {
    let mut v = String::new();
    let top = 1usize << index_bits(count);
    let mut size = 2;
    while size <= top {
        let (half, b) = (size / 2, size.trailing_zeros() as usize);
        let (hi, lo) = if half == 1 {
            (format!("f[{}:{w}]", 2 * w - 1), format!("f[{}:0]", w - 1))
        } else {
            let sub = |from: usize| {
                format!(
                    "{name}{half}(f[{}:{}], i[{}:0])",
                    from + half * w - 1,
                    from,
                    b - 2
                )
            };
            (sub(half * w), sub(0))
        };
        let _ = writeln!(
            v,
            "function [{}:0] {name}{size};\n  input [{}:0] f;\n  input [{}:0] i;\n  begin\n    \
             {name}{size} = i[{}] ? {hi} : {lo};\n  end\nendfunction",
            w - 1,
            size * w - 1,
            b - 1,
            b - 1
        );
        size *= 2;
    }
    v
}

/// The expression selecting word `index` (a Verilog expression of at least
/// [`index_bits`]`(count)` bits; higher bits are ignored) of `flat` (`count` words of `w`
/// bits), through the functions of [`pick_functions`]`(name, w, count)`.
pub(crate) fn pick(name: &str, w: usize, count: usize, flat: &str, index: &str) -> String {
    let top = 1usize << index_bits(count);
    let padded = if top == count {
        flat.to_string()
    } else {
        format!("{{{}'d0, {flat}}}", (top - count) * w)
    };
    format!("{name}{top}({padded}, {index})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_halve_down_to_two_words() {
        let v = pick_functions("sel", 8, 4);
        assert!(v.contains("function [7:0] sel2;\n  input [15:0] f;\n  input [0:0] i;"));
        assert!(v.contains("sel2 = i[0] ? f[15:8] : f[7:0];"));
        assert!(v.contains("function [7:0] sel4;\n  input [31:0] f;\n  input [1:0] i;"));
        assert!(v.contains("sel4 = i[1] ? sel2(f[31:16], i[0:0]) : sel2(f[15:0], i[0:0]);"));
        assert!(!v.contains("sel8"));
    }

    #[test]
    fn counts_round_up_and_pad_with_zero_words() {
        assert_eq!(index_bits(1), 1);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(3), 2);
        assert_eq!(index_bits(128), 7);
        assert_eq!(pick("s", 32, 4, "x", "k[1:0]"), "s4(x, k[1:0])");
        assert_eq!(pick("s", 32, 3, "x", "k[1:0]"), "s4({32'd0, x}, k[1:0])");
        assert_eq!(pick("s", 16, 1, "x", "k[0:0]"), "s2({16'd0, x}, k[0:0])");
        assert!(pick_functions("s", 16, 1).contains("function [15:0] s2;"));
    }
}
