package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/ingest"
	"github.com/dropcast/dropcast/server"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/sfu/sfutest"
	"github.com/dropcast/dropcast/store/storetest"
)

// freeUDPPair returns two free consecutive UDP ports, the first even.
func freeUDPPair(t *testing.T) (int, int) {
	t.Helper()
	for range 50 {
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		a.Close()
		if p%2 != 0 {
			continue
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		if err != nil {
			continue
		}
		b.Close()
		return p, p + 1
	}
	t.Fatal("no free UDP port pair")
	return 0, 0
}

func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type env struct {
	httpURL, rtspAddr string
	drops             *drops.Service
	dropID            int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := storetest.New(t)
	ds := drops.NewService(pool, nil)
	reg := prometheus.NewRegistry()
	m, err := sfu.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	media, err := sfu.New(sfu.Config{UDPAddr: "127.0.0.1:0"}, sfu.Deps{Logger: log, Bursts: ds, Bus: events.NewBus(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { media.Close() })
	rtpPort, rtcpPort := freeUDPPair(t)
	addr := freeTCP(t)
	rtsp, err := ingest.NewRTSP(ingest.Config{
		Addr: addr, UDPRTPAddr: fmt.Sprintf("127.0.0.1:%d", rtpPort), UDPRTCPAddr: fmt.Sprintf("127.0.0.1:%d", rtcpPort),
	}, log, media)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rtsp.Close)
	srv, err := server.New(server.Config{PublicURL: "http://127.0.0.1", AdminToken: "admin-token-0123456789"}, server.Deps{
		Logger: log, Pool: pool, Drops: ds, Registry: reg, Gatherer: reg, Media: media,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	now := time.Now()
	d, err := ds.CreateDrop(t.Context(), drops.DropInput{Slug: "rtsp-test", Title: "RTSP", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(40 * time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{httpURL: hs.URL, rtspAddr: addr, drops: ds, dropID: d.ID}
}

// pushFixture records the fixture to url until ctx ends: H264 in 1,400-byte
// packets with SPS/PPS only in the SDP (as IP cameras do), and Opus.
func pushFixture(ctx context.Context, t *testing.T, url string, transport gortsplib.Transport) error {
	m := sfutest.LoadFixture(t)
	var sps, pps []byte
	var aus [][][]byte
	for _, s := range m.Video {
		var au [][]byte
		for _, n := range splitAnnexB(s.Data) {
			switch n[0] & 0x1f {
			case 7:
				sps = n
			case 8:
				pps = n
			default:
				au = append(au, n)
			}
		}
		aus = append(aus, au)
	}
	h264 := &format.H264{PayloadTyp: 96, SPS: sps, PPS: pps, PacketizationMode: 1}
	opus := &format.Opus{PayloadTyp: 111, ChannelCount: 2}
	desc := &description.Session{Medias: []*description.Media{
		{Type: description.MediaTypeVideo, Formats: []format.Format{h264}},
		{Type: description.MediaTypeAudio, Formats: []format.Format{opus}},
	}}
	c := gortsplib.Client{Transport: &transport}
	if err := c.StartRecording(url, desc); err != nil {
		return err
	}
	defer c.Close()
	enc := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: 1400}
	if err := enc.Init(); err != nil {
		return err
	}
	start := time.Now()
	var seqA uint16
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * time.Second / 30)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(at)):
		}
		pkts, err := enc.Encode(aus[i%len(aus)])
		if err != nil {
			return err
		}
		for _, p := range pkts {
			p.Timestamp = uint32(i * 3000)
			if err := c.WritePacketRTP(desc.Medias[0], p); err != nil {
				return err
			}
		}
		// Opus: 20 ms packets, three for every two frames (30 fps).
		for k := int(seqA); k < (i+1)*3/2; k++ {
			s := m.Audio[k%len(m.Audio)]
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seqA, Timestamp: uint32(k * 960), SSRC: 1234}, Payload: s.Data}
			seqA++
			if err := c.WritePacketRTP(desc.Medias[1], p); err != nil {
				return err
			}
		}
	}
}

