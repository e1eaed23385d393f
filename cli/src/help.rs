//! The examples every `heaccel` command's help ends with, in one table: [`with_examples`]
//! attaches them to clap's command tree (as `after_help`, printed verbatim by `-h` and
//! `--help`). A command of the tree without an entry keeps the help its doc comment gives;
//! cli/tests/help.rs walks the tree and fails on any command whose help has no example.

/// `(command path, example lines)`; each line is a complete command.
pub const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "heaccel",
            "heaccel --out my-report",
            "heaccel infer --model lenet --verify",
            "heaccel simulate --model lenet --config fpga-u280 --svg lenet.svg",
            "heaccel sweep --model lenet --grid grid.toml --jobs 2 --out sweep-out",
        ],
    ),
    (
        "ckks",
        &["heaccel ckks report --preset spencnn-n14 --json", "heaccel ckks presets"],
    ),
    ("ckks report", &["heaccel ckks report --preset spencnn-n14 --json"]),
    (
        "ckks params",
        &["heaccel ckks params --preset spencnn-n14", "heaccel ckks params --params my.toml"],
    ),
    ("ckks presets", &["heaccel ckks presets"]),
    (
        "ckks kernels",
        &[
            "heaccel ckks kernels --preset n16-boot",
            "heaccel --threads 1 ckks kernels --preset boot-test --allow-insecure --json",
        ],
    ),
    (
        "ckks bootstrap",
        &[
            "heaccel ckks bootstrap --preset boot-test --allow-insecure",
            "heaccel ckks bootstrap --preset n16-boot --json",
            "heaccel --threads 1 ckks bootstrap --preset n16-boot --json",
            "heaccel ckks bootstrap --preset boot-test --allow-insecure --slots 256 --arcsine-degree 5",
        ],
    ),
    (
        "simulate",
        &[
            "heaccel simulate --op hrot --log-n 16 --levels 35 --dnum 3 --config fpga-u280",
            "heaccel simulate --op bootstrap --config asic --svg boot.svg",
            "heaccel simulate --op bootstrap --config fpga-u280 --ckks-preset boot-test --allow-insecure --functional",
            "heaccel simulate --program prog.json --config asic --json",
            "heaccel simulate --op hrot --config asic --set scratchpad_mib=256 --set modmul.lanes=2048 --json",
            "heaccel simulate --model lenet --strategy spencnn --prune 0.5 --config asic --svg lenet.svg",
            "heaccel simulate --model resnet20 --weights resnet20.safetensors --activation relu-minimax:8 --strategy dense --config asic",
        ],
    ),
    (
        "compare",
        &[
            "heaccel compare --model vgg5 --config fpga-u280 --json",
            "heaccel compare --model lenet --config asic --set memory.bandwidth_gb_s=500",
        ],
    ),
    (
        "infer",
        &[
            "heaccel infer --model lenet --verify",
            "heaccel infer --model hefnet --count 3 --backend reference --json",
            "heaccel infer --model lenet --input digit.safetensors --verify",
        ],
    ),
    (
        "infer-boot",
        &[
            "heaccel infer-boot --model resnet20 --weights resnet20.safetensors --data cifar10/test --count 2",
            "heaccel infer-boot --model resnet20 --weights resnet20.safetensors --data cifar10/test --preset boot-test --allow-insecure --activation relu-minimax:4 --count 1 --verify",
            "heaccel infer-boot --model resnet20 --weights resnet20.safetensors --data cifar10/test --count 100 --slurm --array-size 50 --time 2:00:00 --submit",
        ],
    ),
    (
        "train",
        &[
            "heaccel train --model lenet --data ../shared/data/mnist-10k --out lenet.safetensors",
            "heaccel train --model lenet --data mnist --strategy dense --epochs 12 --seed 7 --out lenet-dense.safetensors --json",
            "heaccel train --model vgg5 --data cifar10 --out vgg5.safetensors",
            "heaccel train --model hefnet --data cifar10 --train-images 5000 --test-images 1000 --epochs 2 --out hefnet.safetensors --json",
        ],
    ),
    (
        "tradeoff",
        &[
            "heaccel tradeoff --model lenet --data ../shared/data/mnist-10k --ratios 0,0.25,0.5,0.75,0.9 --preset fpga-u280 --out lenet-tradeoff",
            "heaccel tradeoff --model hefnet --data cifar10 --ratios 0,0.5,0.9 --epochs 20 --finetune-epochs 5 --preset asic --out hefnet-tradeoff --json",
        ],
    ),
    (
        "accuracy",
        &[
            "heaccel accuracy --model resnet20 --weights resnet20.safetensors --data cifar10/test",
            "heaccel accuracy --model resnet20 --weights resnet20.safetensors --data cifar10/test --activation relu-minimax:13 --per-class 100 --json",
            "heaccel accuracy --model lenet --weights lenet.safetensors --data mnist --per-class 50",
            "heaccel accuracy --model resnet56 --weights resnet56.safetensors --data cifar10/test --activation relu-minimax:14 --shard 2/8 --shard-dir shards",
        ],
    ),
    (
        "verilog",
        &["heaccel verilog --block ntt --log-n 10 --lanes 8 --out ntt-rtl"],
    ),
    ("verify", &["heaccel verify rtl --no-verilator"]),
    (
        "verify rtl",
        &[
            "heaccel verify rtl --no-verilator --json",
            "heaccel verify rtl --block modmul --vcd modmul.vcd",
        ],
    ),
    (
        "verify core",
        &[
            "heaccel verify core --program examples/core/mul_rotate_n1024.json --lanes 4",
            "heaccel verify core --program prog.json --no-verilator --json",
        ],
    ),
    (
        "sweep",
        &[
            "heaccel sweep --op hrot --grid grid.toml --jobs 2 --out sweep-out",
            "heaccel sweep --model lenet --strategy spencnn --prune 0.5 --grid grid.toml --json",
            "heaccel sweep --op hrot --grid grid.toml --set scratchpad_mib=64 --out sweep-small",
            "heaccel sweep --model vgg5 --grid grid.toml --out run --shard 3/8",
            "heaccel sweep --model lenet --grid grid.toml --out run --slurm --array-size 4 --partition debug --time 10:00 --submit",
        ],
    ),
    (
        "merge",
        &[
            "heaccel merge run/shards --out run",
            "heaccel merge node1/shards node2/shards --out merged --json",
        ],
    ),
    (
        "fpga",
        &["heaccel fpga build --target u280 --lanes 8 --log-n 12 --out u280-build"],
    ),
    (
        "fpga build",
        &[
            "heaccel fpga build --target u280 --lanes 8 --log-n 12 --out u280-build",
            "heaccel fpga build --target generic --lanes 4 --log-n 10 --clock-mhz 250 --out gen",
            "heaccel fpga build --target u280 --design core --lanes 4 --log-n 10 --primes 2 --out core",
        ],
    ),
    (
        "fpga estimate",
        &[
            "heaccel fpga estimate --lanes 8 --fit-lanes 16 --log-n 12 --out est --json",
            "heaccel fpga estimate --lanes 2 --log-n 8 --write-preset my-u280.toml",
            "heaccel fpga estimate --design core --lanes 1 --fit-lanes 2 --log-n 5 --out core-est",
            "heaccel fpga estimate --design core --lanes 8 --fit-lanes 64 --log-n 12 --write-preset configs/fpga-u280.toml",
        ],
    ),
    ("approx", &["heaccel approx sign --alpha 13"]),
    (
        "approx sign",
        &[
            "heaccel approx sign --alpha 13",
            "heaccel approx sign --degrees 7,15,27 --eps 0.001 --json",
        ],
    ),
];

/// The `after_help` text of `lines`.
fn examples_text(lines: &[&str]) -> String {
    let mut s = String::from(if lines.len() == 1 {
        "Example:"
    } else {
        "Examples:"
    });
    for line in lines {
        s.push_str("\n  ");
        s.push_str(line);
    }
    s
}

/// `command` with the examples of [`EXAMPLES`] attached to it and its subcommands.
/// Also lets every command take negative numbers as option values, so a negative count gets
/// clap's clear "invalid value" error.
pub fn with_examples(command: clap::Command) -> clap::Command {
    attach(command, "")
}

fn attach(mut command: clap::Command, path: &str) -> clap::Command {
    // `--count -1` is a value clap then refuses as out of range or not a number, instead of
    // "unexpected argument '-1' found".
    command = command.allow_negative_numbers(true);
    if let Some((_, lines)) = EXAMPLES.iter().find(|(p, _)| *p == path) {
        command = command.after_help(examples_text(lines));
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        command = command.mut_subcommand(&name, |s| attach(s, &sub_path));
    }
    command
}
