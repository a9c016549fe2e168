#!/usr/bin/env bash
# Cluster-mode benchmark (docs/benchmarks.md, "Cluster mode"): the same load against
#   single  one TeamComms node, no NATS (the default deployment)
#   nats1   one TeamComms node in cluster mode on a 3-server NATS cluster (sync_interval: always)
#   nodes2  two TeamComms nodes on the same NATS cluster, connections spread over both
#   nodes3  three nodes
#   logcap  no TeamComms node: the publish capacity of the NATS cluster itself, one stream vs K shard streams, with
#           entries of 1, 64 or 512 proposals (bench/TeamComms.LogBench; LOGCAP_MATRIX overrides "streams:batch ...")
# Everything runs on this machine on loopback. One JSON line per run (the load generator's report plus the
# configuration and the load average) into bench/results/cluster-<UTC date>.jsonl and stdout. Server CPU is the sum
# over every TeamComms node and nats-server process in the measured window, so µs/delivery is the whole cost.
#
#   bench/cluster-bench.sh [config ...]           default: single nats1 nodes2 nodes3
#   LOAD_ARGS="--rooms 10 --room-size 100 --seconds 10" bench/cluster-bench.sh nodes3
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOAD_ARGS=${LOAD_ARGS:-"--rooms 10 --room-size 100 --seconds 10 --warmup 2"}
mkdir -p bench/results
OUT="bench/results/cluster-$(date -u +%Y-%m-%d).jsonl"
NATS=$(scripts/fetch-nats-server.sh | tail -n1) || exit 1
dotnet build -c Release src/Server >/dev/null || exit 1
dotnet build -c Release bench/TeamComms.Load >/dev/null || exit 1
SERVER_DLL="$ROOT/src/Server/bin/Release/net10.0/TeamComms.Server.dll"
LOAD="dotnet $ROOT/bench/TeamComms.Load/bin/Release/net10.0/TeamComms.Load.dll"
ADMIN_PASSWORD="cluster-bench-admin-password"
BASE=$((20000 + (RANDOM % 200) * 50))
PIDS=()
WORK=""

cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  PIDS=()
  [ -n "$WORK" ] && rm -rf "$WORK"
  WORK=""
}
trap cleanup EXIT

start_nats() {
  for i in 0 1 2; do
    local routes=""
    for j in 0 1 2; do [ "$j" != "$i" ] && routes="$routes\"nats-route://route:route-secret@127.0.0.1:$((BASE + 10 + j))\", "; done
    cat > "$WORK/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((BASE + i))
authorization { user: teamcomms, password: "bench-secret" }
jetstream { store_dir: "$WORK/js$i", sync_interval: always, max_memory_store: 64MB, max_file_store: 4GB }
cluster { name: bench, listen: 127.0.0.1:$((BASE + 10 + i)), authorization { user: route, password: "route-secret" }, routes: [ ${routes%, } ] }
CONF
    "$NATS" -c "$WORK/n$i.conf" >"$WORK/n$i.log" 2>&1 &
    PIDS+=($!)
  done
}

start_node() { # index cluster(true|false)
  local i=$1 cluster=$2 port=$((BASE + 20 + $1))
  local env=(TEAMCOMMS__SERVERNAME=load.local TEAMCOMMS__ACCOUNTS__BOOTSTRAPPASSWORD="$ADMIN_PASSWORD"
             Logging__LogLevel__Default=Warning TEAMCOMMS__STORAGE__MINFREEBYTES=0)
  if [ "$cluster" = true ]; then
    env+=(TEAMCOMMS__CLUSTER__ENABLED=true TEAMCOMMS__CLUSTER__NODEID="node$((i + 1))" TEAMCOMMS__CLUSTER__NODEINDEX=$((i + 1))
          TEAMCOMMS__CLUSTER__USER=teamcomms TEAMCOMMS__CLUSTER__PASSWORD=bench-secret)
    for u in 0 1 2; do env+=("TEAMCOMMS__CLUSTER__URLS__$u=nats://127.0.0.1:$((BASE + (u + i) % 3))"); done
  fi
  env "${env[@]}" dotnet "$SERVER_DLL" --urls "http://127.0.0.1:$port" --data "$WORK/node$i" >"$WORK/node$i.log" 2>&1 &
  PIDS+=($!)
}

wait_ready() { # port
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "node on port $1 never became ready" >&2
  return 1
}

run() { # config nodes cluster
  local name=$1 nodes=$2 cluster=$3
  WORK=$(mktemp -d /tmp/tc-cluster-bench-XXXXXX)
  [ "$cluster" = true ] && start_nats
  for i in $(seq 0 $((nodes - 1))); do start_node "$i" "$cluster"; done
  local urls=""
  for i in $(seq 0 $((nodes - 1))); do wait_ready $((BASE + 20 + i)) || { cleanup; return 1; }; urls="$urls,http://127.0.0.1:$((BASE + 20 + i))"; done
  local pids
  pids=$(IFS=,; echo "${PIDS[*]}")
  echo "== $name: $nodes node(s), cluster=$cluster, $LOAD_ARGS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  local json
  if json=$(TEAMCOMMS_LOAD_ADMIN_PASSWORD="$ADMIN_PASSWORD" $LOAD --target teamcomms --json --url "${urls#,}" --cpu-pids "$pids" $LOAD_ARGS); then
    json="${json%\}},\"config\":\"$name\",\"nodes\":$nodes,\"nats\":$cluster,\"loadavg\":\"$(cut -d' ' -f1 /proc/loadavg)\",\"date\":\"$(date -u +%FT%TZ)\"}"
    echo "$json" | tee -a "$OUT"
  else
    echo "{\"config\":\"$name\",\"failed\":true}" | tee -a "$OUT"
    tail -n 20 "$WORK"/node0.log >&2
  fi
  cleanup
}

logcap() {
  WORK=$(mktemp -d /tmp/tc-cluster-bench-XXXXXX)
  start_nats
  sleep 5 # the three servers elect a JetStream meta leader
  dotnet build -c Release bench/TeamComms.LogBench >/dev/null || { cleanup; return 1; }
  local bench="dotnet $ROOT/bench/TeamComms.LogBench/bin/Release/net10.0/TeamComms.LogBench.dll"
  local matrix=${LOGCAP_MATRIX:-1:1 1:64 1:512 4:1 4:64 16:1 16:64}
  for cell in $matrix; do
    local streams=${cell%%:*} batch=${cell##*:}
    echo "== logcap: $streams stream(s), entries of $batch proposals (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    local json
    if json=$($bench --url "nats://teamcomms:bench-secret@127.0.0.1:$BASE" --streams "$streams" --batch "$batch" --seconds 10 --warmup 2); then
      json="${json%\}},\"config\":\"logcap\",\"loadavg\":\"$(cut -d' ' -f1 /proc/loadavg)\",\"date\":\"$(date -u +%FT%TZ)\"}"
      echo "$json" | tee -a "$OUT"
    else
      echo "{\"config\":\"logcap\",\"streams\":$streams,\"batch\":$batch,\"failed\":true}" | tee -a "$OUT"
    fi
  done
  cleanup
}

for config in ${@:-single nats1 nodes2 nodes3}; do
  case $config in
    single) run single 1 false ;;
    nats1) run nats1 1 true ;;
    nodes2) run nodes2 2 true ;;
    nodes3) run nodes3 3 true ;;
    logcap) logcap ;;
    *) echo "unknown config $config (single nats1 nodes2 nodes3 logcap)" >&2; exit 2 ;;
  esac
done
