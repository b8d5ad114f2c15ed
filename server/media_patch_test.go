package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/sfu/sfutest"
)

// patch sends a PATCH with an sdpfrag body and returns status, ETag and body.
func patch(t *testing.T, location, ctype, ifMatch, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, location, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("ETag"), string(b)
}

// iceLines is the ice-ufrag, ice-pwd and candidate lines of an SDP, as an
// sdpfrag.
func iceLines(sdp string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, l := range strings.Split(sdp, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if (strings.HasPrefix(l, "a=ice-ufrag:") || strings.HasPrefix(l, "a=ice-pwd:") || strings.HasPrefix(l, "a=candidate:")) && !seen[l] {
			seen[l] = true
			b.WriteString(l + "\r\n")
		}
	}
	return b.String()
}

func lineValue(sdp, prefix string) string {
	for _, l := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSuffix(l, "\r"), prefix); ok {
			return v
		}
	}
	return ""
}

// A WHEP viewer trickles a candidate (204), then restarts ICE as a client
// whose network changed would: PATCH with If-Match "*" and new credentials,
// 200 with the server's new credentials, candidates and ETag; after it
// applies them the media goes on over the restarted connection. Every
// refusal RFC 9725 names is checked along the way, and none of them
// changes the session.
func TestWHEPTrickleAndICERestart(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{})
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	startPublisher(t, e, key)
	v := watch(t, e, b.ID)
	ctx := ctxTimeout(t, 20*time.Second)
	if !v.WaitFor(ctx, func(video, _ sfutest.TrackStats) bool { return video.Packets >= 30 }) {
		t.Fatal("no video before the PATCHes")
	}
	if v.ETag == "" {
		t.Fatal("WHEP answer without an ETag")
	}
	const frag = "application/trickle-ice-sdpfrag"
	local := v.PC.LocalDescription().SDP
	current := "a=ice-ufrag:" + lineValue(local, "a=ice-ufrag:") + "\r\na=ice-pwd:" + lineValue(local, "a=ice-pwd:") + "\r\n"
	trickle := current + "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"

	for _, tc := range []struct {
		name, ctype, ifMatch, body string
		want                       int
	}{
		{"no If-Match", frag, "", trickle, http.StatusPreconditionRequired},
		{"stale ETag", frag, `"stale"`, trickle, http.StatusPreconditionFailed},
		{"wildcard without new credentials", frag, "*", trickle, http.StatusPreconditionFailed},
		{"wrong content type", "application/sdp", v.ETag, trickle, http.StatusUnsupportedMediaType},
		{"bad ufrag", frag, "*", "a=ice-ufrag:no spaces!\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\n", http.StatusBadRequest},
		{"ufrag without pwd", frag, "*", "a=ice-ufrag:abcd\r\n", http.StatusBadRequest},
		{"junk candidate", frag, v.ETag, current + "a=candidate:1 1 udp 1 not-an-ip 9 typ host\r\n", http.StatusBadRequest},
	} {
		if got, _, body := patch(t, v.Location, tc.ctype, tc.ifMatch, tc.body); got != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, got, body, tc.want)
		}
	}
	if got, _, body := patch(t, v.Location, frag, v.ETag, trickle); got != http.StatusNoContent {
		t.Fatalf("trickle: %d %s, want 204", got, body)
	}

	// ICE restart. The client's ICE agent reports its states from here on.
	states := make(chan webrtc.ICEConnectionState, 16)
	v.PC.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		select {
		case states <- s:
		default:
		}
	})
	oldServerUfrag := lineValue(v.PC.RemoteDescription().SDP, "a=ice-ufrag:")
	offer, err := v.PC.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(v.PC)
	if err := v.PC.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	status, tag, body := patch(t, v.Location, frag, "*", iceLines(v.PC.LocalDescription().SDP))
	if status != http.StatusOK {
		t.Fatalf("ICE restart: %d %s, want 200", status, body)
	}
	restarted, err := sfu.ParseFragment(body)
	if err != nil {
		t.Fatalf("restart answer is not a fragment: %v\n%s", err, body)
	}
	newUfrag := restarted.Ufrag
	if tag == "" || tag == v.ETag || newUfrag == "" || newUfrag == oldServerUfrag ||
		len(restarted.Candidates) == 0 || !restarted.End {
		t.Fatalf("restart answer ETag %q (was %q), fragment:\n%s", tag, v.ETag, body)
	}
	if got, _, _ := patch(t, v.Location, frag, v.ETag, trickle); got != http.StatusPreconditionFailed {
		t.Errorf("PATCH with the ETag from before the restart: %d, want 412", got)
	}

	// The client applies the server's new credentials and candidates.
	answer := sfu.WithICECredentials(v.PC.RemoteDescription().SDP, restarted.Ufrag, restarted.Pwd)
	if err := v.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatalf("apply the restart: %v", err)
	}
	for _, c := range restarted.Candidates {
		if err := v.PC.AddICECandidate(webrtc.ICECandidateInit{Candidate: c}); err != nil {
			t.Fatalf("add server candidate %q: %v", c, err)
		}
	}
	before, _ := v.Stats()
	rctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if !v.WaitFor(rctx, func(video, _ sfutest.TrackStats) bool { return video.Packets >= before.Packets+60 }) {
		after, _ := v.Stats()
		t.Fatalf("video after the restart: %d packets, was %d; ICE %s", after.Packets, before.Packets, v.PC.ICEConnectionState())
	}
	// The agents checked the new credentials and connected again.
	var seen []string
	for deadline := time.After(10 * time.Second); ; {
		select {
		case s := <-states:
			seen = append(seen, s.String())
			if s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted {
				t.Logf("ICE states after the restart: %v", seen)
				return
			}
		case <-deadline:
			t.Fatalf("ICE states after the restart %v: never connected again (now %s)", seen, v.PC.ICEConnectionState())
		}
	}
}
