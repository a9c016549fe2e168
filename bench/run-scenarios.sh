#!/usr/bin/env bash
# Runs the scenarios of docs/benchmarks.md against TeamComms, NATS core and the Node ws broadcaster, one JSON line per
# run, into bench/results/<UTC date>.jsonl (and stdout). Each run starts a fresh server process (fresh data directory).
#
#   bench/run-scenarios.sh [scenario ...]      default: all
#   PIN=1 bench/run-scenarios.sh ...           server on CPU 0, load generator on CPU 1 (taskset)
#   SECONDS_PER_RUN=10 TARGETS="teamcomms nats ws" bench/run-scenarios.sh headline
#
# Scenarios: rooms2 rooms100 rooms1000 rooms10000 payload1k syncoff headline latency idle slow slowmax resume
set -uo pipefail
cd "$(dirname "$0")/.."
S=${SECONDS_PER_RUN:-10}
TARGETS=${TARGETS:-"teamcomms nats ws"}
mkdir -p bench/results
OUT="bench/results/$(date -u +%Y-%m-%d).jsonl"
bench/peers.sh check >/dev/null || { echo "peers missing: run bench/peers.sh install (nats and ws runs will fail)"; }
dotnet build -c Release bench/TeamComms.Load >/dev/null || exit 1
LOAD="dotnet bench/TeamComms.Load/bin/Release/net10.0/TeamComms.Load.dll"
PINNED=false
if [ "${PIN:-0}" = "1" ]; then
  LOAD="taskset -c 1 $LOAD --server-cpus 0"
  PINNED=true
fi

run() { # scenario-name target args...
  local name=$1 target=$2; shift 2
  echo "== $name $target $* (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  local json
  if json=$($LOAD --target "$target" --json "$@"); then
    json="${json%\}},\"scenario\":\"$name\",\"pinned\":$PINNED,\"loadavg\":\"$(cut -d' ' -f1 /proc/loadavg)\",\"date\":\"$(date -u +%FT%TZ)\"}"
    echo "$json" | tee -a "$OUT"
  else
    echo "{\"scenario\":\"$name\",\"target\":\"$target\",\"failed\":true}" | tee -a "$OUT"
  fi
}

all() { for t in $TARGETS; do run "$@" "$t"; done; }
each() { local name=$1; shift; for t in $TARGETS; do run "$name" "$t" "$@"; done; }

scenario() {
  case $1 in
    rooms2) each rooms2 --room-size 2 --rooms 5000 --payload 64 --seconds "$S" ;;
    rooms100) each rooms100 --room-size 100 --rooms 100 --payload 64 --seconds "$S" ;;
    rooms1000) each rooms1000 --room-size 1000 --rooms 10 --payload 64 --seconds "$S" ;;
    rooms10000) each rooms10000 --room-size 10000 --rooms 1 --payload 64 --seconds "$S" ;;
    payload1k) each payload1k --room-size 1000 --rooms 1 --payload 1024 --seconds "$S" ;;
    syncoff)
      run syncoff-rooms1000 teamcomms --room-size 1000 --rooms 1 --payload 64 --seconds "$S" --sync off
      run syncoff-rooms2 teamcomms --room-size 2 --rooms 5000 --payload 64 --seconds "$S" --sync off ;;
    headline) each headline --room-size 1000 --rooms 1 --payload 64 --seconds "$S" ;;
    latency)
      each latency-100 --room-size 1000 --rooms 1 --payload 64 --seconds "$S" --rate 100
      # 25, 50 and 75% of the maximum TeamComms measured in `headline` (set MAX_MSGS to that messages_per_s).
      local max=${MAX_MSGS:-$(grep '"scenario":"headline"' "$OUT" | grep '"target":"teamcomms"' | tail -1 | sed -E 's/.*"messages_per_s":([0-9.]+).*/\1/' | cut -d. -f1)}
      max=${max:-1000}
      for pct in 25 50 75; do
        each "latency-$pct%" --room-size 1000 --rooms 1 --payload 64 --seconds "$S" --rate $((max * pct / 100))
      done ;;
    idle) each idle --idle 10000 --seconds 5 ;;
    slow)
      # A 128 KiB queue limit (instead of 4 MiB) so that a member reading at a tenth of the rate is evicted
      # within a 20 s run; the same limit for the run without slow members.
      local q="--server-setting TeamComms:Connections:QueueByteLimit=131072"
      run slow-none teamcomms --room-size 1000 --rooms 1 --payload 64 --seconds 20 --rate "${SLOW_RATE:-300}" $q
      run slow-1% teamcomms --room-size 1000 --rooms 1 --payload 64 --seconds 20 --rate "${SLOW_RATE:-300}" --slow 1 $q
      for t in $TARGETS; do
        [ "$t" = teamcomms ] && continue
        run slow-none "$t" --room-size 1000 --rooms 1 --payload 64 --seconds 20 --rate "${SLOW_RATE:-300}"
        run slow-1% "$t" --room-size 1000 --rooms 1 --payload 64 --seconds 20 --rate "${SLOW_RATE:-300}" --slow 1
      done ;;
    slowmax)
      # Eviction and resume under pressure: the maximum rate for 60 s (loopback TCP buffers absorb megabytes before the
      # server queue grows), 1% of members reading at a tenth of it, 128 KiB queues.
      run slowmax teamcomms --room-size 1000 --rooms 1 --payload 64 --seconds 60 --slow 1 --server-setting TeamComms:Connections:QueueByteLimit=131072 ;;
    resume) run resume teamcomms --resume-rooms 1000 --resume-missed 100 ;;
    *) echo "unknown scenario $1" >&2; exit 2 ;;
  esac
}

if [ $# -eq 0 ]; then
  set -- headline latency rooms2 rooms100 rooms1000 rooms10000 payload1k syncoff idle slow slowmax resume
fi
for s in "$@"; do scenario "$s"; done
