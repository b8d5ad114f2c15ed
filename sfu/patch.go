package sfu

import (
	"context"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// MaxFragmentSize bounds a PATCH body (a trickle-ice-sdpfrag).
const MaxFragmentSize = 16 << 10

// maxTrickled bounds the candidates of one fragment.
const maxTrickled = 64

// Fragment is a parsed application/trickle-ice-sdpfrag (RFC 8840) as a
// WHIP/WHEP PATCH carries it: the client's ICE credentials, if given, and
// its candidates.
type Fragment struct {
	Ufrag, Pwd string
	Mid        string   // the first media section's a=mid, "" when absent
	Candidates []string // "candidate:…" values, without "a="
	End        bool     // a=end-of-candidates was present
}

// ParseFragment parses a trickle-ice-sdpfrag strictly enough that nothing
// malformed reaches the ICE agent: known attributes are checked, unknown
// ones ignored, as RFC 8840 allows. Errors wrap ErrBadFragment.
func ParseFragment(body string) (Fragment, error) {
	var f Fragment
	if len(body) > MaxFragmentSize {
		return f, fmt.Errorf("%w: larger than %d bytes", ErrBadFragment, MaxFragmentSize)
	}
	for n, line := range strings.Split(body, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return f, fmt.Errorf("%w: line %d is not an SDP line", ErrBadFragment, n+1)
		}
		if line[0] != 'a' {
			continue // m=, c= and the like carry nothing a PATCH uses
		}
		name, value, _ := strings.Cut(line[2:], ":")
		switch name {
		case "ice-ufrag":
			if err := setCredential(&f.Ufrag, name, value, 4); err != nil {
				return f, err
			}
		case "ice-pwd":
			if err := setCredential(&f.Pwd, name, value, 22); err != nil {
				return f, err
			}
		case "mid":
			if f.Mid == "" {
				f.Mid = value
			}
		case "candidate":
			if len(f.Candidates) == maxTrickled {
				return f, fmt.Errorf("%w: more than %d candidates", ErrBadFragment, maxTrickled)
			}
			if len(strings.Fields(value)) < 8 {
				return f, fmt.Errorf("%w: candidate %q is too short", ErrBadFragment, value)
			}
			f.Candidates = append(f.Candidates, "candidate:"+value)
		case "end-of-candidates":
			f.End = true
		}
	}
	if (f.Ufrag == "") != (f.Pwd == "") {
		return f, fmt.Errorf("%w: ice-ufrag and ice-pwd go together", ErrBadFragment)
	}
	return f, nil
}

// setCredential sets *dst to value, the fragment's attribute name, which
// must be minLen-256 ICE characters and agree with any earlier one.
func setCredential(dst *string, name, value string, minLen int) error {
	if !iceChars(value, minLen, 256) {
		return fmt.Errorf("%w: %s must be %d-256 ICE characters", ErrBadFragment, name, minLen)
	}
	if *dst != "" && *dst != value {
		return fmt.Errorf("%w: two different %s values", ErrBadFragment, name)
	}
	*dst = value
	return nil
}

