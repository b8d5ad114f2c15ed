//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropcast/dropcast/app"
	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/checkout/checkouttest"
	"github.com/dropcast/dropcast/demo"
	"github.com/dropcast/dropcast/store/storetest"
)

const adminToken = "e2e-admin-token-0123456789"

// dataDir is shared by every app the tests start: the demo's generated
// product pictures are content-addressed, so the second seeding finds them
// made and skips the scaling. Set once by TestMain, read only afterwards.
var dataDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dropcast-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dataDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one running dropcast with the demo drop seeded.
type env struct {
	app  *app.App
	base string
	demo demo.Result
}

// startApp starts the real app on 127.0.0.1:0 with a fresh database and the
// demo drop (with its generated product pictures) seeded.
func startApp(t *testing.T) *env {
	t.Helper()
	_, dbURL := storetest.NewWithURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("DROPCAST_E2E_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := app.New(ctx, app.Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", AdminToken: adminToken, DataDir: dataDir,
		RTSPAddr: "off", Checkout: checkout.Config{
			StripeSecretKey:     "sk_test_e2e",
			StripeWebhookSecret: "whsec_e2e",
			StripeAPIURL:        checkouttest.StripeMock(t),
		}}, logger)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("app did not stop")
		}
	})
	images, err := catalog.NewImageStore(filepath.Join(dataDir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := (&demo.Seeder{Drops: a.Drops, Catalog: a.Catalog, DataDir: dataDir, Images: images}).Seed(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return &env{app: a, base: "http://" + a.Addr(), demo: res}
}

// chromiumFlags are the flags every test browser runs with.
var chromiumFlags = []string{"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync", "allow-loopback-in-peer-connection",
	"use-fake-ui-for-media-stream", "use-fake-device-for-media-stream"}

func chromiumPath(t testing.TB) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("no chromium found: apt-get install -y chromium (or set CHROMIUM)")
	return ""
}

// browser starts a fresh headless Chromium (own user-data-dir) and returns
// a context for its first tab. It is stopped when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chromiumPath(t)), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800)}
	for _, f := range chromiumFlags {
		name, value, ok := strings.Cut(f, "=")
		if ok {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// tab opens another tab in the same browser.
func tab(t *testing.T, browserCtx context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	// Create the tab now, on ctx itself: a tab made by a first Run on a
	// derived context (with a timeout) would be tied to that context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// within bounds a step so a broken page fails the test instead of hanging it.
func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := within(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := within(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it holds, failing after d.
func waitFor(t *testing.T, ctx context.Context, d time.Duration, what, predicate string) {
	t.Helper()
	ctx, cancel := within(ctx, d+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// viewports are the screenshot sizes: a phone in portrait and a laptop.
var viewports = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"phone", 390, 844, true},
	{"desktop", 1280, 800, false},
}

func setViewport(w, h int64, mobile bool) chromedp.Action[chromedp.Void] {
	if mobile {
		return chromedp.EmulateViewport(w, h, chromedp.EmulateScale(1), chromedp.EmulateMobile)
	}
	return chromedp.EmulateViewport(w, h, chromedp.EmulateScale(1))
}

func screenshotDir(t testing.TB) string {
	dir := os.Getenv("DROPCAST_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// screenshot saves the current viewport (or the full page) as name.png and
// logs the path, which CI prints.
func screenshot(t *testing.T, ctx context.Context, name string, full bool) {
	t.Helper()
	ctx, cancel := within(ctx, 30*time.Second)
	defer cancel()
	action := chromedp.CaptureScreenshot()
	if full {
		action = chromedp.FullScreenshot(100) // 100 gives PNG
	}
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// routeMissing reports whether method+path has no handler on the server:
// Go's mux answers an unknown route with its own plain "404 page not found"
// (or 405 when only other methods exist), which no handler of ours sends.
func routeMissing(t *testing.T, base, method, path string) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader("v=0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("probe %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 256))
	return res.StatusCode == http.StatusMethodNotAllowed ||
		(res.StatusCode == http.StatusNotFound && string(body) == "404 page not found\n")
}

func burstPath(prefix string, id int64) string { return fmt.Sprintf("%s/%d", prefix, id) }

// apiRouteMissing is routeMissing for /api/ paths, whose catch-all answers
// an unknown route with a JSON "no route" message.
func apiRouteMissing(t *testing.T, base, method, path string) bool {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("probe %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	return res.StatusCode == http.StatusNotFound && strings.Contains(string(body), `"no route `)
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
