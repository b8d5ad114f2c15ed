package drops

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// streamKeyPrefix starts every stream key so that a leaked one is easy to
// recognise in logs and by secret scanners.
const streamKeyPrefix = "dck_"

// secretLen is the number of random bytes in a key's secret part (256 bits).
const secretLen = 32

// ErrBadStreamKey is returned for a key that is malformed or matches no burst.
var ErrBadStreamKey = errors.New("unknown stream key")

// StreamKey is a burst's publishing credential: "dck_<burst id>_<secret>".
// Only the SHA-256 of the secret is stored. It redacts itself in logs.
type StreamKey string

// LogValue keeps the key out of logs.
func (k StreamKey) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String returns the key itself, for showing it once to its owner.
func (k StreamKey) String() string { return string(k) }

// newStreamKey returns a fresh key for burstID and the hash to store.
func newStreamKey(burstID int64) (StreamKey, []byte, error) {
	secret := make([]byte, secretLen)
	if _, err := rand.Read(secret); err != nil {
		return "", nil, fmt.Errorf("generate stream key: %w", err)
	}
	return keyFromSecret(burstID, secret)
}

func keyFromSecret(burstID int64, secret []byte) (StreamKey, []byte, error) {
	enc := base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(enc))
	return StreamKey(streamKeyPrefix + strconv.FormatInt(burstID, 10) + "_" + enc), sum[:], nil
}

// ParseStreamKey splits a key into its burst id and the hash of its secret.
// It returns ErrBadStreamKey for anything that is not shaped like a key.
func ParseStreamKey(key string) (burstID int64, hash []byte, err error) {
	return parseSecret(key, streamKeyPrefix, ErrBadStreamKey)
}

// parseSecret splits "<prefix><id>_<base64url secret>" into the id and the
// SHA-256 of the secret's text, or returns bad.
func parseSecret(key, prefix string, bad error) (int64, []byte, error) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, nil, bad
	}
	idPart, secret, ok := strings.Cut(rest, "_")
	if !ok || len(idPart) == 0 || len(idPart) > 19 {
		return 0, nil, bad
	}
	id, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil || id <= 0 {
		return 0, nil, bad
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(secret)
	if err != nil || len(raw) != secretLen {
		return 0, nil, bad
	}
	sum := sha256.Sum256([]byte(secret))
	return id, sum[:], nil
}

// hashesEqual compares two key hashes in constant time.
func hashesEqual(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}
