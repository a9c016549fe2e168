#!/usr/bin/env bash
# Fetches Debian trixie's nats-server (>= 2.10.27) for cluster mode WITHOUT changing the system's apt sources:
# a private sources list, lists directory and cache directory, then `apt-get download` and `dpkg -x`.
# Bookworm's /usr/sbin/nats-server 2.9.10 is too old: it cannot fsync before acknowledging (sync_interval: always)
# and its expected-last-subject-sequence check is unsafe with concurrent publishers.
#
# Usage: scripts/fetch-nats-server.sh [DEST]     (default DEST: .nats/ in the repository)
# Prints the absolute path of the binary on its last line. Idempotent: a binary already in DEST that passes the
# version check is reused. Operators may use their own nats-server >= 2.10.27 instead (TeamComms:Cluster docs).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-$ROOT/.nats}"
MIN_VERSION="2.10.27"
SUITE="${NATS_DEBIAN_SUITE:-trixie}"
MIRROR="${NATS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"
BIN="$DEST/root/usr/sbin/nats-server"

version_ok() {
  local v
  v="$("$1" --version 2>/dev/null | sed -n 's/^nats-server: v\{0,1\}\([0-9][0-9.]*\).*/\1/p')"
  [ -n "$v" ] || return 1
  [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -n1)" = "$MIN_VERSION" ]
}

if [ -x "$BIN" ] && version_ok "$BIN"; then
  echo "$BIN"
  exit 0
fi

APT="$DEST/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/debs"
echo "deb $MIRROR $SUITE main" > "$APT/sources.list"
OPTS=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
      -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o "APT::Get::List-Cleanup=0")
echo "fetch-nats-server: apt-get update of $SUITE into a private lists directory" >&2
apt-get "${OPTS[@]}" update -qq >&2
rm -f "$APT/debs"/nats-server_*.deb
(cd "$APT/debs" && apt-get "${OPTS[@]}" download nats-server >&2)
DEB="$(ls "$APT/debs"/nats-server_*.deb | head -n1)"
rm -rf "$DEST/root"
dpkg -x "$DEB" "$DEST/root"
if ! version_ok "$BIN"; then
  echo "fetch-nats-server: $BIN is $("$BIN" --version 2>&1); TeamComms cluster mode needs >= $MIN_VERSION" >&2
  exit 1
fi
echo "fetch-nats-server: $("$BIN" --version) from $(basename "$DEB")" >&2
echo "$BIN"
