//! Fuzzing of the partial-result reader (issue 22): 10,000 cases per run of structured
//! mutations of a real partial file (lines dropped, doubled, swapped or cut, tokens replaced)
//! and random text. Each case: no panic; an error names the file and a line; an accepted file
//! has one row per item of its header, in order.

use std::path::Path;

use heaccel_shard::{job_hash, Partial, PartialHeader, ShardSpec};
use proptest::prelude::*;
use serde_json::json;

fn valid() -> String {
    Partial {
        header: PartialHeader::new(
            "sweep",
            job_hash(&json!({"grid": 1})),
            ShardSpec::new(2, 3).unwrap(),
            9,
            vec![3, 4, 5],
            json!({"title": "t", "axes": ["a"]}),
        ),
        rows: (3..6)
            .map(|i| (i, json!({"time_us": i as f64 * 1.5})))
            .collect(),
    }
    .to_text()
}

fn cases() -> impl Strategy<Value = String> {
    let text = valid();
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len();
    let tokens = prop::sample::select(vec![
        "0",
        "-1",
        "99",
        "18446744073709551616",
        "null",
        "\"\"",
        "[]",
        "{}",
        "1.5",
        "\"x\"",
        "true",
        "[3,3]",
        "[5,4]",
        "{\"index\":3}",
    ]);
    let structured =
        (0usize..5, 0..n, 0..n, 0usize..200, tokens).prop_map(move |(kind, a, b, at, token)| {
            let mut l = lines.clone();
            match kind {
                0 => {
                    l.remove(a);
                }
                1 => l.insert(a, l[a].clone()),
                2 => l.swap(a, b),
                3 => {
                    let s = &l[a];
                    let mut cut = at.min(s.len());
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    l[a] = s[..cut].to_string();
                }
                _ => {
                    // replace the value after the `at`-th colon with the token
                    let s = l[a].clone();
                    if let Some((i, _)) = s.match_indices(':').nth(at % 8) {
                        let end = s[i + 1..].find([',', '}']).map_or(s.len(), |j| i + 1 + j);
                        l[a] = format!("{}:{token}{}", &s[..i], &s[end..]);
                    }
                }
            }
            l.join("\n")
        });
    prop_oneof![8 => structured, 1 => ".{0,300}", 1 => "\\{.{0,300}"]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(10_000) })]

    #[test]
    fn fuzz_partial_files(text in cases()) {
        match Partial::parse(&text, Path::new("fuzz.partial.jsonl")) {
            Ok(p) => {
                prop_assert_eq!(p.rows.len(), p.header.items.len());
                for ((index, _), item) in p.rows.iter().zip(&p.header.items) {
                    prop_assert_eq!(index, item);
                }
                prop_assert!(p.header.items.iter().all(|&i| i < p.header.total_items));
            }
            Err(e) => {
                let m = e.to_string();
                prop_assert!(m.starts_with("fuzz.partial.jsonl, line "), "{}", m);
            }
        }
    }
}

#[test]
fn the_valid_file_parses() {
    let p = Partial::parse(&valid(), Path::new("v")).unwrap();
    assert_eq!(p.rows.len(), 3);
}
