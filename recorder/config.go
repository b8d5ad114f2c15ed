package recorder

import (
	"errors"
	"time"
)

// DefaultMaxClip is the longest clip unless Config.MaxClip says otherwise.
const DefaultMaxClip = 10 * time.Minute

// Config holds the recorder's plain settings.
type Config struct {
	// FragmentDuration is the media length after which the next keyframe
	// closes a fragment: what a crash can lose at most, and the replay's
	// segment length. It defaults to 1 s.
	FragmentDuration time.Duration
	// QueuePackets bounds each recorder's queue of RTP packets waiting to be
	// written; beyond it packets are dropped and counted. It defaults to 4096
	// (about 15 s of a 2.5 Mbit/s burst).
	QueuePackets int
	// FinalizeTimeout bounds finalizing the open recordings at shutdown. It
	// defaults to 10 s.
	FinalizeTimeout time.Duration
	// MaxClip is the longest clip that may be cut. It defaults to 10 min.
	MaxClip time.Duration
}

func (c *Config) setDefaults() {
	if c.FragmentDuration == 0 {
		c.FragmentDuration = time.Second
	}
	if c.QueuePackets == 0 {
		c.QueuePackets = 4096
	}
	if c.FinalizeTimeout == 0 {
		c.FinalizeTimeout = 10 * time.Second
	}
	if c.MaxClip == 0 {
		c.MaxClip = DefaultMaxClip
	}
}

// Validate reports the first setting out of range.
func (c Config) Validate() error {
	if c.FragmentDuration < 100*time.Millisecond || c.FragmentDuration > 10*time.Second {
		return errors.New("recorder fragment duration must be between 100ms and 10s")
	}
	if c.QueuePackets < 64 {
		return errors.New("recorder queue must hold at least 64 packets")
	}
	return nil
}
