package app

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
)

// liveNow makes burst b live now, as the media side does: the transition is
// stored, then published on the app's bus.
func liveNow(t *testing.T, a *App, b drops.Burst) drops.Burst {
	t.Helper()
	b, err := a.Drops.Transition(t.Context(), b.ID, drops.StateLive, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a.bus.Publish(events.BurstState{BurstID: b.ID, DropID: b.DropID, State: string(b.State), At: *b.LiveAt,
		LiveAt: *b.LiveAt, EndsAt: b.Deadline()})
	return b
}

// servePprof serves net/http/pprof (registered on the default mux) at addr
// until the test ends; an empty addr serves nothing.
func servePprof(t *testing.T, addr string) {
	t.Helper()
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ps := &http.Server{Handler: http.DefaultServeMux}
	go func() { _ = ps.Serve(ln) }()
	t.Cleanup(func() { ps.Close() })
}
