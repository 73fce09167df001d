#!/usr/bin/env bash
# Creates the TechEmpower database on the local PostgreSQL (127.0.0.1:5432):
# the role benchmarkdbuser (password benchmarkdbpass), the database
# hello_world, and in it `world` (10,000 rows) and `fortune` (the 12
# standard rows, with the escaping and Unicode cases), made by the tfb
# example's own migrations. Run it once; running it again changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

PSQL=(psql -h 127.0.0.1 -p 5432 -U postgres -v ON_ERROR_STOP=1 -qAt)
if ! "${PSQL[@]}" -c 'SELECT 1' >/dev/null; then
  echo "PostgreSQL does not answer on 127.0.0.1:5432 as user postgres: start it first" >&2
  exit 1
fi
if [ -z "$("${PSQL[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'benchmarkdbuser'")" ]; then
  "${PSQL[@]}" -c "CREATE ROLE benchmarkdbuser LOGIN PASSWORD 'benchmarkdbpass'"
fi
if [ -z "$("${PSQL[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'hello_world'")" ]; then
  "${PSQL[@]}" -c "CREATE DATABASE hello_world OWNER benchmarkdbuser"
fi

cargo build --release -p tfb
DATABASE_URL=postgres://benchmarkdbuser:benchmarkdbpass@127.0.0.1:5432/hello_world \
  target/release/tfb migrate
echo "hello_world is ready: $("${PSQL[@]}" -d hello_world -c 'SELECT count(*) FROM world') worlds, $("${PSQL[@]}" -d hello_world -c 'SELECT count(*) FROM fortune') fortunes"
