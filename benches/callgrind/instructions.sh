#!/usr/bin/env bash
# Instructions a hubcalls binary executes per request, counted by valgrind's callgrind: the
# same for the same binary and requests however loaded the machine is, so two builds can be
# compared on a shared machine where wrk's rates swing by 20 % from run to run.
#
#   benches/callgrind/instructions.sh BINARY KIND [SMALL LARGE]
#
# KIND is create, update, get, list or search (see load.py). The server runs twice on an empty data
# directory, serving SMALL (default 200) and then LARGE (default 1200) requests one at a
# time; the difference of the two totals divided by LARGE - SMALL is the cost of one
# request, start-up and shutdown cancelled out. Needs valgrind and python3.
set -euo pipefail
bin=$1 kind=$2 small=${3:-200} large=${4:-1200}
here=$(cd "$(dirname "$0")" && pwd)
port=18190

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
echo "$kind: $(( (b - a) / (large - small) )) instructions per request ($(basename "$bin"))"
