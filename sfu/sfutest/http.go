package sfutest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// StatusError is a WHIP/WHEP request answered with an unexpected status.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %s", e.Code, e.Body) }

// newPeer makes a client peer connection that gathers loopback candidates
// (tests run on 127.0.0.1). Publishers get Pion's default interceptors
// (sender reports, NACK responder) like a real encoder; viewers go without,
// to keep the load generator light.
func newPeer(publisher bool) (*webrtc.PeerConnection, error) { return newPeerWith(publisher, nil) }

// newPeerWith is newPeer with all ICE traffic on mux when it is not nil.
func newPeerWith(publisher bool, mux ice.UDPMux) (*webrtc.PeerConnection, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if publisher {
		if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
			return nil, err
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(0)
	se.SetInterfaceFilter(func(name string) bool { return strings.HasPrefix(name, "lo") })
	if mux != nil {
		se.SetICEUDPMux(mux)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir))
	return api.NewPeerConnection(webrtc.Configuration{})
}

// exchange gathers candidates, POSTs the offer and applies the answer. It
// returns the absolute session URL.
func exchange(ctx context.Context, pc *webrtc.PeerConnection, endpoint, token string) (location, etag string, err error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", "", &StatusError{Code: resp.StatusCode, Body: string(body)}
	}
	loc, err := url.Parse(endpoint)
	if err != nil {
		return "", "", err
	}
	rel, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return "", "", fmt.Errorf("answer without a valid Location header")
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return "", "", fmt.Errorf("apply answer: %w", err)
	}
	return loc.ResolveReference(rel).String(), resp.Header.Get("ETag"), nil
}

// deleteSession sends DELETE to a session URL and returns the status.
func deleteSession(ctx context.Context, location, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, location, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// NewOffer returns a complete offer (candidates included) from a fresh
// client peer: sending H264 + Opus when publish is true, receiving video and
// audio otherwise. Call close when done with it.
func NewOffer(ctx context.Context, publish bool) (sdp string, close func(), err error) {
	pc, err := newPeer(publish)
	if err != nil {
		return "", nil, err
	}
	dir := webrtc.RTPTransceiverDirectionRecvonly
	if publish {
		dir = webrtc.RTPTransceiverDirectionSendonly
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			pc.Close()
			return "", nil, err
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return "", nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return "", nil, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return "", nil, ctx.Err()
	}
	return pc.LocalDescription().SDP, func() { pc.Close() }, nil
}
