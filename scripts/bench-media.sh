#!/usr/bin/env bash
# Live media benchmark: a real server (core 0) and a WHIP publisher + N WHEP
# viewers in a separate load process (core 1), over loopback. Usage:
#   scripts/bench-media.sh [VIEWERS...]      (default: 50 200)
# GOP=1 and GOP=4 (seconds) runs measure time to first keyframe; DURATION
# sets the measurement window (default 10s); PROFILE_DIR=dir writes a CPU
# profile of each server run there; SERVER_BIN runs another build of
# "mediabench server" (e.g. an older commit) against this load; RAMP=5s
# spreads the joins over 5 s instead of all at once; SERVER_CPUS and
# LOAD_CPUS change the pinning (taskset -c lists, default 0 and 1);
# LOAD_FLAGS=-decrypt makes the viewers decrypt every packet. Needs
# ffmpeg and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
VIEWERS=("${@:-50 200}")
[ $# -eq 0 ] && VIEWERS=(50 200)
DURATION=${DURATION:-10s}
GOPS=${GOPS:-"1 4"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/mediabench" ./cmd/mediabench

for gop in $GOPS; do
  mkdir -p "$work/g$gop"
  # 720p30 H264 baseline (no B-frames) CBR 2.5 Mbit/s, keyframe every $gop s; Opus 64 kbit/s.
  ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -map 0:v -t 12 -c:v libx264 -preset veryfast -profile:v baseline -pix_fmt yuv420p -g $((gop*30)) -keyint_min $((gop*30)) -sc_threshold 0 -bf 0 \
    -b:v 2500k -maxrate 2500k -bufsize 2500k -x264-params repeat-headers=1:nal-hrd=cbr -bsf:v h264_mp4toannexb -f h264 "$work/g$gop/bench.h264" \
    -map 1:a -t 12 -c:a libopus -b:a 64k -ac 2 -page_duration 20000 -f ogg "$work/g$gop/bench.ogg"
done

echo "| run | viewers | forwarded pkt/s | server cores busy | pkt/s per server core | server CPU % per viewer | server MB per viewer | server queue drops | load cores busy | loss seen by viewers | WHEP answer p99 | first keyframe p50 | p95 | viewers with keyframe | connected p95 | first video packet p95 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for gop in $GOPS; do
  for n in "${VIEWERS[@]}"; do
    prof=""
    [ -n "${PROFILE_DIR:-}" ] && prof="-cpuprofile ${PROFILE_DIR}/media-g${gop}-v${n}.pprof"
    taskset -c "${SERVER_CPUS:-0}" "${SERVER_BIN:-$work/mediabench}" server $prof > "$work/ready" &
    spid=$!
    for _ in $(seq 1 600); do [ -s "$work/ready" ] && break; sleep 0.1; done  # up to 60 s: migrations on a busy PostgreSQL
    line=$(head -n1 "$work/ready")
    url=$(sed -E 's/.*"url":"([^"]+)".*/\1/' <<<"$line")
    key=$(sed -E 's/.*"key":"([^"]+)".*/\1/' <<<"$line")
    burst=$(sed -E 's/.*"burst":([0-9]+).*/\1/' <<<"$line")
    taskset -c "${LOAD_CPUS:-1}" "$work/mediabench" load -url "$url" -key "$key" -burst "$burst" -server-pid "$spid" \
      -viewers "$n" -media "$work/g$gop" -duration "$DURATION" -ramp "${RAMP:-0s}" ${LOAD_FLAGS:-} -label "GOP ${gop}s" || true
    kill -TERM "$spid"; wait "$spid" || true
  done
done
