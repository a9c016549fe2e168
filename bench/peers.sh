#!/usr/bin/env bash
# Installs and starts the peers that bench/TeamComms.Load compares TeamComms with:
#   - NATS core: Debian's nats-server (apt-get)
#   - a plain Node.js broadcaster on npm `ws` (bench/peers/ws/server.js, npm install)
# The load generator starts its own fresh peer process per run (so it can read its CPU and RSS from /proc); use
# `start` only to run them by hand, e.g. with `--url`.
#
#   bench/peers.sh install     install what is missing, say clearly what could not be installed (exit 1 then)
#   bench/peers.sh check       report what is there (exit 1 if something is missing)
#   bench/peers.sh start       install, then start nats-server on 127.0.0.1:4222 and ws on 127.0.0.1:8081
#   bench/peers.sh stop        stop the peers started by `start`
set -uo pipefail
cd "$(dirname "$0")"
WS_DIR="peers/ws"
RUN_DIR="${TMPDIR:-/tmp}/teamcomms-peers"
missing=0

sudo_cmd() { if [ "$(id -u)" -ne 0 ]; then sudo "$@"; else "$@"; fi; }

check() {
  missing=0
  if command -v nats-server >/dev/null 2>&1; then
    echo "peers: nats-server $(nats-server --version 2>&1 | head -1) at $(command -v nats-server)"
  else
    echo "peers: MISSING nats-server (Debian package nats-server): --target nats cannot run"
    missing=1
  fi
  if ! command -v node >/dev/null 2>&1; then
    echo "peers: MISSING node (Debian package nodejs): --target ws cannot run"
    missing=1
  elif [ -d "$WS_DIR/node_modules/ws" ]; then
    echo "peers: node $(node --version) with ws $(node -p "require('./$WS_DIR/node_modules/ws/package.json').version")"
  else
    echo "peers: MISSING npm ws in $WS_DIR/node_modules: --target ws cannot run (bench/peers.sh install)"
    missing=1
  fi
  return $missing
}

install() {
  if ! command -v nats-server >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    pkgs=()
    command -v nats-server >/dev/null 2>&1 || pkgs+=(nats-server)
    command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
    echo "peers: installing ${pkgs[*]} with apt-get"
    if ! sudo_cmd apt-get update -qq; then
      echo "peers: apt-get update failed; trying the cached package lists"
    fi
    if ! DEBIAN_FRONTEND=noninteractive sudo_cmd apt-get install -y -qq "${pkgs[@]}" >/dev/null; then
      echo "peers: CANNOT install ${pkgs[*]} with apt-get (no root, no network, or no such package here)"
    fi
  fi
  if command -v npm >/dev/null 2>&1; then
    if [ ! -d "$WS_DIR/node_modules/ws" ]; then
      echo "peers: npm install in $WS_DIR"
      if ! (cd "$WS_DIR" && npm install --no-audit --no-fund --silent); then
        echo "peers: CANNOT install npm ws (npm registry unreachable?)"
      fi
    fi
  else
    echo "peers: CANNOT install npm ws: npm is not installed"
  fi
  check
}

start() {
  install || { echo "peers: not starting: something is missing (see above)"; exit 1; }
  mkdir -p "$RUN_DIR"
  nats-server -a 127.0.0.1 -p 4222 >"$RUN_DIR/nats.log" 2>&1 &
  echo $! >"$RUN_DIR/nats.pid"
  node "$WS_DIR/server.js" 8081 >"$RUN_DIR/ws.log" 2>&1 &
  echo $! >"$RUN_DIR/ws.pid"
  sleep 1
  for p in nats ws; do
    if kill -0 "$(cat "$RUN_DIR/$p.pid")" 2>/dev/null; then
      echo "peers: $p running, pid $(cat "$RUN_DIR/$p.pid"), log $RUN_DIR/$p.log"
    else
      echo "peers: $p FAILED to start:"; cat "$RUN_DIR/$p.log"; missing=1
    fi
  done
  echo "peers: nats://127.0.0.1:4222 and ws://127.0.0.1:8081 (stop with bench/peers.sh stop)"
  return $missing
}

stop() {
  for p in nats ws; do
    if [ -f "$RUN_DIR/$p.pid" ]; then
      kill "$(cat "$RUN_DIR/$p.pid")" 2>/dev/null && echo "peers: stopped $p"
      rm -f "$RUN_DIR/$p.pid"
    fi
  done
}

case "${1:-install}" in
  install) install ;;
  check) check ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: bench/peers.sh install|check|start|stop"; exit 2 ;;
esac
