package loadgen

import (
	"os"
	"testing"
	"time"
)

// The process's own CPU time is read, and grows with work done.
func TestCPUTimeOfSelf(t *testing.T) {
	before := CPUTime(os.Getpid())
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	after := CPUTime(os.Getpid())
	if after <= before {
		t.Fatalf("CPU time %v then %v after busy work (%d loops)", before, after, x)
	}
	if CPUTime(-1) != 0 {
		t.Fatal("CPU time of no process is not 0")
	}
}
