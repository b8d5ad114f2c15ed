// Package loadgen holds what the benchmark load processes (cmd/wsload,
// cmd/flashload) share: dialling a crowd of shoppers, reading the shopper
// channel's first message and a process's CPU time.
package loadgen

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// CPUTime is the user plus system CPU time process pid has used, read from
// /proc (Linux); 0 when it cannot be read.
func CPUTime(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime is the
	// 14th field of the line, stime the 15th, both in clock ticks (100 Hz).
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// ExpectWelcome reads a new channel connection's first message, which must
// be "welcome", within 30 s, then clears the read deadline.
func ExpectWelcome(ws *websocket.Conn) error {
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var m struct{ Type string }
	if err := ws.ReadJSON(&m); err != nil {
		return err
	}
	if m.Type != "welcome" {
		return fmt.Errorf("first message %q, want welcome", m.Type)
	}
	return ws.SetReadDeadline(time.Time{})
}

// ChannelURL is the shopper channel of burstID on the server at base
// (http://host:port).
func ChannelURL(base string, burstID int64) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/ws/" + strconv.FormatInt(burstID, 10)
}

// DialAll opens n channel connections to url, par at a time, each with
// readBuf bytes of read buffer, waits for each one's welcome and hands it to
// joined (called from several goroutines). It returns the first error, after
// every dial has finished.
func DialAll(ctx context.Context, url string, n, par, readBuf int, joined func(i int, ws *websocket.Conn)) error {
	d := websocket.Dialer{ReadBufferSize: readBuf, WriteBufferSize: 1024, HandshakeTimeout: 30 * time.Second}
	sem := make(chan struct{}, par)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ws, _, err := d.DialContext(ctx, url, nil)
			if err == nil {
				err = ExpectWelcome(ws)
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("client %d: %w", i, err)
				}
				mu.Unlock()
				return
			}
			joined(i, ws)
		})
	}
	wg.Wait()
	return firstErr
}
