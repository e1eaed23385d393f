//! Module sharing for rust-hdl netlists: rust-hdl emits one Verilog module per instance
//! (`top$ew$0`, `top$ew$1`, ... with identical bodies), so synthesis tools map every copy
//! again. [`share_identical_modules`] keeps one module per distinct body and points every
//! instance at it; the hierarchy, and so the design, is unchanged, and Yosys's `stat` counts
//! each shared module once per instance.

use std::collections::{btree_map::Entry, BTreeMap, HashMap};

use thiserror::Error;

/// Why a Verilog text is not a sequence of `module ... endmodule` blocks with distinct names
/// that instantiate each other without cycles.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetlistError {
    /// A module opens before the previous one is closed.
    #[error("module {module} has no endmodule before the next module")]
    UnclosedBeforeNext {
        /// The module left open.
        module: String,
    },
    /// The text ends inside a module.
    #[error("module {module} has no endmodule")]
    Unclosed {
        /// The module left open.
        module: String,
    },
    /// A `module` line whose name cannot be read.
    #[error("cannot read the module name of `{line}`")]
    UnreadableName {
        /// The line, without its newline.
        line: String,
    },
    /// An `endmodule` outside any module.
    #[error("endmodule at byte {offset} closes no module")]
    StrayEndmodule {
        /// Byte offset of the line in the text.
        offset: usize,
    },
    /// Two modules of the same name.
    #[error("module {module} is defined twice")]
    DefinedTwice {
        /// The name.
        module: String,
    },
    /// A module that instantiates itself, directly or through its children.
    #[error("module {module} instantiates itself")]
    InstantiatesItself {
        /// The module on the cycle.
        module: String,
    },
}

/// One module of a Verilog text: its name and its text from `module NAME(` through the
/// `endmodule` line (inclusive, with the line's newline).
#[derive(Clone, Debug)]
struct Module<'a> {
    name: &'a str,
    text: &'a str,
}

/// What [`share_identical_modules`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sharing {
    /// The Verilog with one module per distinct body, in the order of the input.
    pub verilog: String,
    /// Modules in the input.
    pub modules_before: usize,
    /// Modules kept.
    pub modules_after: usize,
}

/// Splits `verilog` into its preamble (text before the first module) and its modules; a
/// module is the text from a line starting `module NAME(` to the next line starting
/// `endmodule`. Fails on a module without its `endmodule`.
fn split_modules(verilog: &str) -> Result<(&str, Vec<Module<'_>>), NetlistError> {
    let mut modules = Vec::new();
    let mut preamble_end = None;
    let mut start: Option<(usize, &str)> = None;
    let mut offset = 0;
    for line in verilog.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("module ") {
            if let Some((_, open)) = start {
                return Err(NetlistError::UnclosedBeforeNext {
                    module: open.to_string(),
                });
            }
            let name = rest
                .split('(')
                .next()
                .map(str::trim)
                .filter(|n| !n.is_empty() && !n.contains(char::is_whitespace))
                .ok_or_else(|| NetlistError::UnreadableName {
                    line: line.trim_end().to_string(),
                })?;
            preamble_end.get_or_insert(offset);
            start = Some((offset, name));
        } else if line.starts_with("endmodule") {
            let (begin, name) = start
                .take()
                .ok_or(NetlistError::StrayEndmodule { offset })?;
            modules.push(Module {
                name,
                text: &verilog[begin..offset + line.len()],
            });
        }
        offset += line.len();
    }
    if let Some((_, name)) = start {
        return Err(NetlistError::Unclosed {
            module: name.to_string(),
        });
    }
    Ok((&verilog[..preamble_end.unwrap_or(verilog.len())], modules))
}

/// The instance lines of a module body in rust-hdl's form, `    TYPE NAME(` alone on its
/// line: `(byte range of TYPE in text, TYPE)` for every TYPE that is a module of the design.
fn instance_types<'a>(
    text: &'a str,
    is_module: &dyn Fn(&str) -> bool,
) -> Vec<(std::ops::Range<usize>, &'a str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end();
        let indent = body.len() - body.trim_start().len();
        if indent > 0 && body.ends_with('(') {
            let mut words = body[indent..body.len() - 1].split(' ');
            if let (Some(ty), Some(inst), None) = (words.next(), words.next(), words.next()) {
                if !inst.is_empty() && is_module(ty) {
                    out.push((offset + indent..offset + indent + ty.len(), ty));
                }
            }
        }
        offset += line.len();
    }
    out
}

