#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Rust: cargo-nextest (if missing),
# moto (the AWS emulator the provider acceptance tests start on 127.0.0.1) and PostgreSQL.
set -euo pipefail
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
if ! python3 -c 'import moto' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'moto[server]==5.2.5'
fi
# PostgreSQL for the pg backend tests (crates/remotestate): they run initdb and pg_ctl themselves
# in a temporary directory. Debian puts them in /usr/lib/postgresql/<version>/bin.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "install-test-deps: PostgreSQL is missing and apt-get is not available; the pg backend tests will skip" >&2
  fi
fi
