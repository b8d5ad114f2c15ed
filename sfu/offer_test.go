package sfu

import (
	"errors"
	"strings"
	"testing"
)

const testOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"a=fingerprint:sha-256 AB:CD\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n" +
	"a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=64001f\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n"

func TestParseOffer(t *testing.T) {
	cases := []struct {
		name    string
		offer   string
		publish bool
		want    Offer
		err     error
	}{
		{"obs h264 opus", testOffer, true, Offer{Video: true, Audio: true}, nil},
		{"viewer of sendonly", testOffer, false, Offer{}, ErrNoCodec},
		{"recvonly viewer", strings.ReplaceAll(testOffer, "sendonly", "recvonly"), false, Offer{Video: true, Audio: true}, nil},
		{"h264 mode 0 only", strings.Replace(testOffer, "packetization-mode=1", "packetization-mode=0", 1), true, Offer{Audio: true}, nil},
		{"inactive", strings.ReplaceAll(testOffer, "a=sendonly", "a=inactive"), true, Offer{}, ErrNoCodec},
		{"port zero", strings.ReplaceAll(testOffer, "m=video 9", "m=video 0"), true, Offer{Audio: true}, nil},
		{"no ice", strings.Replace(testOffer, "a=ice-ufrag:abcd\r\n", "", 1), true, Offer{}, ErrBadOffer},
		{"no fingerprint", strings.Replace(testOffer, "a=fingerprint:sha-256 AB:CD\r\n", "", 1), true, Offer{}, ErrBadOffer},
		{"garbage", "hello", true, Offer{}, ErrBadOffer},
		{"empty", "", true, Offer{}, ErrBadOffer},
		{"huge", strings.Repeat("x", MaxOfferSize+1), true, Offer{}, ErrBadOffer},
		{"no media", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", true, Offer{}, ErrBadOffer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOffer(tc.offer, tc.publish)
			if !errors.Is(err, tc.err) || (err == nil && got != tc.want) {
				t.Fatalf("ParseOffer = %+v, %v; want %+v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func FuzzParseOffer(f *testing.F) {
	f.Add(testOffer, true)
	f.Add(strings.ReplaceAll(testOffer, "sendonly", "recvonly"), false)
	f.Add("v=0\r\n", true)
	f.Fuzz(func(t *testing.T, offer string, publish bool) {
		got, err := ParseOffer(offer, publish)
		if err == nil && !got.Video && !got.Audio {
			t.Fatal("accepted an offer without media")
		}
		if err != nil && !errors.Is(err, ErrBadOffer) && !errors.Is(err, ErrNoCodec) {
			t.Fatalf("unexpected error kind %v", err)
		}
	})
}

func TestGOPCacheStartsAtKeyframeFrame(t *testing.T) {
	var g gopCache
	mk := func(ts uint32, key bool) *packet {
		p := &packet{keyframe: key}
		p.hdr.Timestamp = ts
		return p
	}
	g.add(mk(0, false)) // before any keyframe: not cached
	if g.snapshot() != nil {
		t.Fatal("cached packets before a keyframe")
	}
	sei := mk(3000, false) // SEI ahead of the IDR, same timestamp
	g.add(sei)
	idr := mk(3000, true)
	g.add(idr)
	g.add(mk(3000, true)) // second IDR fragment: same GOP
	g.add(mk(6000, false))
	if s := g.snapshot(); len(s) != 3 || s[0] != idr {
		t.Fatalf("gop %d packets, first is idr: %v", len(s), len(s) > 0 && s[0] == idr)
	}
	next := mk(9000, true)
	g.add(next)
	if s := g.snapshot(); len(s) != 1 || s[0] != next {
		t.Fatalf("new keyframe did not start a new GOP: %d", len(s))
	}
}
