//! The multiplier's Verilog body, generated from the same limb description as the Rust model.

use std::fmt::Write as _;

use super::limbs::{MulLimbs, Partial};

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
///
/// [`ModMul`]: super::ModMul
pub(super) fn modmul_verilog(g: MulLimbs, q: u64) -> String {
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
