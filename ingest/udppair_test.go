package ingest

import (
	"net"
	"strconv"
	"testing"
)

var udpPairCases = []struct {
	in, rtp, rtcp string
	ok            bool
}{
	{"", ":8000", ":8001", true},
	{"off", "off", "off", true},
	{":8000", ":8000", ":8001", true},
	{"127.0.0.1:9000", "127.0.0.1:9000", "127.0.0.1:9001", true},
	{"[::1]:50000", "[::1]:50000", "[::1]:50001", true},
	{":8001", "", "", false}, // odd RTP port
	{":65534", ":65534", ":65535", true},
	{":0", "", "", false},    // an ephemeral port cannot be announced
	{"8000", "", "", false},  // no host part
	{":http", "", "", false}, // not a number
	{":-2", "", "", false},
	{":70000", "", "", false},
}

func TestUDPPair(t *testing.T) {
	for _, c := range udpPairCases {
		rtp, rtcp, err := UDPPair(c.in)
		if (err == nil) != c.ok || (c.ok && (rtp != c.rtp || rtcp != c.rtcp)) {
			t.Errorf("UDPPair(%q) = %q, %q, %v; want %q, %q, ok %v", c.in, rtp, rtcp, err, c.rtp, c.rtcp, c.ok)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{UDPRTPAddr: "off", UDPRTCPAddr: "off"}, true},
		{Config{UDPRTPAddr: "127.0.0.1:9000", UDPRTCPAddr: "127.0.0.1:9001"}, true},
		{Config{UDPRTPAddr: "off"}, false},                                           // RTCP still on the default
		{Config{UDPRTPAddr: "127.0.0.1:9000", UDPRTCPAddr: "127.0.0.1:9003"}, false}, // not consecutive
		{Config{UDPRTPAddr: ":9001", UDPRTCPAddr: ":9002"}, false},                   // odd RTP
	} {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", c.cfg, err, c.ok)
		}
	}
	if _, err := NewRTSP(Config{Addr: "127.0.0.1:0", UDPRTPAddr: ":9001", UDPRTCPAddr: ":9002"}, nil, nil); err == nil {
		t.Fatal("NewRTSP accepted an odd RTP port")
	}
}

// FuzzUDPPair checks UDPPair never panics and that what it accepts is an
// even port followed by the next one on the same host.
func FuzzUDPPair(f *testing.F) {
	for _, c := range udpPairCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rtp, rtcp, err := UDPPair(in)
		if err != nil || rtp == "off" {
			return
		}
		h1, p1, err1 := net.SplitHostPort(rtp)
		h2, p2, err2 := net.SplitHostPort(rtcp)
		n1, _ := strconv.Atoi(p1)
		n2, _ := strconv.Atoi(p2)
		if err1 != nil || err2 != nil || h1 != h2 || n1%2 != 0 || n2 != n1+1 {
			t.Fatalf("UDPPair(%q) = %q, %q", in, rtp, rtcp)
		}
	})
}
