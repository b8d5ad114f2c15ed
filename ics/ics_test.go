package ics

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// unfold reverses §3.1 folding and splits into content lines.
func unfold(t testing.TB, s string) []string {
	t.Helper()
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("stream does not end in CRLF")
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(l) > maxLineOctets {
			t.Fatalf("line of %d octets: %q", len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Fatalf("fold split a UTF-8 sequence: %q", l)
		}
	}
	s = strings.ReplaceAll(s, "\r\n ", "")
	if strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatalf("bare LF in stream")
	}
	return strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
}

// unescape reverses EscapeText.
func unescape(s string) string {
	r := strings.NewReplacer(`\\`, `\`, `\;`, `;`, `\,`, `,`, `\n`, "\n", `\N`, "\n")
	return r.Replace(s)
}

func TestWrite(t *testing.T) {
	start := time.Date(2026, 12, 1, 18, 0, 0, 0, time.FixedZone("CET", 3600))
	long := strings.Repeat("Limited runs; when it's gone, it's gone — ", 5)
	cal := Calendar{
		Name:  "Midnight Run, Winter",
		Stamp: time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC),
		Events: []Event{{
			UID: "burst-7@dropcast.example", Start: start, End: start.Add(15 * time.Minute),
			Summary: "Headline Set: The Capsule Reveal", Description: long + "\nsecond line",
			URL: "https://dropcast.example/watch/7", AlarmBefore: 10 * time.Minute,
		}, {
			UID: "burst-8@dropcast.example", Start: start.Add(time.Hour), End: start.Add(75 * time.Minute),
			Summary: "Backstage; VIP, only",
		}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, cal); err != nil {
		t.Fatal(err)
	}
	lines := unfold(t, buf.String())
	props := map[string][]string{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("line without colon: %q", l)
		}
		props[name] = append(props[name], value)
	}
	want := map[string][]string{
		"BEGIN":        {"VCALENDAR", "VEVENT", "VALARM", "VEVENT"},
		"END":          {"VALARM", "VEVENT", "VEVENT", "VCALENDAR"},
		"VERSION":      {"2.0"},
		"X-WR-CALNAME": {`Midnight Run\, Winter`},
		"UID":          {"burst-7@dropcast.example", "burst-8@dropcast.example"},
		"DTSTART":      {"20261201T170000Z", "20261201T180000Z"},
		"DTEND":        {"20261201T171500Z", "20261201T181500Z"},
		"DTSTAMP":      {"20261126T230000Z", "20261126T230000Z"},
		"TRIGGER":      {"-PT10M"},
		"URL":          {"https://dropcast.example/watch/7"},
	}
	for name, vs := range want {
		if strings.Join(props[name], "|") != strings.Join(vs, "|") {
			t.Errorf("%s = %q, want %q", name, props[name], vs)
		}
	}
	if got := unescape(props["DESCRIPTION"][0]); got != long+"\nsecond line" {
		t.Errorf("description round trip = %q", got)
	}
	if got := props["SUMMARY"][1]; got != `Backstage\; VIP\, only` {
		t.Errorf("summary escaping = %q", got)
	}
	if lines[0] != "BEGIN:VCALENDAR" || lines[len(lines)-1] != "END:VCALENDAR" {
		t.Errorf("not wrapped in VCALENDAR: %q … %q", lines[0], lines[len(lines)-1])
	}
}

func TestWriteRejects(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		ev   Event
	}{
		{"no uid", Event{Start: now, End: now.Add(time.Minute)}},
		{"end before start", Event{UID: "x", Start: now, End: now.Add(-time.Minute)}},
		{"zero length", Event{UID: "x", Start: now, End: now}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, Calendar{Events: []Event{tc.ev}}); err == nil {
				t.Fatal("want an error")
			}
			if buf.Len() != 0 {
				t.Fatalf("wrote %d bytes on error", buf.Len())
			}
		})
	}
}

func FuzzEscapeFold(f *testing.F) {
	for _, s := range []string{"", "plain", "a;b,c\\d\ne", strings.Repeat("é", 80), "tab\there\r\nx", "\x00\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		var buf bytes.Buffer
		now := time.Unix(1_800_000_000, 0)
		if err := Write(&buf, Calendar{Stamp: now, Events: []Event{{UID: "u", Start: now, End: now.Add(time.Minute), Summary: s}}}); err != nil {
			t.Fatal(err)
		}
		var summary string
		for _, l := range unfold(t, buf.String()) {
			if v, ok := strings.CutPrefix(l, "SUMMARY:"); ok {
				summary = v
			}
		}
		want := strings.Map(func(r rune) rune {
			if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
				return -1
			}
			return r
		}, strings.ReplaceAll(s, "\r\n", "\n"))
		if got := unescape(summary); got != want {
			t.Fatalf("round trip %q -> %q, want %q", s, got, want)
		}
	})
}
