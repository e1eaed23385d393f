//! Every command the README shows as runnable runs, and exits with status 0.
//!
//! The runnable commands are the lines of the README's fenced blocks tagged `sh` (blocks with
//! no tag, or another one, are illustrations and not run). In those blocks:
//!
//! - A line ending in `\` continues on the next one; `#` after a blank starts a comment.
//! - A line whose program is `heaccel` runs the binary built with this test
//!   (`env!("CARGO_BIN_EXE_heaccel")`); `bash bench/SCRIPT` runs the script under bash. Any
//!   other program fails the test unless it is in [`SKIPPED`]: README commands stay runnable.
//! - No shell is involved: arguments are split at blanks, so quotes, `$`, `|`, `;`, `&`, `<`,
//!   `>`, `*` and brackets are refused (write the command out in full).
//! - Each command runs in a new temporary folder of its own, so whatever it writes (reports,
//!   `--out` folders) never lands in the checkout. Arguments naming files of the repository
//!   (starting with `examples/`, `bench/`, `configs/`, `target/shared-data/`) and the test
//!   data beside it (`../shared/`) are resolved against the repository's root.
//! - A command naming `../shared/data` or `target/shared-data` (the project's test data,
//!   beside the checkout) is skipped with a printed notice when `../shared/data` is absent.
//! - [`SKIPPED`] lists, with the reason, the commands that are never run here.
//!
//! Also checked: every `examples/...` file that README.md or a `docs/*.md` page names exists
//! (but for the other projects' paths of [`FOREIGN_EXAMPLES`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Commands of the README's `sh` blocks that this test does not run (matched by prefix), and
/// why.
const SKIPPED: &[(&str, &str)] = &[
    (
        "cargo run --release",
        "the README's first command: it builds the release binary, and CI runs the main job \
         through it; the built binary's main job is `heaccel` itself",
    ),
    (
        "bash scripts/test.sh",
        "the README's second command: the whole test suite, which runs this test (it would \
         recurse)",
    ),
    (
        "heaccel infer-boot",
        "an encrypted ResNet-20 with bootstrapping at N = 2^16: minutes per image and about \
         20 GB of memory (CI runs the N = 2^12 variant in cli/tests/infer_boot.rs)",
    ),
];

/// `examples/` paths the docs cite from other projects' repositories (not checked).
const FOREIGN_EXAMPLES: &[(&str, &str)] = &[(
    "examples/singleparty/",
    "Lattigo's bootstrapping example, cited in docs/BOOTSTRAPPING.md",
)];

/// Argument prefixes that name files of the repository (resolved against its root).
const REPO_PATHS: &[&str] = &["examples/", "bench/", "configs/", "target/shared-data/"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// The commands of every fenced block tagged `sh`, continuation lines joined, comments and
/// blank lines removed, in README order.
fn sh_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut in_other = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(tag) = trimmed.strip_prefix("```") {
            if in_sh || in_other {
                assert!(
                    pending.is_empty(),
                    "a `\\` continuation runs past its block"
                );
                in_sh = false;
                in_other = false;
            } else if tag.trim() == "sh" {
                in_sh = true;
            } else {
                in_other = true;
            }
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = strip_comment(line);
        let (code, continues) = match code.trim_end().strip_suffix('\\') {
            Some(head) => (head, true),
            None => (code, false),
        };
        pending.push_str(code.trim());
        pending.push(' ');
        if !continues {
            let command = pending.split_whitespace().collect::<Vec<_>>().join(" ");
            if !command.is_empty() {
                commands.push(command);
            }
            pending.clear();
        }
    }
    assert!(
        !in_sh && !in_other,
        "a fenced block of the README is not closed"
    );
    commands
}

/// The line without a `#` comment (a `#` at the start or after a blank).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn skip_reason(command: &str) -> Option<&'static str> {
    SKIPPED
        .iter()
        .find(|(prefix, _)| command == *prefix || command.starts_with(&format!("{prefix} ")))
        .map(|(_, reason)| *reason)
}

