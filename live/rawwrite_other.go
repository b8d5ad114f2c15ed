//go:build !unix

package live

import "net"

// tryWrite is not available here: every frame goes through the
// connection's writer goroutine.
func tryWrite(net.Conn, []byte) (int, bool, error) { return 0, false, nil }
