#!/usr/bin/env bash
# Startup time of examples/hello and examples/tfb on SQLite: from exec to
# the first 200 response, migrations checked (both apply or check their
# migrations before serving). The database exists (a first run made it), so
# this is a restart, as in a deployment. Prints the median of RUNS runs.
#
#   RUNS=20 bench/startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
PORT=${PORT:-18181}

# tfb is built with PostgreSQL alone unless its `sqlite` feature is on.
cargo build --release -p hello -p tfb --features tfb/sqlite >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # measure NAME BINARY PATH
  local name=$1 binary=$2 path=$3
  python3 - "$binary" "$path" "$PORT" "$RUNS" "$work" "$name" <<'PY'
import os, socket, statistics, subprocess, sys, time

binary, path, port, runs, work, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
env = dict(os.environ, PORT=str(port), FLAGON_ADDR=f"127.0.0.1:{port}")
env.pop("DATABASE_URL", None)
env.pop("FLAGON_DATABASE_URL", None)
env.pop("FLAGON_DATABASE__URL", None)

def first_ok():
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            return s.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

def once():
    start = time.perf_counter()
    process = subprocess.Popen([binary], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not first_ok():
            if process.poll() is not None:
                sys.exit(f"{name} exited with {process.returncode}")
            time.sleep(0.0005)
        return (time.perf_counter() - start) * 1000
    finally:
        process.terminate()
        process.wait()

once()  # the first run creates (and for tfb fills) the database
times = sorted(once() for _ in range(runs))
print(f"{name:6} median {statistics.median(times):6.1f} ms   min {times[0]:6.1f} ms   max {times[-1]:6.1f} ms   ({runs} runs)")
PY
}

measure hello "$PWD/target/release/hello" /
measure tfb "$PWD/target/release/tfb" /plaintext
