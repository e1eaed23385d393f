//! Every command's `--help` ends with an example of itself, and every example's flags and
//! values parse (each is run with `--help` appended: clap rejects an unknown flag or a bad
//! value before it prints the help). The command tree is walked through the binary's own
//! `Commands:` lists, so a new subcommand without an example fails here.

use std::process::Command;

fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_heaccel"))
        .args(path)
        .arg("--help")
        .output()
        .expect("the heaccel binary runs");
    assert!(out.status.success(), "{path:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommand names of a help text's `Commands:` section (without `help`).
fn subcommands(text: &str) -> Vec<String> {
    let Some((_, rest)) = text.split_once("\nCommands:\n") else {
        return vec![];
    };
    rest.lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The example lines after `Example:` or `Examples:`.
fn examples(text: &str) -> Vec<&str> {
    let Some((_, rest)) = text
        .split_once("\nExamples:\n")
        .or_else(|| text.split_once("\nExample:\n"))
    else {
        return vec![];
    };
    rest.lines()
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect()
}

#[test]
fn every_command_help_has_an_example_that_parses() {
    let mut queue: Vec<Vec<String>> = vec![vec![]];
    let mut seen = Vec::new();
    while let Some(path) = queue.pop() {
        let text = help(&path);
        let prefix = ["heaccel".to_string()]
            .iter()
            .chain(&path)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let lines = examples(&text);
        assert!(
            !lines.is_empty(),
            "`{prefix} --help` has no example:\n{text}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "`{prefix} --help`: no example of `{prefix}`: {lines:?}"
        );
        for line in &lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words[0], "heaccel", "{line}");
            let out = Command::new(env!("CARGO_BIN_EXE_heaccel"))
                .args(&words[1..])
                .arg("--help")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "example `{line}` does not parse: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for name in subcommands(&text) {
            let mut sub = path.clone();
            sub.push(name);
            queue.push(sub);
        }
        seen.push(prefix);
    }
    // the walk reached the leaves
    for leaf in [
        "heaccel ckks report",
        "heaccel verify rtl",
        "heaccel approx sign",
    ] {
        assert!(
            seen.iter().any(|s| s == leaf),
            "{leaf} not reached: {seen:?}"
        );
    }
}
