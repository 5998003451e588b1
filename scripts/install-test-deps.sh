#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Rust (idempotent; run as root in CI):
# cargo-nextest, moto (the AWS emulator the provider and s3 backend tests start on 127.0.0.1), and Debian
# packages: git (module sources, served by `git http-backend` and `git daemon` in the module tests),
# openssl (the proxy's TLS test makes its certificate with it) and PostgreSQL (the pg backend
# tests run initdb and pg_ctl themselves in a temporary directory; Debian puts them in
# /usr/lib/postgresql/<version>/bin).
set -euo pipefail
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
if ! python3 -c 'import moto' >/dev/null 2>&1; then
  python3 -m pip install --quiet 'moto[server]==5.2.5'
fi

apt_missing=()
command -v git >/dev/null 2>&1 || apt_missing+=(git)
command -v openssl >/dev/null 2>&1 || apt_missing+=(openssl)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_missing+=(postgresql)
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
  else
    echo "install-test-deps: missing ${apt_missing[*]} and apt-get is not available; tests that need them will skip" >&2
  fi
fi
