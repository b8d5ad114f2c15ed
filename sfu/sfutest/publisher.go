package sfutest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Publisher is a WHIP client sending H264 + Opus, like OBS.
type Publisher struct {
	PC       *webrtc.PeerConnection
	Location string
	ETag     string // the session's ETag from the WHIP answer
	token    string
	video    *webrtc.TrackLocalStaticSample
	audio    *webrtc.TrackLocalStaticSample
	paused   atomic.Bool
	// Frames counts video frames written.
	Frames atomic.Int64
}

// Publish offers H264 (Constrained Baseline, packetization-mode 1) and Opus
// to whipURL with the stream key as bearer token, and returns once the
// connection is up.
func Publish(ctx context.Context, whipURL, streamKey string) (*Publisher, error) {
	return PublishCodec(ctx, whipURL, streamKey, webrtc.MimeTypeH264)
}

// PublishCodec is Publish with the video codec videoMime: webrtc.MimeTypeH264
// or webrtc.MimeTypeVP8 (as browsers send; see SyntheticVP8).
func PublishCodec(ctx context.Context, whipURL, streamKey, videoMime string) (*Publisher, error) {
	pc, err := newPeer(true)
	if err != nil {
		return nil, err
	}
	vc := webrtc.RTPCodecCapability{MimeType: videoMime, ClockRate: 90000}
	if videoMime == webrtc.MimeTypeH264 {
		vc.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	}
	video, err := webrtc.NewTrackLocalStaticSample(vc, "video", "sfutest")
	if err != nil {
		return nil, err
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "sfutest")
	if err != nil {
		return nil, err
	}
	for _, t := range []webrtc.TrackLocal{video, audio} {
		if _, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	loc, tag, err := exchange(ctx, pc, whipURL, streamKey)
	if err != nil {
		pc.Close()
		return nil, err
	}
	// Media written before DTLS is up is lost; like OBS, start sending
	// (with a keyframe) once connected.
	select {
	case <-connected:
	case <-ctx.Done():
		pc.Close()
		return nil, fmt.Errorf("connect: %w", ctx.Err())
	}
	return &Publisher{PC: pc, Location: loc, ETag: tag, token: streamKey, video: video, audio: audio}, nil
}

// Send loops m in real time until ctx is done, restarting from the first
// frame (an IDR) at the end. It returns ctx's error.
func (p *Publisher) Send(ctx context.Context, m *Media) error {
	errc := make(chan error, 2)
	go func() { errc <- p.loop(ctx, p.video, m.Video, true) }()
	go func() { errc <- p.loop(ctx, p.audio, m.Audio, false) }()
	err := <-errc
	<-errc
	return err
}

func (p *Publisher) loop(ctx context.Context, t *webrtc.TrackLocalStaticSample, samples []media.Sample, video bool) error {
	if len(samples) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	start := time.Now()
	var elapsed time.Duration
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; ; i = (i + 1) % len(samples) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		s := samples[i]
		if !p.paused.Load() {
			if err := t.WriteSample(s); err != nil {
				return fmt.Errorf("write sample: %w", err)
			}
			if video {
				p.Frames.Add(1)
			}
		}
		elapsed += s.Duration
		timer.Reset(time.Until(start.Add(elapsed)))
	}
}

// Pause stops sending media while keeping the connection (a silent
// publisher); Resume sends again.
func (p *Publisher) Pause()  { p.paused.Store(true) }
func (p *Publisher) Resume() { p.paused.Store(false) }

// Delete ends the session with DELETE and closes the connection. It
// returns the DELETE status.
func (p *Publisher) Delete(ctx context.Context) (int, error) {
	code, err := deleteSession(ctx, p.Location, p.token)
	p.PC.Close()
	return code, err
}

// Close drops the connection without DELETE, as a network failure would.
func (p *Publisher) Close() error { return p.PC.Close() }