fn needs_shared_data(command: &str) -> bool {
    command.contains("../shared/data") || command.contains("target/shared-data")
}

fn resolve(arg: &str, root: &Path) -> String {
    if arg.starts_with("../shared/") || REPO_PATHS.iter().any(|p| arg.starts_with(p)) {
        root.join(arg).display().to_string()
    } else {
        arg.to_string()
    }
}

/// A new empty folder for one command.
fn scratch(index: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "heaccel-readme-{}-{index}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir
}

#[test]
fn readme_sh_commands_run() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("read README.md");
    let commands = sh_commands(&readme);
    assert!(
        commands
            .iter()
            .filter(|c| c.starts_with("heaccel "))
            .count()
            >= 5,
        "the README's `sh` blocks hold fewer than 5 heaccel commands: {commands:?}"
    );
    let shared_data = root.join("../shared/data").is_dir();
    let (mut ran, mut skipped) = (0, 0);
    for (index, command) in commands.iter().enumerate() {
        if let Some(reason) = skip_reason(command) {
            eprintln!("skipped (listed): {command}\n    reason: {reason}");
            skipped += 1;
            continue;
        }
        if needs_shared_data(command) && !shared_data {
            eprintln!(
                "notice: {} is absent: skipping a README command that needs the shared test \
                 data: {command}",
                root.join("../shared/data").display()
            );
            skipped += 1;
            continue;
        }
        if let Some(bad) = command.chars().find(|c| "'\"$|;&<>*[]{}()`".contains(*c)) {
            panic!("README command {command:?} needs a shell ({bad:?}): write it out in full");
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        let (program, args): (PathBuf, &[&str]) = match words.as_slice() {
            ["heaccel", rest @ ..] => (PathBuf::from(env!("CARGO_BIN_EXE_heaccel")), rest),
            ["bash", script, ..] if script.starts_with("bench/") => {
                (PathBuf::from("bash"), &words[1..])
            }
            _ => panic!(
                "README command {command:?} is neither `heaccel ...` nor `bash bench/...`, \
                 and not in SKIPPED"
            ),
        };
        let dir = scratch(index);
        let start = Instant::now();
        let output = Command::new(&program)
            .args(args.iter().map(|a| resolve(a, &root)))
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("{command}: cannot start {}: {e}", program.display()));
        let seconds = start.elapsed().as_secs_f64();
        assert!(
            output.status.success(),
            "README command failed ({}): {command}\n(run in {})\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("ok ({seconds:.1} s): {command}");
        std::fs::remove_dir_all(&dir).ok();
        ran += 1;
    }
    eprintln!("{ran} README commands ran, {skipped} skipped");
}

#[test]
fn example_files_named_in_the_docs_exist() {
    let root = repo_root();
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("read docs/") {
        let path = entry.expect("docs/ entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut named = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("read a page");
        for (at, _) in text.match_indices("examples/") {
            // only a path of this repository: `examples/` at the start of a word
            if at > 0 && !" `([".contains(&text[at - 1..at]) {
                continue;
            }
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
                .collect();
            let path = path.trim_end_matches('.');
            if path == "examples/" || FOREIGN_EXAMPLES.iter().any(|(p, _)| path.starts_with(p)) {
                continue;
            }
            assert!(
                root.join(path).exists(),
                "{} names {path}, which does not exist",
                page.display()
            );
            named += 1;
        }
    }
    assert!(named > 0, "no example file named in README.md or docs/");
}

#[test]
fn parser_joins_continuations_and_drops_comments() {
    let md = "text\n```sh\nheaccel a \\\n  --b c   # note\n# only a comment\n\nheaccel d\n```\n\
              ```\nheaccel not-run\n```\n```toml\nx = 1 # y\n```\n";
    assert_eq!(sh_commands(md), vec!["heaccel a --b c", "heaccel d"]);
    assert_eq!(strip_comment("heaccel x#y # z"), "heaccel x#y ");
    assert!(skip_reason("heaccel infer-boot --model resnet20").is_some());
    assert!(skip_reason("heaccel infer --model lenet").is_none());
}
