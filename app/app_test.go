package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dropcast/dropcast/app"
	"github.com/dropcast/dropcast/store/storetest"
)

const token = "app-test-admin-token-123"

func start(t *testing.T) (*app.App, context.CancelFunc, chan error) {
	t.Helper()
	_, url := storetest.NewWithURL(t)
	a, err := app.New(t.Context(), app.Config{
		DatabaseURL: url, HTTPAddr: "127.0.0.1:0", AdminToken: token, DataDir: t.TempDir(),
		ShutdownTimeout: 5 * time.Second,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return a, cancel, done
}

func TestServesAndReady(t *testing.T) {
	a, _, _ := start(t)
	resp, err := http.Get("http://" + a.Addr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz %d", resp.StatusCode)
	}
	if !strings.HasPrefix(a.PublicURL(), "http://localhost:") {
		t.Fatalf("public url %q", a.PublicURL())
	}
}

// TestGracefulShutdown starts a request, begins shutdown while its body is
// still arriving, and checks that the request completes, the listener closes
// and the pool is closed.
func TestGracefulShutdown(t *testing.T) {
	a, cancel, done := start(t)

	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"slug":"shutdown","title":"S","currency":"USD","starts_at":"2030-01-01T00:00:00Z","ends_at":"2030-01-02T00:00:00Z"}`
	fmt.Fprintf(conn, "POST /api/drops HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", token, len(body))
	half := len(body) / 2
	if _, err := io.WriteString(conn, body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server start reading the request

	cancel()
	// The listener stops accepting promptly while the request is in flight.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", a.Addr(), 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) before the in-flight request finished", err)
	default:
	}

	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request got %d, want 201", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	if err := a.Pool().Ping(context.Background()); err == nil {
		t.Fatal("pool still usable after shutdown")
	} else if !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "closed") {
		t.Logf("ping after close: %v", err)
	}
	done <- nil // for the cleanup's receive
}
