#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Rust: cargo-nextest (if missing),
# moto (the AWS emulator the provider acceptance tests start on 127.0.0.1) and git (module sources,
# served by `git http-backend` and `git daemon` in the module tests).
set -euo pipefail
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
if ! python3 -c 'import moto' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'moto[server]==5.2.5'
fi
if ! command -v git >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq git >/dev/null
fi
