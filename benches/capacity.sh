#!/usr/bin/env bash
# CPU per request on the PostgreSQL store, per workload: what docs/deploy.md's capacity model
# is built from.
#
#   benches/capacity.sh                     # after `cargo build --release`
#
# Starts target/release/hubcalls on a fresh schema (`perf_capacity`) of $DATABASE_URL, pins
# it to core 0 after start (as ../shared/perf/compare.sh does), seeds 10,000 calls with
# ../shared/perf/bench.sh and waits for the statistics keeper. Then, for W2 W4 W5 W6 W1 W3
# in turn, runs bench.sh (wrk on core 1, concurrency 32) and, over 6 s inside the wrk run,
# reads utime + stime of the server and of every `postgres` process from /proc. Prints req/s,
# the cores each side kept busy and the CPU each spent per request. PostgreSQL must run on
# this machine (its processes are read from /proc). Numbers are printed, never asserted.
#
# Env: DATABASE_URL (postgres://postgres@127.0.0.1:5432/test), PERF_DIR (../shared/perf),
#      WORKLOADS (W2 W4 W5 W6 W1 W3),
#      BIN (target/release/hubcalls).
set -euo pipefail
cd "$(dirname "$0")/.."
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
PERF_DIR=$(cd "${PERF_DIR:-../shared/perf}" && pwd)
BIN=$(realpath "${BIN:-target/release/hubcalls}")
SCHEMA=perf_capacity
PORT=18088
psql "$DATABASE_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1
"$BIN" serve --listen 127.0.0.1:$PORT --token perf-harness-token \
  --database-url "$DATABASE_URL" --database-schema $SCHEMA >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
sleep 1.5
taskset -a -p -c 0 $PID >/dev/null
cd "$PERF_DIR"
WORK=$(mktemp -d)
LOADGEN_CPUS=1 DURATION=2 REPS=1 CONC=32 SEED_SIZES=10000 LABEL=seed OUT=$WORK/seed \
  ./bench.sh http://127.0.0.1:$PORT perf-harness-token W2 >/dev/null 2>&1
sleep 12 # the statistics keeper checks every 5 s
postgres_ticks() { for p in $(pgrep postgres); do cat /proc/$p/stat 2>/dev/null || true; done | awk '{s+=$14+$15} END {print s}'; }
server_ticks() { awk '{print $14+$15}' /proc/$PID/stat; }
TICK=$(getconf CLK_TCK)
echo "| workload | req/s | hubcalls cores busy | PostgreSQL cores busy | hubcalls CPU µs/request | PostgreSQL CPU µs/request |"
echo "|---|---|---|---|---|---|"
for WL in ${WORKLOADS:-W2 W4 W5 W6 W1 W3}; do
  LOADGEN_CPUS=1 DURATION=14 REPS=1 CONC=32 SEED_SIZES=10000 LABEL=cap OUT=$WORK/$WL \
    ./bench.sh http://127.0.0.1:$PORT perf-harness-token $WL >/dev/null 2>&1 &
  BENCH=$!
  # Sample inside the wrk run only: bench.sh first reads ids and runs preflight requests.
  until pgrep -x wrk >/dev/null; do sleep 0.2; done
  sleep 2
  P0=$(postgres_ticks); H0=$(server_ticks); T0=$(date +%s.%N)
  sleep 6
  P1=$(postgres_ticks); H1=$(server_ticks); T1=$(date +%s.%N)
  wait $BENCH
  RPS=$(grep -E "^\| cap" $WORK/$WL/report.md | awk -F'|' '{gsub(/[ ,]/,"",$7); print $7}')
  python3 -c "
r, t, tick = float('$RPS'), $T1 - $T0, $TICK
h, p = ($H1 - $H0) / tick, ($P1 - $P0) / tick
print(f'| $WL | {r:,.0f} | {h / t:.2f} | {p / t:.2f} | {h * 1e6 / (r * t):,.0f} | {p * 1e6 / (r * t):,.0f} |')"
done
