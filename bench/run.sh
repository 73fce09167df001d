#!/usr/bin/env bash
# Flagon (examples/tfb) against two baselines, axum (bench/axum-baseline)
# and actix-web (bench/actix-baseline), on the TechEmpower tests, in one
# run on this machine. Run bench/setup.sh once first. Each test runs
# A B C A B C (Flagon, axum, actix-web, twice) to cancel drift; each server
# is pinned to core 0 and wrk to core 1 (PostgreSQL runs where the kernel
# puts it, the same for all). Pinned to one core, every server runs one
# worker thread: tokio's runtime (tfb, axum) and actix-web's workers both
# count the cores the process may use. Prints one table: requests per
# second, p50 and p99 latency and peak RSS of each, and the ratios
# Flagon/axum and Flagon/actix-web.
#
#   DURATION=10 WARMUP=2 CONNECTIONS=64 bench/run.sh
#   ONLY=json bench/run.sh          # the tests whose names contain "json"
#   FLAGON_BIN=/tmp/tfb AXUM_BIN=.. ACTIX_BIN=.. bench/run.sh
#                                   # prebuilt binaries instead of building
#   ACTIX_BIN=none bench/run.sh     # leave a baseline out (AXUM_BIN=none too)
#   FLAGON_BIN=/tmp/tfb-new BASELINE_BIN=/tmp/tfb-old bench/run.sh
#                                   # two builds of tfb against each other:
#                                   # BASELINE_BIN is the axum column's old
#                                   # name, and given alone it leaves actix-web
#                                   # out (A B A B, as before the three-way run)
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

if [ -n "${BASELINE_BIN:-}" ]; then
  AXUM_BIN=${AXUM_BIN:-$BASELINE_BIN}
  ACTIX_BIN=${ACTIX_BIN:-none}
fi
if [ -z "${FLAGON_BIN:-}" ]; then
  echo "building tfb in release" >&2
  cargo build --release -p tfb >&2
  FLAGON_BIN=target/release/tfb
fi
if [ -z "${AXUM_BIN:-}" ]; then
  echo "building the axum baseline in release" >&2
  cargo build --release --manifest-path bench/axum-baseline/Cargo.toml >&2
  AXUM_BIN=bench/axum-baseline/target/release/axum-baseline
fi
if [ -z "${ACTIX_BIN:-}" ]; then
  echo "building the actix-web baseline in release" >&2
  cargo build --release --manifest-path bench/actix-baseline/Cargo.toml >&2
  ACTIX_BIN=bench/actix-baseline/target/release/actix-baseline
fi
# The servers measured, in the order each round runs them.
APPS=(flagon)
BINS=("$FLAGON_BIN")
if [ "$AXUM_BIN" != none ]; then APPS+=(axum); BINS+=("$AXUM_BIN"); fi
if [ "$ACTIX_BIN" != none ]; then APPS+=(actix); BINS+=("$ACTIX_BIN"); fi

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

measure() { # measure APP BINARY PATH DEPTH -> appends "app rps p50 p99 rss_kib anon_kib"
  local app=$1 binary=$2 path=$3 depth=$4
  start_server "$binary"
  local script=()
  if [ "$depth" -gt 1 ]; then script=(-s bench/pipeline.lua); fi
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "${script[@]}" "http://127.0.0.1:$PORT$path" -- "$depth" >/dev/null
  local out
  out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${script[@]}" "http://127.0.0.1:$PORT$path" -- "$depth")
  # Peak RSS, and the anonymous part of the RSS at the end of the run (the
  # heap and stacks: what the server allocated, without the pages of its
  # executable and libraries that the kernel mapped in).
  local rss anon
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
  anon=$(awk '/RssAnon/ {print $2}' "/proc/$SERVER_PID/status")
  stop_server
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "warning: $app answered non-2xx on $path: $(grep 'Non-2xx' <<<"$out")" >&2
  fi
  echo "$app $rps $p50 $p99 $rss $anon" >>"$RESULTS.$5"
}

printf '%-26s %12s %12s %12s %7s %7s %15s %15s %15s %16s %16s %16s\n' test \
  "flagon req/s" "axum req/s" "actix req/s" "F/axum" "F/actix" \
  "flagon p50/p99" "axum p50/p99" "actix p50/p99" "flagon RSS/anon" "axum RSS/anon" "actix RSS/anon"
for entry in "${TESTS[@]}"; do
  IFS='|' read -r name path depth <<<"$entry"
  if [ -n "${ONLY:-}" ] && [[ "$name" != *"$ONLY"* ]]; then continue; fi
  key=$(echo "$name" | tr -c 'a-z0-9' '_')
  : >"$RESULTS.$key"
  for round in 1 2; do
    for i in "${!APPS[@]}"; do
      measure "${APPS[$i]}" "${BINS[$i]}" "$path" "$depth" "$key"
    done
  done
  awk -v name="$name" '
    { rps[$1] += $2; p50[$1] += $3; p99[$1] += $4; if ($5 > rss[$1]) rss[$1] = $5; if ($6 > anon[$1]) anon[$1] = $6; n[$1]++ }
    function mean(a, app) { return a[app] / n[app] }
    function req(app) { return n[app] ? sprintf("%12.0f", mean(rps, app)) : sprintf("%12s", "-") }
    function ratio(app) { return n[app] ? sprintf("%7.2f", mean(rps, "flagon") / mean(rps, app)) : sprintf("%7s", "-") }
    function lat(app) { return n[app] ? sprintf("%7.2f/%-7.2f", mean(p50, app), mean(p99, app)) : sprintf("%15s", "-") }
    function mem(app) { return n[app] ? sprintf("%5.1f/%4.1f MB", rss[app] / 1024, anon[app] / 1024) : sprintf("%16s", "-") }
    END {
      printf "%-26s %s %s %s %s %s %s %s %s %s %s %s\n", name,
        req("flagon"), req("axum"), req("actix"), ratio("axum"), ratio("actix"),
        lat("flagon"), lat("axum"), lat("actix"), mem("flagon"), mem("axum"), mem("actix")
    }' "$RESULTS.$key"
  rm -f "$RESULTS.$key"
done
echo "(latencies in ms; each figure the mean of two rounds of ${DURATION}s at ${CONNECTIONS} connections, max for RSS: peak RSS / anonymous RSS at the end; $(nproc) cores)"
