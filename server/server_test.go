package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/shopper"
	"github.com/dropcast/dropcast/store/storetest"
)

const testToken = "test-admin-token-0123456789"

type testEnv struct {
	t     *testing.T
	srv   *httptest.Server
	drops *drops.Service
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	pool := storetest.New(t)
	reg := prometheus.NewRegistry()
	signer, err := shopper.NewSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ds := drops.NewService(pool, nil)
	s, err := New(Config{PublicURL: "http://shop.example", AdminToken: testToken, RTSPAddr: ":8554"}, Deps{
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Pool:     pool,
		Drops:    ds,
		Catalog:  catalog.NewService(pool),
		Registry: reg,
		Gatherer: reg,
		Shoppers: signer,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, srv: srv, drops: ds}
}

// do sends a request with the admin token unless token is given as "" or
// another value, and decodes a JSON answer into out when out is not nil.
func (e *testEnv) do(method, path, token string, body any, out any) *http.Response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp
}

func (e *testEnv) admin(method, path string, body any, out any) *http.Response {
	e.t.Helper()
	return e.do(method, path, testToken, body, out)
}

func wantStatus(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func dropBody(slug string) map[string]any {
	return map[string]any{
		"slug": slug, "title": "Winter Capsule", "currency": "USD",
		"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-03T00:00:00Z",
	}
}

func productBody(stem string) map[string]any {
	return map[string]any{
		"title": "Hoodie", "images": []string{"https://cdn.example/h.jpg"},
		"variants": []map[string]any{
			{"sku": stem + "-S", "label": "S", "price": 8900, "stock": 10},
			{"sku": stem + "-M", "label": "M", "price": 8900, "stock": 0},
		},
	}
}
