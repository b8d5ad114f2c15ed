// Command mediabench measures the live media path over loopback with the
// server and the load in separate processes (pin them to different cores
// with taskset for per-core figures):
//
//  1. "mediabench server" starts a real dropcast App (PostgreSQL, SFU on an
//     ephemeral UDP port), creates a drop and a burst, prints one JSON line
//     with the URL, stream key, burst id and pid, and serves until SIGTERM
//     (writing a CPU profile when -cpuprofile is set).
//  2. "mediabench load" publishes an H264 + Opus clip over WHIP in real
//     time, then joins N WHEP viewers at once and reports server CPU and
//     memory per viewer, forwarded packets per second per server core,
//     viewer-side loss, WHEP answer latency and time to first keyframe.
//
// `make bench-media` runs both; BENCHMARKS.md holds the figures.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mediabench server|load [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(ctx, os.Args[2:])
	case "load":
		err = runLoad(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mediabench:", err)
		os.Exit(1)
	}
}
