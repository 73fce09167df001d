#!/usr/bin/env bash
# Flagon (examples/tfb) against the axum baseline (bench/axum-baseline) on
# the six TechEmpower tests, in one run on this machine. Run bench/setup.sh
# once first. Each test runs A B A B (Flagon, axum, Flagon, axum) to cancel
# drift; the server is pinned to core 0 and wrk to core 1 (PostgreSQL runs
# where the kernel puts it, the same for both). Prints one table: requests
# per second, p50 and p99 latency, peak RSS, and the Flagon/axum ratio.
#
#   DURATION=10 CONNECTIONS=64 bench/run.sh
#   ONLY=json bench/run.sh          # the tests whose names contain "json"
#   FLAGON_BIN=/tmp/tfb-new BASELINE_BIN=/tmp/tfb-old bench/run.sh
#                                   # two builds of tfb against each other
#                                   # (the "axum" columns are the baseline)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18080}
DATABASE_URL=${DATABASE_URL:-postgres://benchmarkdbuser:benchmarkdbpass@127.0.0.1:5432/hello_world}
export DATABASE_URL

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }

if [ -z "${FLAGON_BIN:-}" ]; then
  echo "building tfb in release" >&2
  cargo build --release -p tfb >&2
  FLAGON_BIN=target/release/tfb
fi
if [ -n "${BASELINE_BIN:-}" ]; then
  AXUM_BIN=$BASELINE_BIN
else
  echo "building the axum baseline in release" >&2
  cargo build --release --manifest-path bench/axum-baseline/Cargo.toml >&2
  AXUM_BIN=bench/axum-baseline/target/release/axum-baseline
fi

# name|path|pipeline depth
TESTS=(
  "plaintext|/plaintext|1"
  "plaintext (pipelined 16)|/plaintext|16"
  "json|/json|1"
  "db|/db|1"
  "queries (20)|/queries?queries=20|1"
  "fortunes|/fortunes|1"
  "updates (20)|/updates?queries=20|1"
)

RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"; kill "${SERVER_PID:-0}" 2>/dev/null || true' EXIT

start_server() { # start_server BINARY
  PORT=$PORT FLAGON_ADDR=127.0.0.1:$PORT taskset -c 0 "$1" >/dev/null 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    if curl -s -o /dev/null "http://127.0.0.1:$PORT/plaintext"; then return 0; fi
    sleep 0.05
  done
  echo "$1 did not start" >&2
  exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

to_ms() { # 512.00us | 2.10ms | 1.20s -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n = n * 1000
    printf "%.2f", n }'
}

measure() { # measure APP BINARY PATH DEPTH -> appends "app rps p50 p99 rss_kib"
  local app=$1 binary=$2 path=$3 depth=$4
  start_server "$binary"
  local script=()
  if [ "$depth" -gt 1 ]; then script=(-s bench/pipeline.lua); fi
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "${script[@]}" "http://127.0.0.1:$PORT$path" -- "$depth" >/dev/null
  local out
  out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${script[@]}" "http://127.0.0.1:$PORT$path" -- "$depth")
  local rss
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
  stop_server
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "warning: $app answered non-2xx on $path: $(grep 'Non-2xx' <<<"$out")" >&2
  fi
  echo "$app $rps $p50 $p99 $rss" >>"$RESULTS.$5"
}

printf '%-26s %12s %12s %7s %15s %15s %10s %10s\n' test "flagon req/s" "axum req/s" ratio "flagon p50/p99" "axum p50/p99" "flagon RSS" "axum RSS"
for entry in "${TESTS[@]}"; do
  IFS='|' read -r name path depth <<<"$entry"
  if [ -n "${ONLY:-}" ] && [[ "$name" != *"$ONLY"* ]]; then continue; fi
  key=$(echo "$name" | tr -c 'a-z0-9' '_')
  : >"$RESULTS.$key"
  for round in 1 2; do
    measure flagon "$FLAGON_BIN" "$path" "$depth" "$key"
    measure axum "$AXUM_BIN" "$path" "$depth" "$key"
  done
  awk -v name="$name" '
    { rps[$1] += $2; p50[$1] += $3; p99[$1] += $4; if ($5 > rss[$1]) rss[$1] = $5; n[$1]++ }
    END {
      f = rps["flagon"] / n["flagon"]; a = rps["axum"] / n["axum"]
      printf "%-26s %12.0f %12.0f %7.2f %7.2f/%-7.2f %7.2f/%-7.2f %7.1f MB %7.1f MB\n",
        name, f, a, f / a,
        p50["flagon"] / n["flagon"], p99["flagon"] / n["flagon"],
        p50["axum"] / n["axum"], p99["axum"] / n["axum"],
        rss["flagon"] / 1024, rss["axum"] / 1024
    }' "$RESULTS.$key"
  rm -f "$RESULTS.$key"
done
echo "(latencies in ms; each figure the mean of two rounds of ${DURATION}s at ${CONNECTIONS} connections; $(nproc) cores)"
