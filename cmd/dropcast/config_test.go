package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSettingsPrecedence(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want func(settings) string // "" when fine
	}{
		{"defaults", nil, nil, func(s settings) string {
			if s.app.DatabaseURL != DefaultDatabaseURL || s.app.RTSPUDPAddr != ":8000" || s.app.HTTPAddr != ":8080" || s.app.PublicURL != "http://localhost:8080" || s.app.ShutdownTimeout != 10*time.Second ||
				s.app.MaxConnsPerIP != 256 {
				return "wrong defaults"
			}
			return ""
		}},
		{"env", nil, map[string]string{"DATABASE_URL": "postgres://x/y", "HTTP_ADDR": "127.0.0.1:9000", "ADMIN_TOKEN": "t0k", "SHUTDOWN_TIMEOUT": "3s", "MAX_CONNS_PER_IP": "0"}, func(s settings) string {
			if s.app.DatabaseURL != "postgres://x/y" || s.app.PublicURL != "http://localhost:9000" || s.app.AdminToken != "t0k" || s.app.ShutdownTimeout != 3*time.Second ||
				s.app.MaxConnsPerIP != 0 {
				return "env not applied"
			}
			return ""
		}},
		{"rtsp udp", []string{"-rtsp-udp-addr", "127.0.0.1:9000"}, map[string]string{"RTSP_UDP_ADDR": ":7000"}, func(s settings) string {
			if s.app.RTSPUDPAddr != "127.0.0.1:9000" {
				return "rtsp udp flag not applied"
			}
			return ""
		}},
		{"rtsp udp env", nil, map[string]string{"RTSP_UDP_ADDR": "off"}, func(s settings) string {
			if s.app.RTSPUDPAddr != "off" {
				return "rtsp udp env not applied"
			}
			return ""
		}},
		{"flag beats env", []string{"-http-addr", ":7000", "-public-url", "https://shop.example"}, map[string]string{"HTTP_ADDR": ":9000"}, func(s settings) string {
			if s.app.HTTPAddr != ":7000" || s.app.PublicURL != "https://shop.example" {
				return "flag did not win"
			}
			return ""
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSettings("serve", tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.want(s); msg != "" {
				t.Fatalf("%s: %+v", msg, s.app)
			}
		})
	}
	if _, err := parseSettings("serve", []string{"extra"}, env(nil), io.Discard); err == nil {
		t.Fatal("stray argument accepted")
	}
	if _, err := parseSettings("serve", []string{"-admin-token", "x"}, env(nil), io.Discard); err == nil {
		t.Fatal("admin token accepted as a flag")
	}
}

func TestRunRefusesUnknownAndPrintsVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, env(nil), &out, &errOut); err == nil || !strings.Contains(errOut.String(), "usage") {
		t.Fatalf("unknown command: err %v, stderr %q", err, errOut.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"version"}, env(nil), &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "dropcast ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"serve", "-log-format", "xml"}, env(nil), &out, io.Discard); err == nil {
		t.Fatal("bad log format accepted")
	}
}
