package server

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