func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				out = append(out, b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

func TestRTSPPushReachesWHEPViewer(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name      string
		transport gortsplib.Transport
	}{{"tcp", gortsplib.TransportTCP}, {"udp", gortsplib.TransportUDP}} {
		t.Run(tc.name, func(t *testing.T) {
			b, key, err := e.drops.CreateBurst(t.Context(), e.dropID, drops.BurstInput{Title: tc.name, Kind: drops.KindHeadline, ScheduledAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			pushCtx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			var errMu sync.Mutex
			var pushErrV error
			pushErr := func() error { errMu.Lock(); defer errMu.Unlock(); return pushErrV }
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := pushFixture(pushCtx, t, "rtsp://"+e.rtspAddr+"/"+key.String(), tc.transport)
				errMu.Lock()
				pushErrV = err
				errMu.Unlock()
			}()
			defer func() { stop(); wg.Wait() }()

			var v *sfutest.Viewer
			for v == nil {
				v, err = sfutest.Watch(ctx, fmt.Sprintf("%s/whep/%d", e.httpURL, b.ID), "")
				if err != nil {
					if ctx.Err() != nil {
						t.Fatalf("watch: %v (push: %v)", err, pushErr())
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			defer v.Close()
			if !v.WaitFor(ctx, func(video, audio sfutest.TrackStats) bool { return video.Packets >= 100 && audio.Packets >= 20 }) {
				video, audio := v.Stats()
				t.Fatalf("viewer got video %d audio %d packets (push: %v)", video.Packets, audio.Packets, pushErr())
			}
			video, _ := v.Stats()
			if video.MaxSize > 1200 {
				t.Fatalf("largest video packet %d bytes, want ≤ 1200", video.MaxSize)
			}
			nals := v.FirstNALs()
			if len(nals) < 3 || nals[0] != 7 || !slices.Contains(nals[:3], 8) || !slices.Contains(nals[:min(len(nals), 5)], 5) {
				t.Fatalf("first NAL types %v, want SPS, PPS, IDR", nals)
			}
		})
	}
}

func TestRTSPRefusesBadKey(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err := pushFixture(ctx, t, "rtsp://"+e.rtspAddr+"/dck_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", gortsplib.TransportTCP)
	if err == nil || (!strings.Contains(err.Error(), "401") && !strings.Contains(err.Error(), "Unauthorized")) {
		t.Fatalf("push with a bad key: %v, want 401", err)
	}
}

// ffmpeg pushing the fixture over RTSP (as hosts do) reaches a WHEP viewer.
func TestFFmpegRTSPPush(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed")
	}
	e := newEnv(t)
	b, key, err := e.drops.CreateBurst(t.Context(), e.dropID, drops.BurstInput{Title: "ffmpeg", Kind: drops.KindHeadline, ScheduledAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	dir := sfutest.FixtureDir()
	cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-f", "h264", "-framerate", "30",
		"-i", filepath.Join(dir, "fixture.h264"), "-stream_loop", "-1", "-i", filepath.Join(dir, "fixture.ogg"),
		"-map", "0:v", "-map", "1:a", "-c", "copy", "-rtsp_transport", "tcp", "-f", "rtsp", "rtsp://"+e.rtspAddr+"/"+key.String())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()

	var v *sfutest.Viewer
	for v == nil {
		v, err = sfutest.Watch(ctx, fmt.Sprintf("%s/whep/%d", e.httpURL, b.ID), "")
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("watch: %v; ffmpeg: %s", err, stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	defer v.Close()
	if !v.WaitFor(ctx, func(video, audio sfutest.TrackStats) bool { return video.Packets >= 60 && audio.Packets >= 20 }) {
		video, audio := v.Stats()
		t.Fatalf("viewer got video %d audio %d packets; ffmpeg: %s", video.Packets, audio.Packets, stderr.String())
	}
	if nals := v.FirstNALs(); len(nals) < 3 || nals[0] != 7 {
		t.Fatalf("first NAL types %v, want SPS first", nals)
	}
}
