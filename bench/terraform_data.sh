#!/usr/bin/env bash
# Benchmark: N × terraform_data where half refer to the other half
# (terraform_data.y[i].input = terraform_data.x[i].output). Prints, for each N, the apply
# time, the apply's peak RSS and the no-op plan time of weir — and of Terraform when it is
# installed (only for N ≤ TF_MAX, default 1000, because Terraform grows quadratically).
#
# Usage: bench/terraform_data.sh [N ...]        (default: 1000 4000 100000)
# Env:   WEIR=path/to/weir (default: target/release/weir, built if missing)
#        TF_MAX=N  largest N to run Terraform on; TERRAFORM=path (default: terraform on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 4000 100000)
weir=${WEIR:-$root/target/release/weir}
if [ ! -x "$weir" ]; then
  cargo build --release -p cli >&2
fi
tf=${TERRAFORM:-$(command -v terraform || true)}
tf_max=${TF_MAX:-1000}
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

gen() { # dir n
  local half=$(( $2 / 2 ))
  cat > "$1/main.tf" <<TF
resource "terraform_data" "x" {
  count = $half
  input = "value-\${count.index}"
}

resource "terraform_data" "y" {
  count = $half
  input = terraform_data.x[count.index].output
}
TF
}

# Runs a command; prints "seconds peak_rss_mb" (GNU time's wall clock and max RSS).
measure() {
  local f
  f=$(mktemp)
  if /usr/bin/time -o "$f" -f '%e %M' "$@" >/dev/null 2>&1; then
    awk '{printf "%.3f %.0f\n", $1, $2/1024}' "$f"
  else
    echo "FAILED FAILED"
  fi
  rm -f "$f"
}

printf '%-10s %-9s %10s %14s %12s\n' tool resources apply_s apply_rss_mb noop_plan_s
for n in "${sizes[@]}"; do
  d=$(mktemp -d)
  gen "$d" "$n"
  read -r at am < <(measure "$weir" -chdir="$d" apply -auto-approve -no-color)
  read -r pt _ < <(measure "$weir" -chdir="$d" plan -no-color)
  printf '%-10s %-9s %10s %14s %12s\n' weir "$n" "$at" "$am" "$pt"
  rm -rf "$d"
  if [ -n "$tf" ] && [ "$n" -le "$tf_max" ]; then
    d=$(mktemp -d)
    gen "$d" "$n"
    (cd "$d" && "$tf" init -no-color >/dev/null)
    read -r at am < <(measure "$tf" -chdir="$d" apply -auto-approve -no-color)
    read -r pt _ < <(measure "$tf" -chdir="$d" plan -no-color)
    printf '%-10s %-9s %10s %14s %12s\n' terraform "$n" "$at" "$am" "$pt"
    rm -rf "$d"
  elif [ -z "$tf" ]; then
    printf '%-10s %-9s %s\n' terraform "$n" "(not installed)"
  else
    printf '%-10s %-9s %s\n' terraform "$n" "(skipped: N > TF_MAX=$tf_max)"
  fi
done
