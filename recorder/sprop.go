package recorder

import (
	"encoding/base64"
	"strings"
)

// spropParameterSets reads SPS and PPS from an H264 fmtp line
// ("…;sprop-parameter-sets=Z0LAH…,aM4…"), RFC 6184 section 8.1. Missing or
// malformed values give nil: the recorder then waits for in-band ones.
func spropParameterSets(fmtp string) (sps, pps []byte) {
	for _, kv := range strings.Split(fmtp, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || !strings.EqualFold(k, "sprop-parameter-sets") {
			continue
		}
		for _, enc := range strings.Split(v, ",") {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
			if err != nil || len(b) == 0 {
				continue
			}
			switch b[0] & 0x1f {
			case 7:
				sps = b
			case 8:
				pps = b
			}
		}
	}
	return sps, pps
}
