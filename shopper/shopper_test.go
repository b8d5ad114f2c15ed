package shopper

import (
	"bytes"
	"strings"
	"testing"
)

func newSigner(t testing.TB, b byte) *Signer {
	t.Helper()
	s, err := NewSigner(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerifyRoundTrip(t *testing.T) {
	s := newSigner(t, 1)
	id, tok, err := s.New()
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Verify(string(tok))
	if err != nil || got != id {
		t.Fatalf("Verify = %q, %v; want %q", got, err, id)
	}
	id2, _, _ := s.New()
	if id2 == id {
		t.Fatal("two identities are equal")
	}
}

func TestVerifyRefusesForgeries(t *testing.T) {
	s := newSigner(t, 1)
	other := newSigner(t, 2)
	id, tok, _ := s.New()
	_, foreign, _ := other.New()
	tampered := []byte(tok)
	tampered[len(tampered)-10] ^= 1 // a character that carries six full bits
	cases := map[string]string{
		"empty":        "",
		"no dot":       string(id),
		"other key":    string(foreign),
		"tampered sig": string(tampered),
		"swapped id":   strings.Replace(string(tok), string(id)[:2], "AA", 1),
		"junk":         "not-a-token.at-all",
		"padding bits": string(tok[:len(tok)-1]) + string(rune(tok[len(tok)-1]^1)),
	}
	for name, tok := range cases {
		if _, err := s.Verify(tok); err != ErrBadToken {
			t.Errorf("%s: Verify err = %v, want ErrBadToken", name, err)
		}
	}
}

func TestShortKeyRefused(t *testing.T) {
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func FuzzVerify(f *testing.F) {
	s := newSigner(f, 3)
	_, tok, _ := s.New()
	f.Add(string(tok))
	f.Add("")
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := s.Verify(tok)
		if err == nil && string(s.Sign(id)) != tok {
			t.Fatalf("accepted %q which is not Sign(%q)", tok, id)
		}
	})
}
