#!/usr/bin/env bash
# Records crates/cli/tests/migrate/schema1/: a working directory of weir from before the state
# of record moved to terraform.tfstate (commit d2b7b30, whose .weir/state.db is schema 1).
# Builds that weir in a temporary copy, applies two versions in `default` and one in `dev`,
# creates an empty workspace, leaves `dev` selected, and keeps the database and what
# `weir state pull` printed for each workspace (without the newline pull adds).
#
# Usage: scripts/record_schema1_fixture.sh [COMMIT]   (default: d2b7b30)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
commit=${1:-d2b7b30}
src=$(mktemp -d)
git archive "$commit" | tar -x -C "$src"
(cd "$src" && cargo build -p cli >&2)
weir="$src/target/debug/weir"
out="$root/crates/cli/tests/migrate/schema1"
d=$(mktemp -d)
cp "$out/main.tf" "$d/main.tf"
cd "$d"
export NO_COLOR=1
"$weir" apply -auto-approve >/dev/null
"$weir" apply -auto-approve -var v=two >/dev/null
"$weir" workspace new dev >/dev/null
"$weir" apply -auto-approve -var v=dev >/dev/null
"$weir" workspace new empty >/dev/null
"$weir" workspace select dev >/dev/null
"$weir" state pull | head -c -1 > "$out/dev.tfstate"
"$weir" workspace select default >/dev/null
"$weir" state pull | head -c -1 > "$out/default.tfstate"
"$weir" workspace select dev >/dev/null
# Fold the WAL into the database file so one file carries everything.
python3 -c "import sqlite3; sqlite3.connect('.weir/state.db').execute('pragma wal_checkpoint(TRUNCATE)')"
cp .weir/state.db "$out/state.db"
rm -rf "$d" "$src"
echo "wrote $out"
