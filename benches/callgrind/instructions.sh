#!/usr/bin/env bash
# Instructions a hubcalls binary executes per request, counted by valgrind's callgrind: the
# same for the same binary and requests however loaded the machine is, so two builds can be
# compared on a shared machine where wrk's rates swing by 20 % from run to run.
#
#   benches/callgrind/instructions.sh BINARY KIND [SMALL LARGE]
#
# KIND is create, update, get, batch, list or search (see load.py; a batch request creates 100
# calls, and the cost per call is printed too). The server runs twice on an empty data
# directory, serving SMALL (default 200) and then LARGE (default 1200) requests one at a
# time (a batch: 10 and 60); the difference of the two totals divided by LARGE - SMALL is the cost of one
# request, start-up and shutdown cancelled out. Needs valgrind and python3.
set -euo pipefail
bin=$1 kind=$2
if [ "$kind" = batch ]; then small=${3:-10} large=${4:-60}; else small=${3:-200} large=${4:-1200}; fi
here=$(cd "$(dirname "$0")" && pwd)
# A port of its own per run, so runs side by side (two checkouts) do not meet each other's
# server; PORT overrides.
port=${PORT:-$((18200 + RANDOM % 2000))}

total() {
  local data log
  data=$(mktemp -d) log=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" serve \
    --listen 127.0.0.1:$port --data-dir "$data" --token perf-harness-token >/dev/null 2>"$log" &
  local pid=$!
  python3 "$here/load.py" "$1" "$port" "$kind"
  kill -TERM "$pid"
  wait "$pid" || true
  grep -o 'Collected : [0-9]*' "$log" | awk '{print $3}'
  rm -rf "$data" "$log"
}

a=$(total "$small")
b=$(total "$large")
per_request=$(( (b - a) / (large - small) ))
echo "$kind: $per_request instructions per request ($(basename "$bin"))"
if [ "$kind" = batch ]; then echo "batch: $(( per_request / 100 )) instructions per call"; fi
