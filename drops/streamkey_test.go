package drops

import (
	"strings"
	"testing"
)

func TestStreamKeyRoundTrip(t *testing.T) {
	key, hash, err := newStreamKey(42)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(key), "dck_42_") || len(key) != len("dck_42_")+43 {
		t.Fatalf("key %q", key)
	}
	id, got, err := ParseStreamKey(string(key))
	if err != nil || id != 42 || !hashesEqual(got, hash) {
		t.Fatalf("ParseStreamKey = %d, %x, %v", id, got, err)
	}
	other, _, _ := newStreamKey(42)
	if other == key {
		t.Fatal("two keys are equal")
	}
}

func TestParseStreamKeyRefusesMalformed(t *testing.T) {
	good, _, _ := newStreamKey(7)
	for _, k := range []string{
		"", "dck_", "dck_7", "dck_7_", "sk_7_" + string(good)[6:], "dck_0_" + string(good)[6:],
		"dck_-7_" + string(good)[6:], "dck_x_" + string(good)[6:], string(good)[:len(good)-1],
		string(good) + "A", "dck_7_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
		"dck_99999999999999999999_" + string(good)[6:],
	} {
		if _, _, err := ParseStreamKey(k); err != ErrBadStreamKey {
			t.Errorf("ParseStreamKey(%q) err = %v, want ErrBadStreamKey", k, err)
		}
	}
}

func TestStreamKeyRedactsInLogs(t *testing.T) {
	key, _, _ := newStreamKey(1)
	if v := key.LogValue().String(); strings.Contains(v, string(key)[6:]) {
		t.Fatalf("log value %q shows the key", v)
	}
}

func FuzzParseStreamKey(f *testing.F) {
	good, _, _ := newStreamKey(12)
	f.Add(string(good))
	f.Add("dck_1_")
	f.Add("dck_1_AAAA")
	f.Fuzz(func(t *testing.T, key string) {
		id, hash, err := ParseStreamKey(key)
		if err != nil {
			return
		}
		if id <= 0 || len(hash) != 32 || !strings.HasPrefix(key, "dck_") {
			t.Fatalf("accepted %q as id %d hash %x", key, id, hash)
		}
	})
}
