// Package loadgen holds what the benchmark load processes (cmd/wsload,
// cmd/flashload) share: reading a process's CPU time and the shopper
// channel's first message.
package loadgen

import (
	"fmt"
	"os"
	"strconv"
	"strings"
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
