#!/usr/bin/env bash
# Benchmark: parsing one huge list literal (`locals { x = [0, 1, …, N-1] }`). Prints, for each N,
# the wall time and peak RSS of `validate` for weir — and for Terraform when it is installed.
# Parsing was quadratic in the list's length (every element's column was counted from the start
# of its line); it must stay linear.
#
# Usage: bench/parse_list.sh [N ...]            (default: 2000000)
# Env:   WEIR=path/to/weir (default: target/release/weir, built if missing)
#        TERRAFORM=path (default: terraform on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(2000000)
weir=${WEIR:-$root/target/release/weir}
if [ ! -x "$weir" ]; then
  cargo build --release -p cli >&2
fi
tf=${TERRAFORM:-$(command -v terraform || true)}
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

# Runs a command in a directory; prints "seconds peak_rss_mb exit_code".
measure() {
  local dir=$1; shift
  local t code=0
  t=$(mktemp)
  (cd "$dir" && /usr/bin/time -o "$t" -f '%e %M' "$@" >/dev/null 2>&1) || code=$?
  read -r secs kb < <(tail -1 "$t")
  rm -f "$t"
  echo "$secs $((kb / 1024)) $code"
}

printf '%-10s %-10s %10s %10s %6s\n' N tool seconds peak_MB exit
for n in "${sizes[@]}"; do
  dir=$(mktemp -d)
  python3 - "$n" > "$dir/main.tf" <<'PY'
import sys
n = int(sys.argv[1])
sys.stdout.write("locals {\n  x = [")
sys.stdout.write(", ".join(map(str, range(n))))
sys.stdout.write("]\n}\n")
PY
  read -r s m c <<<"$(measure "$dir" "$weir" validate)"
  printf '%-10s %-10s %10s %10s %6s\n' "$n" weir "$s" "$m" "$c"
  if [ -n "$tf" ] && [ -x "$tf" ]; then
    read -r s m c <<<"$(measure "$dir" "$tf" validate)"
    printf '%-10s %-10s %10s %10s %6s\n' "$n" terraform "$s" "$m" "$c"
  fi
  rm -rf "$dir"
done
