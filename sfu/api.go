package sfu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"

	"github.com/dropcast/dropcast/sfu/udpbatch"
)

// Payload types and formats the server offers. Every H264 profile OBS or a
// browser sends is listed (Pion matches H264 on profile_idc and the
// constraint byte), all with packetization-mode 1, the only mode WebRTC uses.
var h264Profiles = []string{"42e01f", "42001f", "4d001f", "4d401f", "64001f", "640c1f", "f4001f"}

const (
	mimeH264 = webrtc.MimeTypeH264
	mimeVP8  = webrtc.MimeTypeVP8
	mimeOpus = webrtc.MimeTypeOpus
	mimePCMU = webrtc.MimeTypePCMU
	mimePCMA = webrtc.MimeTypePCMA
)

func videoFeedback() []webrtc.RTCPFeedback {
	return []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
}

// mediaEngine registers the codecs: H264 first (what OBS sends and what the
// recorder writes), then VP8 for browsers, Opus, and G.711 for RTSP cameras.
func mediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	pt := webrtc.PayloadType(102)
	for _, p := range h264Profiles {
		c := webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: mimeH264, ClockRate: 90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + p,
				RTCPFeedback: videoFeedback(),
			},
			PayloadType: pt,
		}
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("register h264 %s: %w", p, err)
		}
		pt += 2
	}
	codecs := []struct {
		c    webrtc.RTPCodecParameters
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback()}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimePCMU, ClockRate: 8000}, PayloadType: 0}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimePCMA, ClockRate: 8000}, PayloadType: 8}, webrtc.RTPCodecTypeAudio},
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c.c, c.kind); err != nil {
			return nil, fmt.Errorf("register %s: %w", c.c.MimeType, err)
		}
	}
	// Simulcast: a publisher's layers are told apart by their rid, carried
	// in these header extensions (without them the layers cannot be read).
	for _, uri := range []string{
		"urn:ietf:params:rtp-hdrext:sdes:mid",
		"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
		"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
	} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("register header extension %s: %w", uri, err)
		}
	}
	return m, nil
}

// interceptors sets up the publisher side with Pion's interceptors: NACK
// generation and receiver reports toward the publisher, and sender reports
// toward viewers. There is deliberately no NACK responder: it would keep a
// copy of every packet per viewer; viewers' NACKs are answered from the
// stream's shared cache instead (see retransmit.go).
func interceptors(m *webrtc.MediaEngine, logs pionLogs) (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(logs))
	if err != nil {
		return nil, fmt.Errorf("nack generator: %w", err)
	}
	ir.Add(gen)
	rr, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(logs))
	if err != nil {
		return nil, fmt.Errorf("receiver reports: %w", err)
	}
	ir.Add(rr)
	sr, err := report.NewSenderInterceptor(report.WithSenderLoggerFactory(logs))
	if err != nil {
		return nil, fmt.Errorf("sender reports: %w", err)
	}
	ir.Add(sr)
	return ir, nil
}

// dtlsRetransmit is the first DTLS handshake retransmission interval.
const dtlsRetransmit = 200 * time.Millisecond

// engine is the one webrtc.API shared by every peer connection, with its
// UDP socket and DTLS certificate.
type engine struct {
	api     *webrtc.API
	cert    webrtc.Certificate
	mux     ice.UDPMux
	conn    *udpbatch.Conn
	servers []webrtc.ICEServer
}

func newEngine(cfg Config, logger *slog.Logger) (*engine, error) {
	logs := pionLogs{logger}
	m, err := mediaEngine()
	if err != nil {
		return nil, err
	}
	ir, err := interceptors(m, logs)
	if err != nil {
		return nil, err
	}
	udpAddr, err := net.ResolveUDPAddr("udp", cfg.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("webrtc udp address %q: %w", cfg.UDPAddr, err)
	}
	conn, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		return nil, fmt.Errorf("listen webrtc udp %s: %w", cfg.UDPAddr, err)
	}
	// Kernel buffers sized for hundreds of viewers' bursts; errors only mean
	// the system limit is lower, which is not fatal.
	_ = conn.SetWriteBuffer(8 << 20)
	_ = conn.SetReadBuffer(4 << 20)

	se := webrtc.SettingEngine{LoggerFactory: logs}
	// Every viewer's packets leave through this one socket: queue them and
	// send in batches (sendmmsg) instead of one system call per packet per
	// viewer, which was most of the server's CPU; one lane per core, so the
	// kernel's send work (most of what is left) uses every core.
	bconn, err := udpbatch.NewLanes(conn, udpbatch.DefaultBatch, runtime.GOMAXPROCS(0))
	if err != nil {
		logger.Warn("webrtc udp: fewer send lanes than cores", "lanes", bconn.Lanes(), "err", err)
	}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: bconn, Logger: logs.NewLogger("udpmux")})
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// AES-GCM is cheaper per packet than AES-CM + HMAC-SHA1 and is offered
	// first; the CM profile stays for old clients.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// A lost DTLS flight waits a whole retransmission interval, and a
	// viewer sees nothing until the handshake is done: start at 200 ms
	// instead of Pion's 1 s (it backs off exponentially from there, so a
	// slow peer does not get a retransmission storm).
	se.SetDTLSRetransmissionInterval(dtlsRetransmit)
	if ip, perr := netip.ParseAddr(udpAddr.IP.String()); perr == nil && ip.IsLoopback() {
		se.SetIncludeLoopbackCandidate(true)
	}
	if len(cfg.PublicIPs) > 0 {
		rule := webrtc.ICEAddressRewriteRule{External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}
		if err := se.SetICEAddressRewriteRules(rule); err != nil {
			mux.Close()
			return nil, fmt.Errorf("public ips: %w", err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		mux.Close()
		return nil, fmt.Errorf("dtls key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		mux.Close()
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return &engine{api: api, cert: *cert, mux: mux, conn: bconn, servers: iceServers(cfg)}, nil
}

func iceServers(cfg Config) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, u := range cfg.ICEServers {
		s := webrtc.ICEServer{URLs: []string{u}}
		if !strings.HasPrefix(u, "stun:") {
			s.Username, s.Credential = cfg.ICEUsername, cfg.ICECredential
		}
		out = append(out, s)
	}
	return out
}

// newPeer makes a peer connection with the shared certificate.
func (e *engine) newPeer() (*webrtc.PeerConnection, error) {
	return e.api.NewPeerConnection(webrtc.Configuration{
		ICEServers:   e.servers,
		Certificates: []webrtc.Certificate{e.cert},
		BundlePolicy: webrtc.BundlePolicyMaxBundle,
	})
}

// LocalUDPAddr is the bound media address.
func (e *engine) localUDPAddr() net.Addr { return e.conn.LocalAddr() }

func (e *engine) close() error {
	err := e.mux.Close()
	e.conn.Close()
	return err
}
