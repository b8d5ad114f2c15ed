package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/sfu/sfutest"
)

// simulcastPublisher publishes three H264 layers (rids h, m, l) over WHIP,
// each sending one single-NAL packet per frame at 30 frames/s with a
// keyframe every second; layer h's packets are the largest, l's the
// smallest. It sends until ctx ends.
func simulcastPublisher(t *testing.T, ctx context.Context, url, key string) {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"urn:ietf:params:rtp-hdrext:sdes:mid", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
		"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ext}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	sizes := map[string]int{"h": 1100, "m": 500, "l": 120}
	var tracks []*webrtc.TrackLocalStaticRTP
	for _, rid := range []string{"l", "m", "h"} { // the smallest first: the server must not stay on it
		tr, err := webrtc.NewTrackLocalStaticRTP(codec, "video", "simulcast", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
	}
	sender, err := pc.AddTrack(tracks[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range tracks[1:] {
		if err := sender.AddEncoding(tr); err != nil {
			t.Fatal(err)
		}
	}
	go func() { // drain RTCP (PLIs) so the interceptors run
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "simulcast")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(audio); err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("simulcast WHIP: %d %s", resp.StatusCode, answer)
	}
	if !strings.Contains(string(answer), "a=simulcast:recv") || !strings.Contains(string(answer), "rtp-stream-id") {
		t.Fatalf("the answer does not take the simulcast layers:\n%s", answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("simulcast publisher never connected")
	}
	// Pion sends the mid and rid header extensions only when told to, as a
	// browser or OBS always does for simulcast.
	var midID, ridID uint8
	for _, ext := range sender.GetParameters().HeaderExtensions {
		switch ext.URI {
		case "urn:ietf:params:rtp-hdrext:sdes:mid":
			midID = uint8(ext.ID)
		case "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id":
			ridID = uint8(ext.ID)
		}
	}
	var mid string
	for _, tr := range pc.GetTransceivers() {
		if tr.Sender() == sender {
			mid = tr.Mid()
		}
	}
	if midID == 0 || ridID == 0 || mid == "" {
		t.Fatalf("negotiated mid extension %d, rid extension %d, mid %q", midID, ridID, mid)
	}
	go func() {
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		var seq uint16
		for frame := uint32(0); ; frame++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			seq++
			for i, tr := range tracks {
				rid := []string{"l", "m", "h"}[i]
				payload := make([]byte, sizes[rid])
				payload[0] = 0x41 // non-IDR slice
				if frame%30 == 0 {
					payload[0] = 0x65 // IDR
				}
				h := rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: frame * 3000}
				_ = h.SetExtension(midID, []byte(mid))
				_ = h.SetExtension(ridID, []byte(rid))
				_ = tr.WriteRTP(&rtp.Packet{Header: h, Payload: payload})
			}
			_ = audio.WriteSample(media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: time.Second / 30}) // Opus silence
		}
	}()
}

// TestSimulcastForwardsTheLargestLayer publishes three simulcast layers,
// the smallest declared first, and checks that viewers end up with the
// largest one, with their stream continuous across the switch.
func TestSimulcastForwardsTheLargestLayer(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{})
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	simulcastPublisher(t, ctx, e.url+"/whip", key)
	v := watch(t, e, b.ID)
	wctx := ctxTimeout(t, 15*time.Second)
	// After the first window the server moves to the largest layer at its
	// next keyframe: packets of about 1100 bytes from then on.
	for {
		before, _ := v.Stats()
		if !v.WaitFor(wctx, func(video, _ sfutest.TrackStats) bool { return video.Packets >= before.Packets+30 }) {
			t.Fatalf("video stalled at %d packets", before.Packets)
		}
		after, _ := v.Stats()
		avg := (after.Bytes - before.Bytes) / (after.Packets - before.Packets)
		if avg >= 1000 {
			if after.Gaps > 2 || after.Reorders > 0 {
				t.Fatalf("stream across the layer switch: %d gaps, %d reorders", after.Gaps, after.Reorders)
			}
			return
		}
		if wctx.Err() != nil {
			t.Fatalf("viewer packets average %d bytes: never the largest layer", avg)
		}
	}
}
