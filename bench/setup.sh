#!/usr/bin/env bash
# Creates the TechEmpower database on the local PostgreSQL (127.0.0.1:5432)
# the way TechEmpower creates it, outside Flagon: the role benchmarkdbuser
# (password benchmarkdbpass), the database hello_world it owns, and in it
# `world` (id, randomnumber: 10,000 rows) and `fortune` (id, message: the
# 12 standard rows, with the escaping and Unicode cases), made by
# bench/create-postgres.sql (TechEmpower's create-postgres.sql, the same
# tables and columns). Then `tfb migrate --fake-initial` adopts them: tfb's
# initial migration is recorded without running (its tables and columns
# exist), and its seed migration finds the tables filled and leaves them.
# Flagon (examples/tfb) and both baselines read these tables.
#
# Run it once; running it again changes nothing. A hello_world made by an
# older setup.sh (tfb's own migrations) is kept as it is: `dropdb -h
# 127.0.0.1 -U postgres hello_world` first to make it again.
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
DATABASE_URL=postgres://benchmarkdbuser:benchmarkdbpass@127.0.0.1:5432/hello_world
if [ -z "$("${PSQL[@]}" -d hello_world -c "SELECT to_regclass('world')")" ]; then
  PGPASSWORD=benchmarkdbpass psql -h 127.0.0.1 -p 5432 -U benchmarkdbuser -d hello_world \
    -v ON_ERROR_STOP=1 -q -f bench/create-postgres.sql
fi

cargo build --release -p tfb
DATABASE_URL=$DATABASE_URL target/release/tfb migrate --fake-initial
echo "hello_world is ready: $("${PSQL[@]}" -d hello_world -c 'SELECT count(*) FROM world') worlds, $("${PSQL[@]}" -d hello_world -c 'SELECT count(*) FROM fortune') fortunes"
