//! Generated reports: random designs printed as Yosys prints them, each parsed back exactly or
//! refused exactly when a count or sum passes `MAX_CELLS`.

use super::*;

/// Cell types a generated module draws from: the resource each counts for and how many of it
/// per cell (`None`: counts for nothing).
const CELLS: [(&str, Option<Kind>, u128); 17] = [
    ("LUT1", Some(Kind::Lut), 1),
    ("LUT3", Some(Kind::Lut), 1),
    ("LUT6", Some(Kind::Lut), 1),
    ("INV", Some(Kind::Lut), 1),
    ("FDRE", Some(Kind::Ff), 1),
    ("FDCE", Some(Kind::Ff), 1),
    ("DSP48E2", Some(Kind::Dsp), 1),
    ("RAMB36E2", Some(Kind::Ramb36), 1),
    ("RAMB18E2", Some(Kind::Ramb18), 1),
    ("URAM288", Some(Kind::Uram), 1),
    ("RAM32M16", Some(Kind::Lutram), 8),
    ("RAM32M", Some(Kind::Lutram), 4),
    ("RAM64X1D", Some(Kind::Lutram), 2),
    ("SRL16E", Some(Kind::Lutram), 1),
    ("CARRY8", None, 0),
    ("BUFG", None, 0),
    ("IBUF", None, 0),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Lut,
    Lutram,
    Ff,
    Dsp,
    Ramb36,
    Ramb18,
    Uram,
}

/// A generated design: module 0 is `top`, module `j > 0` is `m{j}`, instantiated by one or two
/// modules before it.
#[derive(Clone, Debug)]
struct Model {
    /// Each module's own cells: `(index in CELLS, count)`, each type once.
    cells: Vec<Vec<(usize, u64)>>,
    /// Each module's parents: `(parent, instances per instance of the parent)`; none for the
    /// top, each parent once.
    parents: Vec<Vec<(usize, u64)>>,
}

fn name(m: usize) -> String {
    if m == 0 {
        "top".into()
    } else {
        format!("m{m}")
    }
}

/// Mostly small counts, sometimes near or beyond `MAX_CELLS` or `u64::MAX`.
fn count(min: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        40 => min..200u64,
        1 => (MAX_CELLS / 16)..=(MAX_CELLS / 2),
        1 => (MAX_CELLS - 2)..=(MAX_CELLS + 2),
        1 => min..=u64::MAX,
    ]
}

/// Keeps the first pair of each key (a cell type, or a parent).
fn first_of_each(list: &mut Vec<(usize, u64)>) {
    let mut seen = Vec::new();
    list.retain(|&(key, _)| {
        let first = !seen.contains(&key);
        seen.push(key);
        first
    });
}

fn model() -> impl Strategy<Value = Model> {
    (1usize..=5).prop_flat_map(|n| {
        let cells =
            prop::collection::vec(prop::collection::vec((0..CELLS.len(), count(0)), 0..7), n);
        let parents: Vec<_> = (0..n)
            .map(|j| {
                prop::collection::vec(
                    (0..j.max(1), count(1)),
                    usize::from(j > 0)..=2 * usize::from(j > 0),
                )
            })
            .collect();
        (cells, parents).prop_map(|(mut cells, mut parents)| {
            cells.iter_mut().chain(&mut parents).for_each(first_of_each);
            Model { cells, parents }
        })
    })
}

impl Model {
    fn children(&self, m: usize) -> Vec<(usize, u64)> {
        (0..self.parents.len())
            .flat_map(|c| {
                self.parents[c]
                    .iter()
                    .filter(move |&&(p, _)| p == m)
                    .map(move |&(_, k)| (c, k))
            })
            .collect()
    }

    /// Instances of each module in the design (saturating, far above `MAX_CELLS`).
    fn instances(&self) -> Vec<u128> {
        let mut inst = vec![0u128; self.parents.len()];
        inst[0] = 1;
        for j in 1..inst.len() {
            inst[j] = self.parents[j].iter().fold(0u128, |sum, &(p, k)| {
                sum.saturating_add(inst[p].saturating_mul(u128::from(k)))
            });
        }
        inst
    }

