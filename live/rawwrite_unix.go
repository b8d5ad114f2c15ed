//go:build unix

package live

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// tryWrite writes as much of b to nc as the socket takes now, without
// waiting: one write system call. It returns how many bytes went out; 0
// with a nil error when the socket's buffer is full. ok is false when nc
// offers no raw access or its write deadline has passed, and then nothing
// was written.
func tryWrite(nc net.Conn, b []byte) (n int, ok bool, err error) {
	sc, isRaw := nc.(syscall.Conn)
	if !isRaw {
		return 0, false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if !errors.Is(werr, syscall.EINTR) {
				return true // done, written or not: never wait for the socket
			}
		}
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A write deadline left from an earlier blocking write (the
		// writer's, or gorilla's answer to a client ping) has passed: the
		// runtime refuses raw writes until a new one is set. The writer
		// sets one.
		return 0, false, nil
	}
	if err != nil {
		return 0, true, err
	}
	if errors.Is(werr, syscall.EAGAIN) {
		return 0, true, nil
	}
	return max(n, 0), true, werr
}
