package server

import (
	"strings"

	"github.com/dropcast/dropcast/sfu"
)

// iceLinks formats ICE servers as RFC 9725 §4.6 Link header values:
// <stun:host:3478>; rel="ice-server", with username and credential for TURN.
func iceLinks(servers []sfu.ICEServer) []string {
	out := make([]string, 0, len(servers))
	for _, s := range servers {
		v := "<" + s.URL + `>; rel="ice-server"`
		if s.Username != "" || s.Credential != "" {
			v += `; username="` + quoteLink(s.Username) + `"; credential="` + quoteLink(s.Credential) + `"; credential-type="password"`
		}
		out = append(out, v)
	}
	return out
}

// quoteLink escapes a quoted-string value (RFC 8288 §3).
func quoteLink(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v)
}
