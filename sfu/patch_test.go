package sfu

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFragment(t *testing.T) {
	f, err := ParseFragment("a=ice-options:trickle ice2\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=ice-ufrag:EsAw\r\n" +
		"a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n" +
		"a=end-of-candidates\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if f.Ufrag != "EsAw" || f.Pwd != "P2uYro0UCOQ4zxjKXaWCBui1" || f.Mid != "0" || !f.End || len(f.Candidates) != 1 ||
		f.Candidates[0] != "candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0" {
		t.Fatalf("parsed %+v", f)
	}
	for name, body := range map[string]string{
		"not sdp":         "hello\n",
		"short ufrag":     "a=ice-ufrag:ab\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\n",
		"short pwd":       "a=ice-ufrag:abcd\na=ice-pwd:short\n",
		"ufrag only":      "a=ice-ufrag:abcd\n",
		"two ufrags":      "a=ice-ufrag:abcd\na=ice-ufrag:efgh\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\n",
		"short candidate": "a=candidate:1 1 udp\n",
		"too many":        strings.Repeat("a=candidate:1 1 udp 1 127.0.0.1 9 typ host\n", maxTrickled+1),
		"too large":       strings.Repeat("a=x\n", MaxFragmentSize),
		"bad ufrag chars": "a=ice-ufrag:ab cd!\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\n",
		"bad pwd chars":   "a=ice-ufrag:abcd\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1;;\n",
	} {
		if _, err := ParseFragment(body); !errors.Is(err, ErrBadFragment) {
			t.Errorf("%s: %v, want ErrBadFragment", name, err)
		}
	}
}

// WithICECredentials swaps the ICE credentials and drops the candidates, and
// nothing else.
func TestWithCredentials(t *testing.T) {
	in := "v=0\r\na=ice-ufrag:old\r\na=ice-pwd:oldpwd\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:old\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\na=end-of-candidates\r\na=mid:0\r\n"
	want := "v=0\r\na=ice-ufrag:new\r\na=ice-pwd:newpwd\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:new\r\na=mid:0\r\n"
	if got := WithICECredentials(in, "new", "newpwd"); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// FuzzParseFragment: any body is parsed or refused with ErrBadFragment,
// never a panic, and what is accepted is well formed.
func FuzzParseFragment(f *testing.F) {
	f.Add("a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n")
	f.Add("a=mid:0\na=candidate:1 1 udp 2130706431 ::1 9 typ host\n")
	f.Add("m=audio 9 RTP/AVP 0\r\n=\r\na\r\n")
	f.Fuzz(func(t *testing.T, body string) {
		fr, err := ParseFragment(body)
		if err != nil {
			if !errors.Is(err, ErrBadFragment) {
				t.Fatalf("error %v does not wrap ErrBadFragment", err)
			}
			return
		}
		if (fr.Ufrag == "") != (fr.Pwd == "") || len(fr.Candidates) > maxTrickled {
			t.Fatalf("accepted %+v", fr)
		}
		if fr.Ufrag != "" && (!iceChars(fr.Ufrag, 4, 256) || !iceChars(fr.Pwd, 22, 256)) {
			t.Fatalf("accepted credentials %q %q", fr.Ufrag, fr.Pwd)
		}
	})
}
