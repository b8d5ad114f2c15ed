package live

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config holds the channel's tunables. The zero value of each field means its
// default; call Validate after filling it.
type Config struct {
	// AllowedOrigins lists the origins (scheme://host[:port]) whose pages may
	// open the websocket, besides the server's own host, which is always
	// allowed. "*" allows every origin. Empty: same host only.
	AllowedOrigins []string
	// PublicURL is the base URL of the pages; checkout returns shoppers to
	// PublicURL/watch/{burst}. Optional.
	PublicURL string
	// ReadLimit is the largest client frame in bytes; a larger one closes the
	// connection with 1009 (message too big). It defaults to 4096.
	ReadLimit int64
	// QueueSize is how many outgoing messages a connection may have waiting;
	// a connection that falls that far behind is closed as a slow consumer.
	// It defaults to 64.
	QueueSize int
	// WriteTimeout bounds one frame write. It defaults to 10 s.
	WriteTimeout time.Duration
	// PingInterval is how often the server pings; a connection that sends
	// nothing (pongs included) for PongWait is closed. They default to 25 s
	// and 60 s.
	PingInterval time.Duration
	PongWait     time.Duration
	// CommandRate and CommandBurst limit each connection's commands (per
	// second, and the burst above that rate). They default to 10 and 20.
	CommandRate  float64
	CommandBurst int
	// StockInterval is the shortest time between two batches of "stock"
	// messages for one burst; changes in between are coalesced into each
	// variant's latest value and sent together. It defaults to 250 ms.
	StockInterval time.Duration
	// StockIntervalPerConn lengthens that interval with the audience: at
	// least this much per connection of the burst. A batch costs about
	// 10 µs of CPU per connection, so the default, 40 µs, keeps stock
	// updates under about a quarter of one core in a rush (10,000
	// shoppers: a batch every 400 ms; 1,000: every 250 ms). Negative: off.
	StockIntervalPerConn time.Duration
	// ViewersInterval is how often a changed viewer count is broadcast. It
	// defaults to 2 s.
	ViewersInterval time.Duration
	// HubIdle is how long a hub with no connections outlives its burst's live
	// window before it stops. It defaults to 1 minute.
	HubIdle time.Duration
	// CommandTimeout bounds one call to the commerce backend. It defaults to 10 s.
	CommandTimeout time.Duration
	// Now is the clock; it defaults to time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.ReadLimit == 0 {
		c.ReadLimit = 4096
	}
	if c.QueueSize == 0 {
		c.QueueSize = 64
	}
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.PingInterval, 25*time.Second)
	def(&c.PongWait, 60*time.Second)
	if c.CommandRate == 0 {
		c.CommandRate = 10
	}
	if c.CommandBurst == 0 {
		c.CommandBurst = 20
	}
	def(&c.StockInterval, 250*time.Millisecond)
	def(&c.StockIntervalPerConn, 40*time.Microsecond)
	def(&c.ViewersInterval, 2*time.Second)
	def(&c.HubIdle, time.Minute)
	def(&c.CommandTimeout, 10*time.Second)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
}

// Validate reports the first malformed setting.
func (c Config) Validate() error {
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return fmt.Errorf("allowed origin %q must be scheme://host[:port] or *", o)
		}
	}
	if c.ReadLimit < 256 {
		return errors.New("websocket read limit must be at least 256 bytes")
	}
	if c.QueueSize < 4 {
		return errors.New("websocket queue size must be at least 4")
	}
	if c.PongWait <= c.PingInterval {
		return errors.New("websocket pong wait must be longer than the ping interval")
	}
	if c.CommandRate <= 0 || c.CommandBurst <= 0 {
		return errors.New("websocket command rate and burst must be positive")
	}
	return nil
}

// OriginAllowed reports whether a page at origin may open a websocket to a
// server reached as host (the request's Host header). A request without an
// Origin header (a non-browser client) is allowed: browsers always send it.
func (c Config) OriginAllowed(origin, host string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	for _, o := range c.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}
