package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/dropcast/dropcast/app"
)

// settings are the values read from flags and the environment. A flag wins
// over its environment variable, which wins over the default.
type settings struct {
	app       app.Config
	logFormat string
	logLevel  string
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// DefaultDatabaseURL is used when DATABASE_URL is unset.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/dropcast?sslmode=disable"

// parseSettings reads the flags of a subcommand from args and the
// environment from getenv.
func parseSettings(name string, args []string, getenv func(string) string, stderr io.Writer) (settings, error) {
	var s settings
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.app.DatabaseURL, "database-url", envOr(getenv, "DATABASE_URL", DefaultDatabaseURL), "PostgreSQL URL (DATABASE_URL)")
	fs.StringVar(&s.app.HTTPAddr, "http-addr", envOr(getenv, "HTTP_ADDR", ":8080"), "HTTP listen address (HTTP_ADDR)")
	fs.IntVar(&s.app.MaxConnsPerIP, "max-conns-per-ip", int(intEnv(getenv, "MAX_CONNS_PER_IP", 256)), "most HTTP/websocket connections one client IP may hold open, loopback exempt; 0: no cap (MAX_CONNS_PER_IP)")
	fs.StringVar(&s.app.PublicURL, "public-url", envOr(getenv, "PUBLIC_URL", ""), "base URL clients use; default http://localhost:PORT (PUBLIC_URL)")
	fs.StringVar(&s.app.DataDir, "data-dir", envOr(getenv, "DATA_DIR", "./data"), "directory for recordings, clips and demo key seed (DATA_DIR)")
	fs.StringVar(&s.logFormat, "log-format", envOr(getenv, "LOG_FORMAT", "text"), "log format: text or json (LOG_FORMAT)")
	fs.StringVar(&s.logLevel, "log-level", envOr(getenv, "LOG_LEVEL", "info"), "log level: debug, info, warn, error (LOG_LEVEL)")
	ck := &s.app.Checkout
	fs.StringVar(&ck.StripeAPIURL, "stripe-api-url", envOr(getenv, "STRIPE_API_URL", ""), "Stripe API base URL, e.g. a stripe-mock at http://127.0.0.1:12111; empty: Stripe (STRIPE_API_URL)")
	fs.DurationVar(&ck.HoldDuration, "hold-duration", durationEnv(getenv, "HOLD_DURATION", 10*time.Minute), "how long a cart hold keeps its stock (HOLD_DURATION)")
	fs.DurationVar(&ck.DealGrace, "deal-grace", durationEnv(getenv, "DEAL_GRACE", 10*time.Second), "how long a deal price lasts after its card comes down (DEAL_GRACE)")
	fs.IntVar(&ck.ShopperLimit, "shopper-limit", int(intEnv(getenv, "SHOPPER_LIMIT", 5)), "default most units of a variant per shopper per drop (SHOPPER_LIMIT)")
	fs.BoolVar(&ck.DurableHolds, "durable-holds", getenv("DURABLE_HOLDS") == "true", "make every cart hold wait for the WAL flush (DURABLE_HOLDS=true)")
	fs.Float64Var(&ck.StripeRate, "stripe-rate", floatEnv(getenv, "STRIPE_RATE", 20), "most Stripe API calls per second (STRIPE_RATE)")
	fs.DurationVar(&s.app.RecordFragment, "record-fragment", durationEnv(getenv, "RECORD_FRAGMENT", time.Second), "media per recording fragment; what a crash can lose at most (RECORD_FRAGMENT)")
	fs.StringVar(&s.app.Media.UDPAddr, "webrtc-udp-addr", envOr(getenv, "WEBRTC_UDP_ADDR", ":8189"), "the one UDP address for all WebRTC media (WEBRTC_UDP_ADDR)")
	publicIPs := fs.String("webrtc-public-ips", envOr(getenv, "WEBRTC_PUBLIC_IPS", ""), "comma-separated public IPs advertised in ICE candidates, for NAT/Docker (WEBRTC_PUBLIC_IPS)")
	iceServers := fs.String("ice-servers", envOr(getenv, "ICE_SERVERS", ""), "comma-separated STUN/TURN URLs, e.g. stun:stun.l.google.com:19302 (ICE_SERVERS)")
	grace := fs.Duration("publish-grace", durationEnv(getenv, "PUBLISH_GRACE", 30*time.Second), "how long viewers wait for a dropped publisher to come back (PUBLISH_GRACE)")
	fs.StringVar(&s.app.RTSPAddr, "rtsp-addr", envOr(getenv, "RTSP_ADDR", ":8554"), `RTSP ingest listen address, or "off" (RTSP_ADDR)`)
	fs.StringVar(&s.app.RTSPUDPAddr, "rtsp-udp-addr", envOr(getenv, "RTSP_UDP_ADDR", ":8000"), `RTSP ingest UDP address for RTP, an even port; RTCP uses the next port; "off": RTSP over TCP only (RTSP_UDP_ADDR)`)
	shutdown := fs.Duration("shutdown-timeout", durationEnv(getenv, "SHUTDOWN_TIMEOUT", 10*time.Second), "bound on each shutdown step (SHUTDOWN_TIMEOUT)")
	origins := fs.String("ws-allowed-origins", envOr(getenv, "WS_ALLOWED_ORIGINS", ""), "comma-separated origins (scheme://host[:port], or *) whose pages may open the shopper websocket besides the server's own host (WS_ALLOWED_ORIGINS)")
	fs.Int64Var(&s.app.Channel.ReadLimit, "ws-read-limit", intEnv(getenv, "WS_READ_LIMIT", 4096), "largest client websocket frame in bytes (WS_READ_LIMIT)")
	fs.IntVar(&s.app.Channel.QueueSize, "ws-queue-size", int(intEnv(getenv, "WS_QUEUE_SIZE", 64)), "outgoing messages a websocket may have waiting before it is closed as a slow consumer (WS_QUEUE_SIZE)")
	fs.Float64Var(&s.app.Channel.CommandRate, "ws-command-rate", floatEnv(getenv, "WS_COMMAND_RATE", 10), "client commands per second per websocket (WS_COMMAND_RATE)")
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	if fs.NArg() > 0 {
		return settings{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	// The admin token is a secret: it comes only from the environment, never
	// from a flag that would show in the process list.
	s.app.AdminToken = getenv("ADMIN_TOKEN")
	s.app.ShopperSecret = getenv("SHOPPER_SECRET")
	s.app.Checkout.StripeSecretKey = getenv("STRIPE_SECRET_KEY")
	s.app.Checkout.StripeWebhookSecret = getenv("STRIPE_WEBHOOK_SECRET")
	s.app.ShutdownTimeout = *shutdown
	s.app.Channel.AllowedOrigins = splitList(*origins)
	s.app.Media.PublicIPs = splitList(*publicIPs)
	s.app.Media.ICEServers = splitList(*iceServers)
	s.app.Media.ICEUsername = getenv("ICE_USERNAME")
	s.app.Media.ICECredential = getenv("ICE_CREDENTIAL")
	s.app.Media.Grace = *grace
	if s.app.PublicURL == "" {
		s.app.PublicURL = defaultPublicURL(s.app.HTTPAddr)
	}
	return s, nil
}

// splitList splits a comma-separated setting, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func durationEnv(getenv func(string) string, name string, def time.Duration) time.Duration {
	if v := getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func intEnv(getenv func(string) string, name string, def int64) int64 {
	if v := getenv(name); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

func floatEnv(getenv func(string) string, name string, def float64) float64 {
	if v := getenv(name); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}

// defaultPublicURL is http://localhost:PORT for a listen address.
func defaultPublicURL(addr string) string {
	port := "8080"
	if i := strings.LastIndex(addr, ":"); i >= 0 && i < len(addr)-1 {
		port = addr[i+1:]
	}
	return "http://localhost:" + port
}

// newLogger builds the process logger: text for development, JSON for
// production log pipelines.
func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
