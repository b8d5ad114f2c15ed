#!/usr/bin/env bash
# Flash-sale benchmark: start the app with a live burst and one deal card per
# round (the server half, a test binary), connect N websocket shoppers from a
# separate process (cmd/flashload) and have every one of them rush cart.add:
# first for UNITS units of one variant, then for UNITS units spread over 20
# variants (VARIANTS). Prints time to sell out, reservations/s, cart.add
# latency (send → answer) and the oversold count checked in PostgreSQL.
# Usage: scripts/bench-flash.sh [N] [INFLIGHT]  (defaults 10000 and 0: all at once)
# Needs PostgreSQL as for the tests (DROPCAST_TEST_DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
inflight=${2:-0}
ulimit -n "$(ulimit -Hn)"
mkdir -p bin
go test -c -o bin/flash-load-server ./app
go build -o bin/flashload ./cmd/flashload
info=$(mktemp)
rm -f "$info"
DROPCAST_FLASH_SERVER="$info" DROPCAST_FLASH_UNITS="${UNITS:-500}" DROPCAST_FLASH_VARIANTS="${VARIANTS:-1,20}" \
  ./bin/flash-load-server -test.run TestFlashSaleServer -test.timeout 0 >/dev/null 2>&1 &
spid=$!
trap 'kill "$spid" 2>/dev/null || true; rm -f "$info"' EXIT
for _ in $(seq 150); do [ -s "$info" ] && break; sleep 0.2; done
echo "# flash sale: $n shoppers, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
./bin/flashload -info "$info" -n "$n" -inflight "$inflight" || status=$?
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill "$spid"; wait "$spid" || true
exit "$status"
