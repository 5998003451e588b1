#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Rust: cargo-nextest (if missing)
# and moto (the AWS emulator the provider acceptance tests start on 127.0.0.1).
set -euo pipefail
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
if ! python3 -c 'import moto' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'moto[server]==5.2.5'
fi
# The proxy's TLS test makes its certificate with the openssl command.
if ! command -v openssl >/dev/null 2>&1; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl
fi
