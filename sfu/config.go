package sfu

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Config holds the media core's plain settings. The zero value of every field
// means its default.
type Config struct {
	// UDPAddr is the one UDP address all WebRTC media uses (ICE UDP mux). It
	// defaults to ":8189".
	UDPAddr string
	// PublicIPs are the addresses put in ICE candidates instead of the local
	// ones, for a server behind 1:1 NAT or Docker port publishing. Empty
	// advertises the local addresses.
	PublicIPs []string
	// ICEServers are STUN/TURN URLs ("stun:host:3478", "turn:host:3478")
	// advertised to clients in WHIP/WHEP Link headers and used by the server
	// when it gathers candidates. TURN entries use ICEUsername and
	// ICECredential.
	ICEServers []string
	// ICEUsername and ICECredential authenticate on the TURN servers.
	ICEUsername   string
	ICECredential string
	// Grace is how long viewers stay connected after the publisher
	// disappears, waiting for it to come back. It defaults to 30 s.
	Grace time.Duration
	// SilentAfter is how long a publisher may send nothing before another
	// publish with the same stream key replaces it. It defaults to 3 s.
	SilentAfter time.Duration
	// EndingWarning is how long before a burst's limit it moves to "ending".
	// It defaults to 60 s.
	EndingWarning time.Duration
	// EarlyPublish is how long before its scheduled time a burst may be
	// published. It defaults to 1 h.
	EarlyPublish time.Duration
	// ViewerQueue is each viewer's packet queue length beyond the GOP replay;
	// when it is full the oldest packets are dropped. It defaults to 1024.
	ViewerQueue int
	// KeyframeInterval is the minimum time between two keyframe requests
	// sent to one publisher. It defaults to 500 ms.
	KeyframeInterval time.Duration
	// GatherTimeout bounds ICE gathering before an answer is sent (OBS gives
	// up after 8 s). It defaults to 3 s.
	GatherTimeout time.Duration
}

// Defaults returned by Config.withDefaults.
const (
	DefaultUDPAddr          = ":8189"
	DefaultGrace            = 30 * time.Second
	DefaultSilentAfter      = 3 * time.Second
	DefaultEndingWarning    = 60 * time.Second
	DefaultEarlyPublish     = time.Hour
	DefaultViewerQueue      = 1024
	DefaultKeyframeInterval = 500 * time.Millisecond
	DefaultGatherTimeout    = 3 * time.Second
)

func (c Config) withDefaults() Config {
	if c.UDPAddr == "" {
		c.UDPAddr = DefaultUDPAddr
	}
	setDur(&c.Grace, DefaultGrace)
	setDur(&c.SilentAfter, DefaultSilentAfter)
	setDur(&c.EndingWarning, DefaultEndingWarning)
	setDur(&c.EarlyPublish, DefaultEarlyPublish)
	setDur(&c.KeyframeInterval, DefaultKeyframeInterval)
	setDur(&c.GatherTimeout, DefaultGatherTimeout)
	if c.ViewerQueue <= 0 {
		c.ViewerQueue = DefaultViewerQueue
	}
	return c
}

func setDur(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Validate reports the first malformed setting.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.UDPAddr); c.UDPAddr != "" && err != nil {
		return fmt.Errorf("webrtc udp address %q: %w", c.UDPAddr, err)
	}
	for _, ip := range c.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("public ip %q is not an IP address", ip)
		}
	}
	for _, u := range c.ICEServers {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return fmt.Errorf("ice server %q must start with stun:, turn: or turns:", u)
		}
	}
	if c.ViewerQueue < 0 || c.ViewerQueue > 1<<16 {
		return errors.New("viewer queue must be between 1 and 65536 packets")
	}
	return nil
}
