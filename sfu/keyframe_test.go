package sfu

import "testing"

func TestIsKeyframe(t *testing.T) {
	cases := []struct {
		name    string
		mime    string
		payload []byte
		want    bool
	}{
		{"h264 idr", mimeH264, []byte{0x65, 0x88}, true},
		{"h264 sps", mimeH264, []byte{0x67, 0x42}, true},
		{"h264 p slice", mimeH264, []byte{0x41, 0x9a}, false},
		{"h264 stap-a sps pps", mimeH264, []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true},
		{"h264 stap-a sei only", mimeH264, []byte{0x78, 0, 2, 0x06, 0x05}, false},
		{"h264 stap-a truncated", mimeH264, []byte{0x78, 0, 9, 0x67}, false},
		{"h264 fu-a idr start", mimeH264, []byte{0x7c, 0x85, 0x88}, true},
		{"h264 fu-a idr middle", mimeH264, []byte{0x7c, 0x05, 0x88}, false},
		{"h264 fu-a short", mimeH264, []byte{0x7c}, false},
		{"h264 empty", mimeH264, nil, false},
		{"vp8 key", mimeVP8, []byte{0x10, 0x00}, true},
		{"vp8 delta", mimeVP8, []byte{0x10, 0x01}, false},
		{"vp8 key with picture id", mimeVP8, []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
		{"vp8 not start", mimeVP8, []byte{0x00, 0x00}, false},
		{"vp8 truncated ext", mimeVP8, []byte{0x90}, false},
		{"opus", mimeOpus, []byte{0x65}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := isKeyframe(tc.mime, tc.payload); got != tc.want {
				t.Fatalf("isKeyframe(%s, %x) = %v, want %v", tc.mime, tc.payload, got, tc.want)
			}
		})
	}
}

func FuzzIsKeyframe(f *testing.F) {
	f.Add(true, []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce})
	f.Add(true, []byte{0x7c, 0x85, 0x88})
	f.Add(false, []byte{0x90, 0x80, 0x81, 0x23, 0x00})
	f.Fuzz(func(t *testing.T, h264 bool, p []byte) {
		mime := mimeVP8
		if h264 {
			mime = mimeH264
		}
		isKeyframe(mime, p) // must not panic
	})
}
