// Package sfutest is a WHIP publisher and WHEP viewer built on Pion, for
// tests of dropcast and of other tools against it: it publishes the
// repository's H264 + Opus fixture (testdata/) in real time and records what
// a viewer receives. It is test support, not production code, but it speaks
// the same HTTP and WebRTC as OBS and browsers.
package sfutest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Media is a clip split into samples: H264 access units (Annex-B, SPS/PPS
// in-band before each IDR) and Opus packets.
type Media struct {
	Video []media.Sample
	Audio []media.Sample
	// FPS is the video frame rate the samples are paced at.
	FPS int
}

// SyntheticVP8 returns n frames of stand-in VP8 at 30 fps, a key frame
// every 30: the payload header's P bit is the only thing a forwarding
// server looks at, so the frames are not decodable pictures. Audio is the
// fixture's Opus from m.
func SyntheticVP8(m *Media, n int) *Media {
	out := &Media{Audio: m.Audio, FPS: 30}
	for i := range n {
		frame := make([]byte, 900)
		frame[0] = 0x01 // inter frame: P bit set
		if i%30 == 0 {
			frame = make([]byte, 3000) // key frames are bigger: fragmented
			frame[0] = 0x00
		}
		out.Video = append(out.Video, media.Sample{Data: frame, Duration: time.Second / 30})
	}
	return out
}

// FixtureDir is the repository's testdata directory.
func FixtureDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata")
}

// LoadFixture loads testdata/fixture.h264 and testdata/fixture.ogg (30 fps,
// 1 s GOP), failing tb on error.
func LoadFixture(tb testing.TB) *Media {
	tb.Helper()
	m, err := LoadMedia(filepath.Join(FixtureDir(), "fixture.h264"), filepath.Join(FixtureDir(), "fixture.ogg"), 30)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// LoadMedia reads an Annex-B H264 file (one slice per frame) and an Ogg
// Opus file with one packet per page (ffmpeg -page_duration 20000).
func LoadMedia(h264Path, oggPath string, fps int) (*Media, error) {
	m := &Media{FPS: fps}
	hf, err := os.ReadFile(h264Path)
	if err != nil {
		return nil, err
	}
	r, err := h264reader.NewReader(bytes.NewReader(hf))
	if err != nil {
		return nil, fmt.Errorf("h264 %s: %w", h264Path, err)
	}
	frame := time.Second / time.Duration(fps)
	var au []byte
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("h264 %s: %w", h264Path, err)
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
		if t := nal.UnitType; t == h264reader.NalUnitTypeCodedSliceIdr || t == h264reader.NalUnitTypeCodedSliceNonIdr {
			m.Video = append(m.Video, media.Sample{Data: au, Duration: frame})
			au = nil
		}
	}
	of, err := os.ReadFile(oggPath)
	if err != nil {
		return nil, err
	}
	or, _, err := oggreader.NewWith(bytes.NewReader(of))
	if err != nil {
		return nil, fmt.Errorf("ogg %s: %w", oggPath, err)
	}
	for {
		page, _, err := or.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ogg %s: %w", oggPath, err)
		}
		if bytes.HasPrefix(page, []byte("OpusTags")) || len(page) == 0 {
			continue
		}
		m.Audio = append(m.Audio, media.Sample{Data: page, Duration: 20 * time.Millisecond})
	}
	if len(m.Video) == 0 {
		return nil, fmt.Errorf("h264 %s: no frames", h264Path)
	}
	return m, nil
}
