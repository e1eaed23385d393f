#!/usr/bin/env bash
# The project's test command (the README's second command; .ci/run calls it).
# Installs what the tests need, then checks formatting, lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Rust components used below (present on the project's machines; installed if missing).
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi

# HDL tools for the Verilog co-simulations, lint and synthesis of hdl/ (tests skip a tool,
# with a notice, only where it is absent and cannot be installed here).
missing=()
for tool in iverilog verilator yosys; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog verilator yosys
  else
    echo "notice: ${missing[*]} missing and not root: hdl co-simulation steps will be skipped" >&2
  fi
fi

# Slurm (slurmctld, slurmd, sbatch) and munge for the Slurm end-to-end test below; it skips
# with a notice where they cannot be installed or cannot start.
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; } \
      || echo "notice: slurm-wlm/munge could not be installed: the Slurm end-to-end test will be skipped" >&2
  else
    echo "notice: slurm-wlm/munge missing and not root: the Slurm end-to-end test will be skipped" >&2
  fi
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked

# Sharded sweeps on a real (single-node) Slurm: array of 4 + merge job, byte-identical to the
# unsharded run, and a resubmission that reruns only a lost shard.
[ -x target/debug/heaccel ] || cargo build --locked --bin heaccel
bash scripts/slurm-e2e.sh target/debug/heaccel
