#!/usr/bin/env bash
# The whole test suite: installs test dependencies, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo nextest run --workspace --no-fail-fast "$@"
