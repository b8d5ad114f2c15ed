// Package checkouttest helps tests of checkout and of the packages around it:
// it starts stripe-mock (pinned as a Go tool in go.mod) on a free loopback
// port and builds a drop with a burst, a product, variants and a card.
package checkouttest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// EnvStripeURL names the environment variable through which Main hands its
// stripe-mock's URL to the tests of the package.
const EnvStripeURL = "DROPCAST_TEST_STRIPE_URL"

// Main runs a package's tests with one stripe-mock shared by all of them
// (StripeMock then returns its URL) and stops it afterwards; then it fails
// the run if goroutines of package checkout are still running (a component
// whose Run did not stop what it started). Use it as
//
//	func TestMain(m *testing.M) { os.Exit(checkouttest.Main(m)) }
func Main(m *testing.M) int {
	if os.Getenv(EnvStripeURL) != "" {
		return m.Run()
	}
	mock, err := startStripeMock(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkouttest:", err)
		return 1
	}
	defer mock.stop()
	os.Setenv(EnvStripeURL, mock.url) //nolint:errcheck // cannot fail for a valid name
	code := m.Run()
	if code == 0 {
		if leaks := checkoutGoroutines(5 * time.Second); leaks != "" {
			fmt.Fprintln(os.Stderr, "checkouttest: leaked goroutines:\n"+leaks)
			return 1
		}
	}
	return code
}

// checkoutGoroutines waits up to timeout for every goroutine running code of
// package checkout to end, and returns the stacks of those that did not.
func checkoutGoroutines(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaks []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "dropcast/dropcast/checkout.") && !strings.Contains(g, "checkouttest.") {
				leaks = append(leaks, g)
			}
		}
		if len(leaks) == 0 || time.Now().After(deadline) {
			return strings.Join(leaks, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StripeMock returns the URL of a running stripe-mock: the package's shared
// one (see Main) or, without it, one started for tb and stopped in Cleanup.
func StripeMock(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv(EnvStripeURL); u != "" {
		return u
	}
	mock, err := startStripeMock(tb.Context())
	if err != nil {
		tb.Fatalf("checkouttest: %v", err)
	}
	tb.Cleanup(mock.stop)
	return mock.url
}

type stripeMock struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func (m *stripeMock) stop() {
	_ = m.cmd.Process.Kill() // it may have exited already
	<-m.done
}

// startStripeMock builds (or finds in the build cache) the stripe-mock tool
// and starts it on a free loopback port, waiting until it accepts
// connections.
func startStripeMock(ctx context.Context) (*stripeMock, error) {
	bin, err := stripeMockBinary(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		// stripe-mock also serves HTTPS, on :12112 unless told otherwise: let the
		// system pick that port so parallel test processes do not collide.
		cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start stripe-mock: %w", err)
		}
		m := &stripeMock{cmd: cmd, url: "http://" + addr, done: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(m.done) }()
		if waitListening(ctx, addr, m.done, 30*time.Second) {
			return m, nil
		}
		m.stop()
		if attempt == 2 {
			return nil, fmt.Errorf("stripe-mock did not listen on %s: %s", addr, out.String())
		}
	}
	return nil, fmt.Errorf("stripe-mock did not start")
}

func stripeMockBinary(ctx context.Context) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("locate go.mod: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", "stripe-mock")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build stripe-mock (go tool -n stripe-mock): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(ctx context.Context, addr string, exited <-chan struct{}, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return true
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-exited:
			return false
		}
	}
	return false
}
