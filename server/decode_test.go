package server

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/drops"
)

// FuzzDecodeJSON checks that any body either decodes or yields an invalid
// error, never a panic or an internal error.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"slug":"a","title":"b","currency":"USD","starts_at":"2030-01-01T00:00:00Z","ends_at":"2030-01-02T00:00:00Z"}`,
		`{"product_id":"1","offset_s":3}`, `{`, `[]`, `null`, `{"x":1}`, `{"title":5}`, `{}{}`, "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, dst := range []any{&drops.DropInput{}, &drops.CardInput{}, &drops.BurstPatch{}} {
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			err := decodeJSON(httptest.NewRecorder(), r, dst)
			if err != nil && !errors.Is(err, &apperr.Error{Code: apperr.Invalid}) {
				t.Fatalf("body %q: non-validation error %v", body, err)
			}
		}
	})
}
