package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dropcast/dropcast/sfu"
)

const seedOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
	"a=fingerprint:sha-256 AB:CD\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n" +
	"a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n"

// FuzzOfferRequest feeds arbitrary Content-Types and bodies to the WHIP/WHEP
// offer validation: it must answer a clear 400/413 or accept, never panic,
// and never accept something ParseOffer would refuse.
func FuzzOfferRequest(f *testing.F) {
	f.Add("application/sdp", seedOffer, true)
	f.Add("application/sdp", strings.ReplaceAll(seedOffer, "sendonly", "recvonly"), false)
	f.Add("application/sdp; charset=utf-8", "v=0\r\n", true)
	f.Add("text/plain", seedOffer, true)
	f.Add("application/sdp", "", false)
	f.Fuzz(func(t *testing.T, ctype, body string, publish bool) {
		r := httptest.NewRequest(http.MethodPost, "/whip", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		offer, err := offerFrom(w, r, publish)
		if err != nil {
			if st := mediaStatus(err); st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d for %v", st, err)
			}
			return
		}
		if offer != body {
			t.Fatal("accepted offer differs from the body")
		}
		if _, err := sfu.ParseOffer(offer, publish); err != nil {
			t.Fatalf("accepted an offer ParseOffer refuses: %v", err)
		}
	})
}
