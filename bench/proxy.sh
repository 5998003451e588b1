#!/usr/bin/env bash
# Throughput and latency of `weir proxy` next to nginx as a reverse proxy, both in front of the
# same upstream (nginx serving a small static file), all on 127.0.0.1 with the same wrk settings:
#
#   direct   wrk → upstream
#   nginx    wrk → nginx (proxy_pass, keepalive upstream, 2 workers) → upstream
#   weir     wrk → weir proxy (release build, 2 runtime threads) → upstream
#
# Usage: bench/proxy.sh [SECONDS] [CONNECTIONS] [ROUNDS]   (defaults: 5 s, 64 connections, 3 rounds)
# WEIR_BIN=path/to/weir skips the release build. Installs nginx and wrk with apt when missing.
# Every run is bounded (wrk -d) and talks to 127.0.0.1 only.
set -euo pipefail

DURATION=${1:-5}
CONNS=${2:-64}
ROUNDS=${3:-3}
THREADS=2
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  echo "installing nginx and wrk..." >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light wrk >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [[ -z "${WEIR_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build --release -q -p cli)
  WEIR_BIN="$ROOT/target/release/weir"
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  exit 1
}

UP=$(free_port); NG=$(free_port); WP=$(free_port); WA=$(free_port)
mkdir -p "$WORK/www" "$WORK/up" "$WORK/ng"
# nginx's workers run as nobody: they must be able to read the file.
chmod 755 "$WORK" "$WORK/www"
# A typical small API answer.
head -c 512 /dev/zero | tr '\0' 'x' >"$WORK/www/index.html"

nginx_conf() { # dir workers server-block
  cat >"$1/nginx.conf" <<EOF
worker_processes $2;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $1/body;
  proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/fastcgi;
  uwsgi_temp_path $1/uwsgi;
  scgi_temp_path $1/scgi;
  keepalive_requests 1000000;
  $3
}
EOF
}

nginx_conf "$WORK/up" 1 "server { listen 127.0.0.1:$UP; root $WORK/www; }"
nginx_conf "$WORK/ng" 2 "upstream app { server 127.0.0.1:$UP; keepalive 128; }
  server {
    listen 127.0.0.1:$NG;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }"

"$NGINX" -e "$WORK/up/error.log" -c "$WORK/up/nginx.conf" & PIDS+=($!)
"$NGINX" -e "$WORK/ng/error.log" -c "$WORK/ng/nginx.conf" & PIDS+=($!)
TOKEN=bench-$RANDOM$RANDOM
echo "$TOKEN" >"$WORK/token"
"$WEIR_BIN" proxy -listen "127.0.0.1:$WP" -admin-listen "127.0.0.1:$WA" \
  -token-file "$WORK/token" -state-file "$WORK/weir-state.json" 2>"$WORK/weir.log" & PIDS+=($!)
wait_port "$UP"; wait_port "$NG"; wait_port "$WA"; wait_port "$WP"
curl -sf -X PUT -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$WA/v1/services/bench" \
  -d "{\"default\": true, \"versions\": [{\"name\": \"v1\", \"weight\": 100, \"targets\": [\"127.0.0.1:$UP\"]}]}" >/dev/null

# wrk's latency distribution prints "50%  1.23ms"; normalise to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    printf "%.2f", n }'
}

declare -A RPS P50 P99
measure() { # name port
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$2/")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    echo "$1: errors during the run:" >&2
    echo "$out" >&2
  fi
  RPS[$1]+="$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out") "
  P50[$1]+="$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")") "
  P99[$1]+="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")") "
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

TARGETS=(direct nginx weir)
declare -A PORT=([direct]=$UP [nginx]=$NG [weir]=$WP)
for t in "${TARGETS[@]}"; do
  if ! curl -sf -o /dev/null "http://127.0.0.1:${PORT[$t]}/"; then
    echo "$t (port ${PORT[$t]}) does not answer 200:" >&2
    curl -si "http://127.0.0.1:${PORT[$t]}/" >&2 || true
    exit 1
  fi
  wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:${PORT[$t]}/" >/dev/null # warm-up
done
# Rounds interleave the targets, so a change in background load hits all of them alike.
for round in $(seq "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do measure "$t" "${PORT[$t]}"; done
done

echo
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s x $ROUNDS rounds (medians), 512-byte static file,"
echo "$(nproc) cores shared by wrk, upstream and proxy; load average before: $LOAD_BEFORE"
printf "%-8s %12s %10s %10s   %s\n" target "req/s" "p50 ms" "p99 ms" "req/s per round"
for t in "${TARGETS[@]}"; do
  printf "%-8s %12s %10s %10s   %s\n" "$t" "$(median "${RPS[$t]}")" "$(median "${P50[$t]}")" "$(median "${P99[$t]}")" "${RPS[$t]}"
done
awk -v n="$(median "${RPS[nginx]}")" -v w="$(median "${RPS[weir]}")" \
  'BEGIN { printf "nginx/weir throughput ratio: %.2f (target: at most 1.50)\n", n / w }'
