package recorder

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/dropcast/dropcast/sfu"
)

func FuzzParseIndex(f *testing.F) {
	fixture, err := os.ReadFile("testdata/fixture.mp4")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	f.Add(fixture[:len(fixture)/2])
	f.Add(fixture[:1000])
	f.Add([]byte{0, 0, 0, 8, 'm', 'o', 'o', 'v'})
	f.Add([]byte{0, 0, 0, 1, 'm', 'o', 'o', 'f', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := ParseIndex(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if idx.InitSize > idx.ValidSize || idx.ValidSize > int64(len(b)) {
			t.Fatalf("init %d valid %d of %d bytes", idx.InitSize, idx.ValidSize, len(b))
		}
		end := idx.InitSize
		for _, fr := range idx.Fragments {
			if fr.Offset != end || fr.Size <= 0 {
				t.Fatalf("fragment at %d+%d after %d", fr.Offset, fr.Size, end)
			}
			end += fr.Size
			for _, tr := range fr.Tracks {
				for _, s := range tr.Samples {
					if s.Offset < fr.Offset || s.Offset+int64(s.Size) > fr.Offset+fr.Size {
						t.Fatalf("sample %+v outside fragment %d+%d", s, fr.Offset, fr.Size)
					}
				}
			}
		}
		if end != idx.ValidSize {
			t.Fatalf("fragments end at %d, valid size %d", end, idx.ValidSize)
		}
	})
}

func FuzzSpropParameterSets(f *testing.F) {
	f.Add("packetization-mode=1;profile-level-id=42e01f;sprop-parameter-sets=Z0LAH9oBQBbsBEAAAAMAQAAADyPGDKg=,aM4PyA==")
	f.Add("sprop-parameter-sets=,;;=")
	f.Add("")
	f.Fuzz(func(t *testing.T, fmtp string) {
		sps, pps := spropParameterSets(fmtp)
		if len(sps) > 0 && sps[0]&0x1f != 7 || len(pps) > 0 && pps[0]&0x1f != 8 {
			t.Fatalf("sps %x pps %x", sps, pps)
		}
	})
}

// FuzzTrackPush feeds arbitrary RTP packets to H264 and Opus tracks: bogus
// media must give errors or nothing, never a panic.
func FuzzTrackPush(f *testing.F) {
	f.Add(uint16(1), uint32(0), true, []byte{0x65, 0x88, 0x84})                       // single IDR NALU
	f.Add(uint16(2), uint32(3000), true, []byte{0x7c, 0x85, 0x88})                    // FU-A start
	f.Add(uint16(3), uint32(3000), false, []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00}) // STAP-A, truncated
	f.Add(uint16(4), uint32(6000), true, []byte{})
	f.Fuzz(func(t *testing.T, seq uint16, ts uint32, marker bool, payload []byte) {
		for _, info := range []sfu.TrackInfo{
			{Kind: "video", MimeType: "video/H264", ClockRate: 90000},
			{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		} {
			tr, err := newTrack(info)
			if err != nil {
				t.Fatal(err)
			}
			tr.sps, tr.pps = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40}, []byte{0x68, 0xce, 0x0f, 0xc8}
			for i := range 3 {
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq + uint16(i), Timestamp: ts + uint32(i)*3000, Marker: marker}, Payload: payload}
				_, _ = tr.push(pkt, time.Unix(0, 0))
			}
		}
	})
}
