#!/usr/bin/env bash
# Per-operation latency (get, put, lock, unlock) of the remote state backends on a 1,000-resource
# terraform_data state, against local servers started by the harness: the http state server of
# the tests, PostgreSQL (initdb + pg_ctl) and moto (S3 with S3-native or DynamoDB locking).
# Loopback servers: the figures are weir's own overhead plus the server's, not network latency.
#
#   bench/backends.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release -q -p remotestate --test it -- --ignored --nocapture --test-threads=1 bench_backends 2>&1 |
  grep -E '^(http|pg|s3)|SKIPPED'
