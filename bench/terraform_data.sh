#!/usr/bin/env bash
# Benchmark: N × terraform_data where half refer to the other half
# (terraform_data.y[i].input = terraform_data.x[i].output). Prints, for each N, the apply
# time and CPU time, the apply's peak RSS, the no-op plan time and CPU time, and the size of
# the state of record (terraform.tfstate) of weir — and of Terraform when it is installed
# (only for N ≤ TF_MAX, default 1000, because Terraform grows quadratically).
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

# Runs a command; prints "seconds peak_rss_mb cpu_seconds" (GNU time's wall clock, max RSS and
# user+system CPU time; CPU time is the steadier figure on a machine shared with other work).
measure() {
  local f
  f=$(mktemp)
  if /usr/bin/time -o "$f" -f '%e %M %U %S' "$@" >/dev/null 2>&1; then
    awk '{printf "%.3f %.0f %.2f\n", $1, $2/1024, $3+$4}' "$f"
  else
    echo "FAILED FAILED FAILED"
  fi
  rm -f "$f"
}

# Size of the state of record Terraform reads (terraform.tfstate), "-" when there is none.
state_mb() {
  if [ -s "$1/terraform.tfstate" ]; then
    awk '{printf "%.1f\n", $1/1048576}' < <(stat -c %s "$1/terraform.tfstate")
  else
    echo -
  fi
}

row() { printf '%-10s %-9s %10s %10s %14s %12s %10s %12s\n' "$@"; }
row tool resources apply_s apply_cpu apply_rss_mb noop_plan_s plan_cpu tfstate_mb
for n in "${sizes[@]}"; do
  d=$(mktemp -d)
  gen "$d" "$n"
  read -r at am ac < <(measure "$weir" -chdir="$d" apply -auto-approve -no-color)
  read -r pt _ pc < <(measure "$weir" -chdir="$d" plan -no-color)
  row weir "$n" "$at" "$ac" "$am" "$pt" "$pc" "$(state_mb "$d")"
  rm -rf "$d"
  if [ -n "$tf" ] && [ "$n" -le "$tf_max" ]; then
    d=$(mktemp -d)
    gen "$d" "$n"
    (cd "$d" && "$tf" init -no-color >/dev/null)
    read -r at am ac < <(measure "$tf" -chdir="$d" apply -auto-approve -no-color)
    read -r pt _ pc < <(measure "$tf" -chdir="$d" plan -no-color)
    row terraform "$n" "$at" "$ac" "$am" "$pt" "$pc" "$(state_mb "$d")"
    rm -rf "$d"
  elif [ -z "$tf" ]; then
    printf '%-10s %-9s %s\n' terraform "$n" "(not installed)"
  else
    printf '%-10s %-9s %s\n' terraform "$n" "(skipped: N > TF_MAX=$tf_max)"
  fi
done
