//! Word selection for the blocks' hand-written Verilog bodies, as explicit binary multiplexer
//! trees.
//!
//! A variable part-select `flat[idx * W +: W]` is what a crossbar looks like in Verilog, but
//! Yosys maps it as a shifter as wide as `flat` (one stage per index bit, every stage
//! `count * W` bits) before it prunes the unread outputs: at 128 banks of 32 bits one select
//! is ~53,000 two-input multiplexers before optimisation, and the NTT unit at P = 64 had
//! hundreds of them (Yosys ran out of 24 GB). Nested Verilog functions are no better: Yosys's
//! frontend copies the whole argument at every call level (minutes for the automorphism
//! unit's 128 selects of 128 words). [`pick_tree`] writes the circuit meant: `count - 1`
//! word-wide multiplexers on named wires, steered by the index bits.

use std::fmt::Write as _;

/// Index bits of a selection among `count` words (at least 1).
fn index_bits(count: usize) -> usize {
    (count.next_power_of_two().trailing_zeros() as usize).max(1)
}

/// Emits the multiplexer tree selecting `words[i]` (`w`-bit Verilog expressions) by `index`
/// (a vector of at least [`index_bits`]`(words.len())` bits; higher bits are ignored) as
/// wires `{name}_{level}_{node}`, and returns the root's name. Level `l` (from 1) steers by
/// index bit `l - 1`; an index `>= words.len()` selects zero (only reachable where the block's
/// own checks already refuse it).
pub(crate) fn pick_tree(
    v: &mut String,
    name: &str,
    words: &[String],
    index: &str,
    w: usize,
) -> String {
    let bits = index_bits(words.len());
    let mut level: Vec<String> = words.to_vec();
    level.resize(1 << bits, format!("{w}'d0"));
    for l in 1..=bits {
        let next: Vec<String> = (0..level.len() / 2)
            .map(|i| format!("{name}_{l}_{i}"))
            .collect();
        for (i, node) in next.iter().enumerate() {
            let _ = writeln!(
                v,
                "wire [{}:0] {node} = {index}[{}] ? {} : {};",
                w - 1,
                l - 1,
                level[2 * i + 1],
                level[2 * i]
            );
        }
        level = next;
    }
    level.pop().expect("one root")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("d{i}")).collect()
    }

    #[test]
    fn four_words_take_three_multiplexers_on_two_index_bits() {
        let mut v = String::new();
        assert_eq!(pick_tree(&mut v, "t", &words(4), "k", 8), "t_2_0");
        assert_eq!(
            v,
            "wire [7:0] t_1_0 = k[0] ? d1 : d0;\nwire [7:0] t_1_1 = k[0] ? d3 : d2;\n\
             wire [7:0] t_2_0 = k[1] ? t_1_1 : t_1_0;\n"
        );
    }

    #[test]
    fn counts_round_up_with_zero_words() {
        assert_eq!(index_bits(1), 1);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(3), 2);
        assert_eq!(index_bits(128), 7);
        let mut v = String::new();
        assert_eq!(pick_tree(&mut v, "t", &words(3), "k", 4), "t_2_0");
        assert!(v.contains("wire [3:0] t_1_1 = k[0] ? 4'd0 : d2;"));
        let mut v = String::new();
        assert_eq!(pick_tree(&mut v, "u", &words(1), "k", 4), "u_1_0");
        assert_eq!(v, "wire [3:0] u_1_0 = k[0] ? 4'd0 : d0;\n");
        let mut v = String::new();
        pick_tree(&mut v, "x", &words(128), "k", 32);
        assert_eq!(v.lines().count(), 127);
    }
}
