#!/usr/bin/env bash
# Benchmark: the memory and time of planning one `terraform_data` resource with a large
# `count`, and what one more instance costs. For each N it prints the plan's wall time and
# peak RSS, and the marginal bytes per instance against the smallest N:
#   (rss(N) - rss(N0)) / (N - N0).
# Terraform is measured too where it is installed, for N ≤ TF_MAX (default 10000: Terraform
# takes over ten minutes and about 2 GB for 100000).
#
# Usage: bench/count_memory.sh [N ...]          (default: 1000 100000 1000000)
# Env:   WEIR=path/to/weir (default: target/release/weir, built if missing)
#        TF_MAX=N  largest N to run Terraform on; TERRAFORM=path (default: terraform on PATH)
#        PLAN_ARGS extra plan arguments (e.g. "-out=plan.bin" to include writing the plan)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000 1000000)
weir=${WEIR:-$root/target/release/weir}
weir=$(realpath -m "$weir")
if [ ! -x "$weir" ]; then
  cargo build --release -p cli >&2
fi
tf=${TERRAFORM:-$(command -v terraform || true)}
tf_max=${TF_MAX:-10000}
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

gen() { # dir n
  printf 'resource "terraform_data" "x" {\n  count = %s\n}\n' "$2" > "$1/main.tf"
}

# Runs a command; prints "seconds peak_rss_kb" (GNU time's wall clock and max RSS).
measure() {
  local f
  f=$(mktemp)
  if /usr/bin/time -o "$f" -f '%e %M' "$@" >/dev/null 2>&1; then
    cat "$f"
  else
    echo "FAILED FAILED"
  fi
  rm -f "$f"
}

run() { # tool program n → "seconds rss_kb"
  local d
  d=$(mktemp -d)
  gen "$d" "$3"
  if [ "$1" = terraform ]; then
    (cd "$d" && "$2" init -no-color >/dev/null)
  fi
  # shellcheck disable=SC2086
  (cd "$d" && measure "$2" plan -no-color -input=false ${PLAN_ARGS:-})
  rm -rf "$d"
}

printf '%-10s %10s %10s %12s %14s\n' tool instances plan_s peak_rss_mb bytes_per_inst
for tool in weir terraform; do
  if [ "$tool" = weir ]; then prog=$weir; else prog=$tf; fi
  if [ -z "$prog" ]; then
    printf '%-10s %s\n' "$tool" "(not installed)"
    continue
  fi
  base_n=""
  base_rss=""
  for n in "${sizes[@]}"; do
    if [ "$tool" = terraform ] && [ "$n" -gt "$tf_max" ]; then
      printf '%-10s %10s %s\n' "$tool" "$n" "(skipped: N > TF_MAX=$tf_max)"
      continue
    fi
    read -r secs rss < <(run "$tool" "$prog" "$n")
    per="-"
    if [ "$rss" != FAILED ]; then
      if [ -z "$base_n" ]; then
        base_n=$n
        base_rss=$rss
      elif [ "$n" -gt "$base_n" ]; then
        per=$(( (rss - base_rss) * 1024 / (n - base_n) ))
      fi
      rss=$(( rss / 1024 ))
    fi
    printf '%-10s %10s %10s %12s %14s\n' "$tool" "$n" "$secs" "$rss" "$per"
  done
done
