#!/usr/bin/env bash
# Shopper-channel load benchmark: for each N given (default 1000 10000), start
# the app with a live burst (the server half, a test binary) and connect N
# websocket shoppers from a separate process (cmd/wsload); print memory per
# idle connection and pin → card.show latency at every client.
# Needs PostgreSQL as for the tests (DROPCAST_TEST_DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000 10000}")
pins=${PINS:-20}
ulimit -n "$(ulimit -Hn)"
mkdir -p bin
go test -c -o bin/channel-load-server ./app
go build -o bin/wsload ./cmd/wsload
info=$(mktemp)
for n in ${sizes[@]}; do
  rm -f "$info"
  DROPCAST_LOAD_SERVER="$info" ./bin/channel-load-server -test.run TestChannelLoadServer -test.timeout 0 >/dev/null 2>&1 &
  spid=$!
  for _ in $(seq 150); do [ -s "$info" ] && break; sleep 0.2; done
  echo "## $n shoppers"
  ./bin/wsload -info "$info" -n "$n" -pins "$pins" || true
  kill "$spid"; wait "$spid" || true
done
rm -f "$info"