    /// The design's cells as Yosys sums them, by type.
    fn total_cells(&self) -> BTreeMap<&'static str, u128> {
        let inst = self.instances();
        let mut total = BTreeMap::new();
        for (m, cells) in self.cells.iter().enumerate() {
            for &(c, n) in cells {
                let e = total.entry(CELLS[c].0).or_insert(0u128);
                *e = e.saturating_add(inst[m].saturating_mul(u128::from(n)));
            }
        }
        total
    }

    /// The log Yosys 0.23 prints for this design.
    fn log(&self) -> String {
        let mut s = String::from("3.14. Printing statistics.\n\n");
        for (m, cells) in self.cells.iter().enumerate() {
            let children = self.children(m);
            s += &format!(
                "=== {} ===\n\n   Number of wires:     {}\n   Number of cells:     {}\n",
                name(m),
                3 + m,
                cells.len() + children.len()
            );
            for &(c, n) in cells {
                s += &format!("     {:<24} {n}\n", CELLS[c].0);
            }
            for (c, k) in children {
                s += &format!("     {:<24} {k}\n", name(c));
            }
            s += "\n   Estimated number of LCs:   0\n\n";
        }
        if self.cells.len() > 1 {
            s += "=== design hierarchy ===\n\n";
            self.tree(0, 3, 1, &mut s);
            let total = self.total_cells();
            s += &format!("\n   Number of cells:     {}\n", total.len());
            for (cell, n) in total {
                s += &format!("     {cell:<24} {n}\n");
            }
        }
        s + "\nEnd of script.\n"
    }

    fn tree(&self, m: usize, indent: usize, k: u64, s: &mut String) {
        *s += &format!("{}{:<20} {k}\n", " ".repeat(indent), name(m));
        for (c, kc) in self.children(m) {
            self.tree(c, indent + 2, kc, s);
        }
    }

    /// The resources of `(cell, count)` pairs, in `u128`.
    fn resources(cells: impl IntoIterator<Item = (&'static str, u128)>) -> [u128; 7] {
        let mut r = [0u128; 7];
        for (cell, n) in cells {
            let (_, kind, per) = CELLS.iter().find(|(c, ..)| *c == cell).unwrap();
            if let Some(kind) = kind {
                let i = *kind as usize;
                r[i] = r[i].saturating_add(n.saturating_mul(*per));
            }
        }
        r
    }
}

fn as_array(r: &Resources) -> [u128; 7] {
    [r.lut, r.lutram, r.ff, r.dsp, r.ramb36, r.ramb18, r.uram].map(u128::from)
}

#[test]
fn generated_reports_parse_exactly() {
    let max = u128::from(MAX_CELLS);
    fuzz_support::run(model, |model| {
        let log = model.log();
        let parsed = parse_stat(&log);
        let inst = model.instances();
        // A total beyond u64 is not a count to the parser (it is not a number it reads): the
        // line is passed over.
        let totals: Vec<(&str, u128)> = model
            .total_cells()
            .into_iter()
            .filter(|&(_, n)| n <= u128::from(u64::MAX))
            .collect();
        let own = |m: usize| -> Vec<(&'static str, u128)> {
            model.cells[m]
                .iter()
                .map(|&(c, n)| (CELLS[c].0, u128::from(n)))
                .collect()
        };
        let counts_fit = model
            .cells
            .iter()
            .flatten()
            .map(|&(_, n)| n)
            .chain(model.parents.iter().flatten().map(|&(_, k)| k))
            .all(|n| n <= MAX_CELLS)
            && totals.iter().all(|&(_, n)| n <= max);
        let fits = counts_fit
            && inst.iter().all(|&k| k <= max)
            && (0..model.cells.len()).all(|m| Model::resources(own(m)).iter().all(|&v| v <= max))
            && Model::resources(totals.iter().copied())
                .iter()
                .all(|&v| v <= max);
        match parsed {
            Ok(report) => {
                prop_assert!(fits, "accepted a report beyond MAX_CELLS:\n{log}");
                prop_assert_eq!(report.modules.len(), model.cells.len());
                for m in 0..model.cells.len() {
                    let module = &report.modules[&name(m)];
                    let mut cells: Vec<(String, u64)> = model.cells[m]
                        .iter()
                        .map(|&(c, n)| (CELLS[c].0.to_string(), n))
                        .collect();
                    cells.extend(model.children(m).into_iter().map(|(c, k)| (name(c), k)));
                    prop_assert_eq!(&module.cells, &cells);
                    prop_assert_eq!(u128::from(report.instances[&name(m)]), inst[m]);
                    let r = report.module_resources(&name(m)).unwrap();
                    prop_assert_eq!(as_array(&r), Model::resources(own(m)));
                }
                let total = report.total().unwrap();
                prop_assert_eq!(as_array(&total), Model::resources(totals.iter().copied()));
                let luts: u128 = totals
                    .iter()
                    .filter(|(c, _)| c.starts_with("LUT"))
                    .map(|&(_, n)| n)
                    .sum();
                prop_assert_eq!(u128::from(report.total_cells_with_prefix("LUT")), luts);
            }
            Err(e) => {
                prop_assert!(!fits, "refused a report within MAX_CELLS: {e}\n{log}");
                prop_assert!(matches!(e, StatError::TooMany { .. }), "{e:?} for\n{log}");
                check_error(&log, &e)?;
            }
        }
        Ok(())
    });
}
