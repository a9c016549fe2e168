#!/usr/bin/env bash
# Runs every test of TeamComms on a fresh Debian machine that has only the .NET SDK.
# Installs what the tests need from Debian's packages when it is missing, then runs `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v age >/dev/null 2>&1 || need_apt+=(age)
command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
# The web app's end-to-end tests drive Debian's Chromium; fonts-thai-tlwg gives the system a Thai fallback font.
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -d /usr/share/fonts/truetype/tlwg ] || need_apt+=(fonts-thai-tlwg)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test.sh: installing ${need_apt[*]} from Debian's packages"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq || echo "test.sh: apt-get update failed; trying the cached package lists"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Tests start servers on 127.0.0.1 port 0 with temporary data directories; nothing else needs to be running.
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

# Stage 1: everything but cluster mode's failure tests (a few minutes).
echo "test.sh: stage 1 of 3: unit and integration tests"
dotnet test TeamComms.sln -c Release --logger "console;verbosity=normal" --filter "Stage!=cluster" "$@"

# Stage 2: the web app (src/Web): the server's Release build above ran `npm ci` and `vite build` there. Its tests
# (tests/Web) are units in Vitest with happy-dom and end-to-end tests against the Release server in Chromium.
echo "test.sh: stage 2 of 3: web app"
if [ ! -f tests/Web/node_modules/.teamcomms-ci-stamp ] || [ tests/Web/package-lock.json -nt tests/Web/node_modules/.teamcomms-ci-stamp ]; then
  (cd tests/Web && npm ci --no-audit --no-fund && touch node_modules/.teamcomms-ci-stamp)
fi
(cd tests/Web && npx vitest run --project unit --project e2e)

# Stage 3: cluster mode (three nats-servers and three TeamComms nodes on loopback, killed and paused). Raft elections
# cannot be shortened, so this stage takes several minutes. It needs nats-server >= 2.10.27: Debian trixie's, fetched
# without touching the system's apt sources (bookworm's /usr/sbin/nats-server 2.9.10 is too old).
if [ "${TEAMCOMMS_SKIP_CLUSTER_TESTS:-}" != "1" ]; then
  echo "test.sh: stage 3 of 3: cluster mode"
  TEAMCOMMS_NATS_SERVER="$(scripts/fetch-nats-server.sh | tail -n1)"
  export TEAMCOMMS_NATS_SERVER
  # The harness isolates each test's NATS cluster and waits for a JetStream meta leader with every peer current. Under
  # very heavy load (five agents sharing two cores, load average 30-50) one start still timed out once before any
  # TeamComms node ran; so that such a start does not fail CI, a failed stage runs once more, says so, and a second
  # failure fails. The failures of the first run stay in the log above.
  if ! dotnet test TeamComms.sln -c Release --no-build --logger "console;verbosity=normal" --filter "Stage=cluster" "$@"; then
    echo "test.sh: stage 3 failed once; running it again (see the comment in test.sh)"
    dotnet test TeamComms.sln -c Release --no-build --logger "console;verbosity=normal" --filter "Stage=cluster" "$@"
  fi
fi
