//! Fuzzing of the parsers the command line owns (issue 22): sweep grid files
//! (`sweep::Grid::parse`) and JSON network inputs (`infer::parse_input_json`), each with
//! 10,000 cases per run of structured mutations of a valid input and random text. Each case:
//! no panic; an invalid input gives an error naming its source; an accepted grid yields only
//! validated configurations, an accepted input has the network's shape.

use heaccel_cli::infer::parse_input_json;
use heaccel_cli::sweep::Grid;
use heaccel_host::nn::Shape;
use proptest::prelude::*;

const CASES: u32 = 10_000;

const GRID: &str = r#"base = "fpga-u280"
[grid]
"modmul.lanes" = [64, 128, 256]
"ntt.butterflies_per_unit" = [16, 32]
word_bits = [32, 36]
"memory.bandwidth_gb_s" = [230.0, 460.0]
"#;

/// A valid text with one structured mutation: a token replaced, a line dropped or doubled,
/// the text cut, a character inserted.
fn mutated(valid: &'static str) -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "0",
        "-1",
        "1e308",
        "nan",
        "\"x\"",
        "[]",
        "[[]]",
        "{}",
        "true",
        "18446744073709551616",
        "4097",
        "0.0",
        "asic",
        "\"\"",
        "=",
        "[",
        "]",
        "\"",
        "#",
        "\n",
        "ntt",
        "memory.",
        "1e-300",
    ]);
    let lines = valid.lines().count();
    (0usize..5, 0usize..valid.len(), 0usize..lines.max(1), tokens).prop_map(
        move |(kind, at, line, token)| {
            let mut at = at.min(valid.len());
            while !valid.is_char_boundary(at) {
                at -= 1;
            }
            match kind {
                0 => {
                    // replace the word at `at` with the token
                    let start = valid[..at].rfind([' ', '[', ',', '=']).map_or(0, |i| i + 1);
                    let end = valid[at..]
                        .find([' ', ']', ',', '\n'])
                        .map_or(valid.len(), |i| at + i);
                    format!("{}{token}{}", &valid[..start], &valid[end.max(start)..])
                }
                1 => valid
                    .lines()
                    .enumerate()
                    .filter(|(i, _)| *i != line)
                    .map(|(_, l)| format!("{l}\n"))
                    .collect(),
                2 => valid
                    .lines()
                    .enumerate()
                    .flat_map(|(i, l)| if i == line { vec![l, l] } else { vec![l] })
                    .map(|l| format!("{l}\n"))
                    .collect(),
                3 => valid[..at].to_string(),
                _ => format!("{}{token}{}", &valid[..at], &valid[at..]),
            }
        },
    )
}

fn text_cases(valid: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => mutated(valid),
        1 => ".{0,200}",
        1 => prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(CASES) })]

    #[test]
    fn fuzz_grid_files(text in text_cases(GRID)) {
        match Grid::parse(&text, "fuzz.toml") {
            Ok(grid) => {
                prop_assert!(!grid.is_empty() && grid.len() <= heaccel_cli::sweep::MAX_CONFIGS);
                // at most the first few points: each is validated or refused with the file named
                for i in 0..grid.len().min(4) {
                    if let Err(e) = grid.config(i) {
                        prop_assert!(format!("{e:#}").contains("fuzz.toml"), "{e:#}");
                    }
                }
            }
            Err(e) => prop_assert!(format!("{e:#}").contains("fuzz.toml"), "{e:#}"),
        }
    }

    #[test]
    fn fuzz_input_json(text in text_cases(INPUT)) {
        let shape = Shape { channels: 1, height: 2, width: 3 };
        match parse_input_json(&text, "fuzz.json", shape) {
            Ok(map) => prop_assert_eq!(map.data().len(), 6),
            Err(e) => prop_assert!(format!("{e:#}").contains("fuzz.json"), "{e:#}"),
        }
    }
}

const INPUT: &str = r#"{"input": [[[0.5, -1, 2], [3.25, 0, 1e-3]]]}"#;

#[test]
fn the_valid_inputs_parse() {
    assert_eq!(Grid::parse(GRID, "g").unwrap().len(), 24);
    let shape = Shape {
        channels: 1,
        height: 2,
        width: 3,
    };
    let map = parse_input_json(INPUT, "i", shape).unwrap();
    assert_eq!(map.data(), [0.5, -1.0, 2.0, 3.25, 0.0, 1e-3]);
}
