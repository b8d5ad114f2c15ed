package server

import (
	"net"
	"net/url"
)

// RTSPBase builds rtsp://HOST:PORT from the public URL's host and the RTSP
// listen address's port.
func RTSPBase(publicURL, rtspAddr string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return ""
	}
	_, port, err := net.SplitHostPort(rtspAddr)
	if err != nil || port == "" {
		return ""
	}
	return "rtsp://" + net.JoinHostPort(u.Hostname(), port)
}
