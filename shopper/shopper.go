// Package shopper issues and checks anonymous shopper identities: a random id
// signed with HMAC-SHA256, carried by browsers in a cookie and by other
// clients as ?shopper=TOKEN. It knows nothing of carts or HTTP routing.
package shopper

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// ID identifies one anonymous shopper: 22 characters of base64url (128 bits).
type ID string

// Token is an ID with its signature, "ID.SIGNATURE". It redacts itself in logs.
type Token string

// LogValue keeps tokens out of logs.
func (Token) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// ErrBadToken is returned for a token that is malformed or not signed by
// this signer's key.
var ErrBadToken = errors.New("invalid shopper token")

// MinKeyLen is the shortest accepted signing key.
const MinKeyLen = 32

// Signer mints and verifies tokens with one key. It is safe for concurrent use.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer for key (at least MinKeyLen bytes).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("shopper signing key is %d bytes, want at least %d", len(key), MinKeyLen)
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// New mints a fresh identity.
func (s *Signer) New() (ID, Token, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("generate shopper id: %w", err)
	}
	id := ID(base64.RawURLEncoding.EncodeToString(raw))
	return id, s.Sign(id), nil
}

// Sign returns the token for id.
func (s *Signer) Sign(id ID) Token {
	return Token(string(id) + "." + base64.RawURLEncoding.EncodeToString(s.mac(id)))
}

func (s *Signer) mac(id ID) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("dropcast shopper "))
	m.Write([]byte(id))
	return m.Sum(nil)
}

// Verify returns the id of a token this signer made, comparing signatures in
// constant time. It returns ErrBadToken otherwise.
func (s *Signer) Verify(token string) (ID, error) {
	idPart, sigPart, ok := strings.Cut(token, ".")
	if !ok || len(idPart) != 22 || len(sigPart) != 43 {
		return "", ErrBadToken
	}
	if raw, err := base64.RawURLEncoding.Strict().DecodeString(idPart); err != nil || len(raw) != 16 {
		return "", ErrBadToken
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(sigPart)
	if err != nil {
		return "", ErrBadToken
	}
	if !hmac.Equal(sig, s.mac(ID(idPart))) {
		return "", ErrBadToken
	}
	return ID(idPart), nil
}