/// `true` when module `module` is the instance `instance` (an instance path such as
/// `top$ew$3`) or one of its descendants: rust-hdl names every module by its instance path,
/// so `top$ew$3$mul_hi` is inside `top$ew$3` and `top$ew$31` is not.
pub fn within_instance(module: &str, instance: &str) -> bool {
    module
        .strip_prefix(instance)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('$'))
}

/// Keeps one module per distinct body. Two modules are merged when they are in the same
/// `group` (e.g. the block that owns them, so per-block accounting stays exact) and their
/// texts are equal once their own names (in the `module` line and rust-hdl's
/// `endmodule // NAME` comment) are set aside and every instantiated module is replaced by
/// the module it was merged into (children first, so shared sub-trees merge their parents).
/// Instances keep their names; only their module types change. The preamble is kept.
///
/// Fails (with the reason) when the text is not a sequence of `module ... endmodule`
/// blocks with distinct names.
pub fn share_identical_modules(
    verilog: &str,
    group: impl Fn(&str) -> String,
) -> Result<Sharing, NetlistError> {
    let (preamble, modules) = split_modules(verilog)?;
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(modules.len());
    for (i, m) in modules.iter().enumerate() {
        if index.insert(m.name, i).is_some() {
            return Err(NetlistError::DefinedTwice {
                module: m.name.to_string(),
            });
        }
    }
    let is_module = |n: &str| index.contains_key(n);
    let children: Vec<Vec<(std::ops::Range<usize>, &str)>> = modules
        .iter()
        .map(|m| instance_types(m.text, &is_module))
        .collect();

    // Post-order over the instance graph (iterative; rust-hdl hierarchies are acyclic).
    let mut order = Vec::with_capacity(modules.len());
    let mut state = vec![0u8; modules.len()]; // 0 new, 1 open, 2 done
    for root in 0..modules.len() {
        let mut stack = vec![(root, 0usize)];
        while let Some((i, next)) = stack.pop() {
            if next == 0 {
                if state[i] == 2 {
                    continue;
                }
                if state[i] == 1 {
                    return Err(NetlistError::InstantiatesItself {
                        module: modules[i].name.to_string(),
                    });
                }
                state[i] = 1;
            }
            if let Some((_, child)) = children[i].get(next) {
                stack.push((i, next + 1));
                let c = index[child];
                if state[c] == 1 {
                    return Err(NetlistError::InstantiatesItself {
                        module: modules[c].name.to_string(),
                    });
                }
                if state[c] == 0 {
                    stack.push((c, 0));
                }
            } else {
                state[i] = 2;
                order.push(i);
            }
        }
    }

    // Canonical body: the module's name out, children's types replaced by representatives.
    let mut representative: Vec<usize> = (0..modules.len()).collect();
    let mut rewritten: Vec<String> = vec![String::new(); modules.len()];
    let mut by_body: BTreeMap<(String, String), usize> = BTreeMap::new();
    for &i in &order {
        let m = &modules[i];
        let mut text = String::with_capacity(m.text.len());
        let mut last = 0;
        for (range, child) in &children[i] {
            text.push_str(&m.text[last..range.start]);
            text.push_str(modules[representative[index[child]]].name);
            last = range.end;
        }
        text.push_str(&m.text[last..]);
        let header = format!("module {}(", m.name);
        let trailer = format!("endmodule // {}\n", m.name);
        let canonical = text
            .replacen(&header, "module \u{0}(", 1)
            .replace(&trailer, "endmodule // \u{0}\n");
        match by_body.entry((group(m.name), canonical)) {
            Entry::Occupied(r) => representative[i] = *r.get(),
            Entry::Vacant(slot) => {
                slot.insert(i);
                rewritten[i] = text;
            }
        }
    }
    let mut out = String::with_capacity(verilog.len());
    out.push_str(preamble);
    let mut kept = 0;
    for (i, text) in rewritten.iter().enumerate() {
        if representative[i] == i {
            out.push_str(text);
            kept += 1;
        }
    }
    Ok(Sharing {
        verilog: out,
        modules_before: modules.len(),
        modules_after: kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str, k: u32) -> String {
        format!(
            "module {name}(d,q,clock);\n    input wire [31:0] d;\n    output reg [31:0] q;\n    \
             input wire clock;\n    always @(posedge clock) q <= d + 32'd{k};\nendmodule // {name}\n"
        )
    }

    fn parent(name: &str, kids: &[(&str, &str)]) -> String {
        let mut s = format!("module {name}(clock);\n    input wire clock;\n");
        for (ty, inst) in kids {
            s += &format!("    {ty} {inst}(\n        .clock(clock)\n    );\n");
        }
        s + &format!("endmodule // {name}\n")
    }

    #[test]
    fn equal_leaves_merge_and_their_parents_follow() {
        let v = String::from("// preamble\n")
            + &parent("top", &[("top$a", "a"), ("top$b", "b"), ("top$c", "c")])
            + &parent("top$a", &[("top$a$r", "r")])
            + &leaf("top$a$r", 1)
            + &parent("top$b", &[("top$b$r", "r")])
            + &leaf("top$b$r", 1)
            + &parent("top$c", &[("top$c$r", "r")])
            + &leaf("top$c$r", 2);
        let s = share_identical_modules(&v, |_| String::new()).unwrap();
        assert_eq!((s.modules_before, s.modules_after), (7, 5));
        assert!(s.verilog.starts_with("// preamble\nmodule top(clock);"));
        // b and its register are a's; c's register adds 2, so c stays with its own.
        assert!(s.verilog.contains("    top$a a(\n"));
        assert!(s.verilog.contains("    top$a b(\n"));
        assert!(s.verilog.contains("    top$c c(\n"));
        assert!(!s.verilog.contains("module top$b"));
        assert!(s.verilog.contains("module top$c$r(") && s.verilog.contains("32'd2;"));
        // Sharing twice changes nothing.
        let again = share_identical_modules(&s.verilog, |_| String::new()).unwrap();
        assert_eq!(again.verilog, s.verilog);
    }

    #[test]
    fn groups_keep_equal_modules_apart() {
        let v = parent("top", &[("top$a", "a"), ("top$b", "b")])
            + &leaf("top$a", 1)
            + &leaf("top$b", 1);
        let s = share_identical_modules(&v, |n| n.get(..5).unwrap_or(n).to_string()).unwrap();
        assert_eq!(s.modules_after, 3);
        let s = share_identical_modules(&v, |_| String::new()).unwrap();
        assert_eq!(s.modules_after, 2);
        assert!(s.verilog.contains("    top$a b(\n"));
    }

    #[test]
    fn a_name_inside_the_body_prevents_merging() {
        // A module mentioning its own name elsewhere differs from its twin after renaming.
        let a = leaf("top$a", 1).replace("input wire clock;", "input wire clock; // top$a");
        let b = leaf("top$b", 1).replace("input wire clock;", "input wire clock; // top$b");
        let v = parent("top", &[("top$a", "a"), ("top$b", "b")]) + &a + &b;
        assert_eq!(
            share_identical_modules(&v, |_| String::new())
                .unwrap()
                .modules_after,
            3
        );
    }

    #[test]
    fn instances_contain_their_descendants_only() {
        assert!(within_instance("top$ew$3", "top$ew$3"));
        assert!(within_instance("top$ew$3$mul_hi$out", "top$ew$3"));
        assert!(!within_instance("top$ew$31", "top$ew$3"));
        assert!(!within_instance("top$ew", "top$ew$3"));
    }

    #[test]
    fn malformed_text_is_refused() {
        let cut = leaf("top", 1).replace("endmodule // top\n", "");
        let top = || "top".to_string();
        assert_eq!(
            share_identical_modules(&cut, |_| String::new()),
            Err(NetlistError::Unclosed { module: top() })
        );
        let unclosed_first = cut.clone() + &leaf("next", 1);
        assert_eq!(
            share_identical_modules(&unclosed_first, |_| String::new()),
            Err(NetlistError::UnclosedBeforeNext { module: top() })
        );
        let twice = leaf("top", 1) + &leaf("top", 2);
        let err = share_identical_modules(&twice, |_| String::new()).unwrap_err();
        assert_eq!(err, NetlistError::DefinedTwice { module: top() });
        assert_eq!(err.to_string(), "module top is defined twice");
        let stray = String::from("\nendmodule\n");
        assert_eq!(
            share_identical_modules(&stray, |_| String::new()),
            Err(NetlistError::StrayEndmodule { offset: 1 })
        );
        let nameless = String::from("module (a);\nendmodule\n");
        assert_eq!(
            share_identical_modules(&nameless, |_| String::new()),
            Err(NetlistError::UnreadableName {
                line: "module (a);".to_string()
            })
        );
        let cycle = parent("top", &[("top", "again")]);
        assert_eq!(
            share_identical_modules(&cycle, |_| String::new()),
            Err(NetlistError::InstantiatesItself { module: top() })
        );
    }
}
