//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// relay is a test stand-in for the media area's WHIP/WHEP contract, so the
// pages' WebRTC code is exercised in Chromium before the real SFU is merged:
// POST /whip (bearer stream key) takes one publisher, POST /whep/{burst}
// fans its tracks out to viewers, DELETE on a Location ends a session. It is
// a fixture for the browser client, not the product's media server.
type relay struct {
	t       *testing.T
	api     *webrtc.API
	burstID int64
	key     string

	mu       sync.Mutex
	tracks   []*webrtc.TrackLocalStaticRTP
	pub      *webrtc.PeerConnection
	videoSSR webrtc.SSRC
	sessions map[string]*webrtc.PeerConnection
	seq      int
	ready    chan struct{} // closed once the publisher's video flows
	once     sync.Once
	wg       sync.WaitGroup
}

func newRelay(t *testing.T, burstID int64, key string) *relay {
	se := webrtc.SettingEngine{}
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	r := &relay{t: t, api: webrtc.NewAPI(webrtc.WithSettingEngine(se)), burstID: burstID, key: key,
		sessions: map[string]*webrtc.PeerConnection{}, ready: make(chan struct{})}
	t.Cleanup(r.close)
	return r
}

func (r *relay) close() {
	r.mu.Lock()
	pcs := make([]*webrtc.PeerConnection, 0, len(r.sessions))
	for _, pc := range r.sessions {
		pcs = append(pcs, pc)
	}
	r.sessions = map[string]*webrtc.PeerConnection{}
	r.mu.Unlock()
	for _, pc := range pcs {
		pc.Close()
	}
	r.wg.Wait()
}

// routes registers the relay's handlers on mux.
func (r *relay) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /whip", r.whip)
	mux.HandleFunc(fmt.Sprintf("POST /whep/%d", r.burstID), r.whep)
	mux.HandleFunc("DELETE /session/{id}", r.hangup)
}

func (r *relay) answer(w http.ResponseWriter, req *http.Request, pc *webrtc.PeerConnection) {
	offer, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil || req.Header.Get("Content-Type") != "application/sdp" {
		http.Error(w, "want application/sdp", http.StatusBadRequest)
		pc.Close()
		return
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		pc.Close()
		return
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		pc.Close()
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		pc.Close()
		return
	}
	<-gathered
	r.mu.Lock()
	r.seq++
	id := fmt.Sprint(r.seq)
	r.sessions[id] = pc
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/session/"+id)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, pc.LocalDescription().SDP)
}

func (r *relay) whip(w http.ResponseWriter, req *http.Request) {
	if req.Header.Get("Authorization") != "Bearer "+r.key {
		http.Error(w, "bad stream key", http.StatusUnauthorized)
		return
	}
	pc, err := r.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, remote.Kind().String(), "dropcast")
		if err != nil {
			r.t.Errorf("relay track: %v", err)
			return
		}
		r.mu.Lock()
		r.tracks = append(r.tracks, local)
		if remote.Kind() == webrtc.RTPCodecTypeVideo {
			r.videoSSR = remote.SSRC()
			r.pub = pc
		}
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			first := true
			for {
				pkt, _, err := remote.ReadRTP()
				if err != nil {
					return
				}
				if first && remote.Kind() == webrtc.RTPCodecTypeVideo {
					first = false
					r.once.Do(func() { close(r.ready) })
				}
				if err := local.WriteRTP(pkt); err != nil && !errors.Is(err, io.ErrClosedPipe) {
					return
				}
			}
		}()
	})
	r.answer(w, req, pc)
}

func (r *relay) whep(w http.ResponseWriter, req *http.Request) {
	select {
	case <-r.ready:
	default:
		http.Error(w, "burst is not live", http.StatusNotFound)
		return
	}
	pc, err := r.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r.mu.Lock()
	tracks := append([]*webrtc.TrackLocalStaticRTP(nil), r.tracks...)
	pub, ssrc := r.pub, r.videoSSR
	r.mu.Unlock()
	for _, tr := range tracks {
		sender, err := pc.AddTrack(tr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			pc.Close()
			return
		}
		r.wg.Add(1)
		go func() { // drain RTCP so the interceptors run
			defer r.wg.Done()
			for {
				if _, _, err := sender.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
	r.answer(w, req, pc)
	// A new viewer needs a keyframe now, not at the encoder's next interval.
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected && pub != nil {
			pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
		}
	})
}

func (r *relay) hangup(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	pc, ok := r.sessions[req.PathValue("id")]
	delete(r.sessions, req.PathValue("id"))
	r.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	pc.Close()
	w.WriteHeader(http.StatusOK)
}

// dropViewers closes every viewer's session from the server side, as a
// restarting media server would, and returns how many it closed.
func (r *relay) dropViewers() int {
	r.mu.Lock()
	var pcs []*webrtc.PeerConnection
	for id, pc := range r.sessions {
		if pc != r.pub {
			pcs = append(pcs, pc)
			delete(r.sessions, id)
		}
	}
	r.mu.Unlock()
	for _, pc := range pcs {
		pc.Close()
	}
	return len(pcs)
}

// waitLive waits until the publisher's video reaches the relay.
func (r *relay) waitLive(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-r.ready:
	case <-time.After(d):
		t.Fatalf("no video from the publisher after %v", d)
	}
}
