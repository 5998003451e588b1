#!/usr/bin/env bash
# Records crates/remotestate/tests/golden/{s3,http}_backend_state.json: what `terraform init`
# writes to .terraform/terraform.tfstate for the backend blocks in golden/{s3,http}_backend.tf.
# Needs terraform 1.11.4 and moto_server; uses the fixed ports 45123 (moto) and 45124 (a static
# HTTP server) that the blocks name, so the recorded configuration is reproducible.
set -euo pipefail
golden="$(cd "$(dirname "$0")/../crates/remotestate/tests/golden" && pwd)"
work="$(mktemp -d)"
cleanup() { kill "${moto_pid:-}" "${http_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
moto_server -H 127.0.0.1 -p 45123 >/dev/null 2>&1 & moto_pid=$!
python3 -m http.server 45124 --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 & http_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:45123/ && break; sleep 0.1; done
curl -s -X PUT http://127.0.0.1:45123/tfbucket -o /dev/null
for kind in s3 http; do
  mkdir -p "$work/$kind"
  { echo "terraform {"; cat "$golden/${kind}_backend.tf"; echo "}"; } > "$work/$kind/main.tf"
  (cd "$work/$kind" && TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 terraform init -input=false -no-color >/dev/null)
  cp "$work/$kind/.terraform/terraform.tfstate" "$golden/${kind}_backend_state.json"
done
echo "recorded into $golden"
