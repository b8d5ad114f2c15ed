package ingest

import (
	"errors"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/dropcast/dropcast/drops"
)

func TestKeyFromPath(t *testing.T) {
	cases := []struct{ path, want string }{
		{"/dck_1_abc", "dck_1_abc"},
		{"/dck_1_abc/", "dck_1_abc"},
		{"/dck_1_abc?x=1", "dck_1_abc"},
		{"/", ""},
		{"/a/b", ""},
		{"", ""},
	}
	for _, tc := range cases {
		got, err := keyFromPath(tc.path)
		if tc.want == "" {
			if !errors.Is(err, drops.ErrBadStreamKey) {
				t.Fatalf("keyFromPath(%q) = %q, %v; want ErrBadStreamKey", tc.path, got, err)
			}
			continue
		}
		if got != tc.want || err != nil {
			t.Fatalf("keyFromPath(%q) = %q, %v", tc.path, got, err)
		}
	}
}

func FuzzKeyFromPath(f *testing.F) {
	f.Add("/dck_1_abc")
	f.Add("/a/b?c")
	f.Fuzz(func(t *testing.T, path string) {
		if k, err := keyFromPath(path); err == nil && k == "" {
			t.Fatal("empty key accepted")
		}
	})
}

// FuzzH264Repacketizer feeds arbitrary RTP payloads: output packets must
// never exceed maxRTPSize and nothing may panic.
func FuzzH264Repacketizer(f *testing.F) {
	f.Add([]byte{0x65, 0x88, 0x84}, true)
	f.Add([]byte{0x7c, 0x85, 0x88}, false)
	f.Add([]byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true)
	f.Fuzz(func(t *testing.T, payload []byte, marker bool) {
		r, err := newH264Repacketizer(&format.H264{PayloadTyp: 96, SPS: []byte{0x67, 0x42, 0xc0, 0x1e}, PPS: []byte{0x68, 0xce}, PacketizationMode: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: 9000, Marker: marker}, Payload: payload}
			for _, out := range r.push(pkt) {
				b, err := out.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if len(b) > maxRTPSize {
					t.Fatalf("packet of %d bytes", len(b))
				}
			}
		}
	})
}
