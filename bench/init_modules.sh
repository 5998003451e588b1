#!/usr/bin/env bash
# Benchmark: `init` of a configuration with 20 git modules served by `git daemon` on
# 127.0.0.1 (10 repositories with REPO_COMMITS commits of history each, ~20 KB of fresh data
# per commit, so a full clone costs what shallow fetching saves). Calls use tags, branches,
# a default branch and `//subdir`s; each repository is called twice.
# Prints cold (empty cache, new directory) and warm (cache filled by a previous run, new
# directory) wall-clock times of weir and Terraform side by side, and the ratio.
#
# Usage: bench/init_modules.sh
# Env:   WEIR=path/to/weir (default: target/release/weir, built if missing)
#        TERRAFORM=path (default: terraform on PATH)  REPO_COMMITS=N (default 300)
#        RUNS=N  runs per measurement, the median is printed (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
weir=${WEIR:-$root/target/release/weir}
if [ ! -x "$weir" ]; then
  cargo build --release -p cli >&2
fi
tf=${TERRAFORM:-$(command -v terraform || true)}
commits=${REPO_COMMITS:-300}
runs=${RUNS:-3}
work=$(mktemp -d)
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

# Repositories built with git fast-import: quick to create, real history to fetch.
mkdir -p "$work/srv"
for r in $(seq 1 10); do
  repo="$work/srv/mod$r.git"
  git init -q --bare "$repo"
  python3 - "$commits" "$r" <<'PY' | git -C "$repo" fast-import --quiet
import os, sys
n, r = int(sys.argv[1]), sys.argv[2]
def blob(data):
    sys.stdout.buffer.write(b"blob\nmark :%d\ndata %d\n" % (blob.mark, len(data)) + data + b"\n")
    blob.mark += 1
    return blob.mark - 1
blob.mark = 1
for i in range(n):
    main = ('output "rev" {\n  value = "mod%s-%d"\n}\n' % (r, i)).encode()
    sub = ('module "common" {\n  source = "../common"\n}\n').encode()
    common = b'output "x" {\n  value = 1\n}\n'
    data = os.urandom(10 * 1024).hex().encode()
    marks = [blob(main), blob(sub), blob(common), blob(data)]
    msg = b"commit %d\n" % i
    sys.stdout.buffer.write(b"commit refs/heads/main\nmark :%d\n" % (100000 + i))
    sys.stdout.buffer.write(b"committer bench <b@example.com> %d +0000\n" % (1700000000 + i))
    sys.stdout.buffer.write(b"data %d\n%s" % (len(msg), msg))
    if i > 0:
        sys.stdout.buffer.write(b"from :%d\n" % (100000 + i - 1))
    for m, p in zip(marks, [b"main.tf", b"modules/net/main.tf", b"modules/common/main.tf", b"data.txt"]):
        sys.stdout.buffer.write(b"M 100644 :%d %s\n" % (m, p))
    sys.stdout.buffer.write(b"\n")
sys.stdout.buffer.write(b"reset refs/tags/v1\nfrom :%d\n\n" % (100000 + n - 1))
PY
  git -C "$repo" branch -q stable main
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --base-path="$work/srv" --export-all --reuseaddr --listen=127.0.0.1 --port="$port" \
  "$work/srv" >/dev/null 2>&1 &
daemon_pid=$!
for _ in $(seq 1 50); do
  git ls-remote "git://127.0.0.1:$port/mod1.git" >/dev/null 2>&1 && break
  sleep 0.1
done

gen() { # dir
  local d=$1 u="git::git://127.0.0.1:$port"
  mkdir -p "$d"
  : > "$d/main.tf"
  for r in $(seq 1 10); do
    case $((r % 3)) in
      0) a="$u/mod$r.git?ref=v1";              b="$u/mod$r.git//modules/net?ref=v1" ;;
      1) a="$u/mod$r.git?ref=stable";          b="$u/mod$r.git//modules/net?ref=main" ;;
      2) a="$u/mod$r.git";                     b="$u/mod$r.git//modules/net?ref=v1&depth=1" ;;
    esac
    printf 'module "m%d_a" {\n  source = "%s"\n}\n\nmodule "m%d_b" {\n  source = "%s"\n}\n\n' \
      "$r" "$a" "$r" "$b" >> "$d/main.tf"
  done
}

# Median wall-clock seconds of `init` in fresh directories; $1 = label, rest = command.
median_init() {
  local tool=$1 cache=$2 times=() i d t0 t1
  for i in $(seq 1 "$runs"); do
    d="$work/run-$tool-$RANDOM-$i"
    gen "$d"
    if [ "$cache" = cold ]; then rm -rf "$work/cache"; fi
    t0=$(date +%s.%N)
    if [ "$tool" = weir ]; then
      WEIR_MODULE_CACHE_DIR="$work/cache" "$weir" -chdir="$d" init -no-color >/dev/null
    else
      "$tf" -chdir="$d" init -no-color -backend=false >/dev/null
    fi
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc)")
    rm -rf "$d"
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

wc=$(median_init weir cold)
ww=$(median_init weir warm)
if [ -n "$tf" ]; then
  tc=$(median_init terraform cold)
  tw=$(median_init terraform warm)
else
  tc=n/a tw=n/a
fi
printf '%-6s %12s %12s %12s\n' cache weir_s terraform_s speedup
for row in "cold $wc $tc" "warm $ww $tw"; do
  set -- $row
  if [ "$3" != n/a ]; then sp=$(echo "scale=1; $3 / $2" | bc); else sp=n/a; fi
  printf '%-6s %12s %12s %11sx\n' "$1" "$2" "$3" "$sp"
done
echo "(20 module calls over 10 repositories of $commits commits; median of $runs runs)"
