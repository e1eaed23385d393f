#!/usr/bin/env bash
# Prints the CIFAR-10 JPEG ImageFolder root (with train/ and test/), extracting
# ../shared/data/cifar10-jpeg.tar.gz once into target/shared-data/ (into a temporary folder,
# then renamed, so an interrupted extraction is never taken for a whole one).
# Used by bench/accuracy_table.sh and bench/resnet20_encrypted.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/data
[ -d "$shared" ] || { echo "cifar10_dir.sh: $shared is absent" >&2; exit 1; }
data=target/shared-data/cifar10
if [ ! -d "$data/test" ] || [ ! -d "$data/train" ]; then
  mkdir -p target/shared-data
  partial=$(mktemp -d target/shared-data/partial.XXXXXX)
  tar -xzf "$shared/cifar10-jpeg.tar.gz" -C "$partial"
  rm -rf "$data"
  mv "$partial/cifar10" "$data"
  rmdir "$partial"
fi
echo "$data"