// iceChars reports whether s is min-max ICE characters (RFC 8839:
// ALPHA / DIGIT / "+" / "/").
func iceChars(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// PatchResult is what a PATCH did. A trickle adds the client's candidates
// and returns nothing (204); an ICE restart returns the server's new
// credentials and candidates as a fragment, with a new ETag (200).
type PatchResult struct {
	Restarted bool
	Fragment  string
	ETag      string
}

// PatchSession applies a WHIP/WHEP PATCH (RFC 9725 §4.3) to session id.
// ifMatch is the request's If-Match: required; "*" or the session's ETag
// for an ICE restart (new ice-ufrag/ice-pwd in the fragment), the ETag for
// a trickle. Errors: ErrSessionNotFound, ErrPreconditionRequired,
// ErrPreconditionFailed, ErrBadFragment.
func (r *Registry) PatchSession(ctx context.Context, id, ifMatch, body string) (PatchResult, error) {
	r.mu.Lock()
	s := r.sessions[id]
	r.mu.Unlock()
	if s == nil || s.pc == nil {
		return PatchResult{}, ErrSessionNotFound
	}
	f, err := ParseFragment(body)
	if err != nil {
		return PatchResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	remote := s.pc.RemoteDescription()
	if remote == nil {
		return PatchResult{}, ErrSessionNotFound
	}
	restart := f.Ufrag != "" && f.Ufrag != remoteUfrag(remote.SDP)
	switch {
	case ifMatch == "":
		return PatchResult{}, ErrPreconditionRequired
	case ifMatch == "*" && !restart:
		return PatchResult{}, fmt.Errorf("%w: If-Match \"*\" is for an ICE restart (new ice-ufrag and ice-pwd)", ErrPreconditionFailed)
	case ifMatch != "*" && ifMatch != s.etag:
		return PatchResult{}, ErrPreconditionFailed
	}
	if restart {
		return r.restartICE(ctx, s, f)
	}
	if err := addCandidates(s.pc, f); err != nil {
		return PatchResult{}, err
	}
	return PatchResult{}, nil
}

// restartICE renegotiates s with the client's new credentials: the offer
// in force with its ICE lines replaced, a new answer, candidates gathered.
// Called with s.mu held.
func (r *Registry) restartICE(ctx context.Context, s *session, f Fragment) (PatchResult, error) {
	offer := WithICECredentials(s.offer, f.Ufrag, f.Pwd)
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return PatchResult{}, fmt.Errorf("%w: ICE restart refused: %v", ErrBadFragment, err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return PatchResult{}, fmt.Errorf("ICE restart answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return PatchResult{}, fmt.Errorf("ICE restart answer: %w", err)
	}
	gctx, cancel := context.WithTimeout(ctx, r.cfg.GatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-gctx.Done():
		r.log.Warn("ice gathering incomplete after a restart; answering with the candidates so far")
	}
	if err := addCandidates(s.pc, f); err != nil {
		return PatchResult{}, err
	}
	s.offer, s.etag = offer, etag()
	return PatchResult{Restarted: true, Fragment: localFragment(s.pc.LocalDescription().SDP), ETag: s.etag}, nil
}

// addCandidates hands the fragment's candidates to the ICE agent.
func addCandidates(pc *webrtc.PeerConnection, f Fragment) error {
	mid := f.Mid
	if mid == "" {
		mid = firstMid(pc)
	}
	for _, c := range f.Candidates {
		var zero uint16
		if err := pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c, SDPMid: &mid, SDPMLineIndex: &zero}); err != nil {
			return fmt.Errorf("%w: candidate %q: %v", ErrBadFragment, c, err)
		}
	}
	return nil
}

func firstMid(pc *webrtc.PeerConnection) string {
	for _, t := range pc.GetTransceivers() {
		if m := t.Mid(); m != "" {
			return m
		}
	}
	return "0"
}

// remoteUfrag is the first ice-ufrag of an SDP.
func remoteUfrag(sdp string) string {
	for _, line := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// WithICECredentials is sdp with every ice-ufrag and ice-pwd line set to
// the new values and its candidates dropped (the new ones are trickled): the
// description in force after an ICE restart, on either side.
func WithICECredentials(sdp, ufrag, pwd string) string {
	lines := strings.Split(sdp, "\n")
	out := make([]string, 0, len(lines))
	for _, line := range lines {
		bare := strings.TrimSuffix(line, "\r")
		switch {
		case strings.HasPrefix(bare, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + ufrag + "\r"
		case strings.HasPrefix(bare, "a=ice-pwd:"):
			line = "a=ice-pwd:" + pwd + "\r"
		case strings.HasPrefix(bare, "a=candidate:"), bare == "a=end-of-candidates":
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// localFragment is the server's side of a restart as a trickle-ice-sdpfrag:
// its new credentials and gathered candidates, from the local description.
func localFragment(sdp string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, line := range strings.Split(sdp, "\n") {
		bare := strings.TrimSuffix(line, "\r")
		switch {
		case strings.HasPrefix(bare, "a=ice-ufrag:"), strings.HasPrefix(bare, "a=ice-pwd:"), strings.HasPrefix(bare, "a=candidate:"):
			if !seen[bare] { // bundled sections repeat them
				seen[bare] = true
				b.WriteString(bare + "\r\n")
			}
		}
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}
