// Package ics writes iCalendar files (RFC 5545) for "add to calendar" links:
// a VCALENDAR of VEVENTs with UTC times, escaped text and folded lines. It is
// a pure format helper: no I/O beyond the writer it is given, no HTTP.
package ics

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one calendar entry.
type Event struct {
	// UID identifies the event forever, so a calendar updates it in place
	// when the file is imported again (RFC 5545 §3.8.4.7). Required.
	UID         string
	Start, End  time.Time
	Summary     string
	Description string
	// URL links to the event's page; it is also given as LOCATION so that
	// calendar apps without URL support still show it.
	URL string
	// AlarmBefore adds a display alarm this long before Start; 0 for none.
	AlarmBefore time.Duration
}

// Calendar is a set of events published together.
type Calendar struct {
	// ProdID names the product that made the file (§3.7.3). It defaults to
	// "-//dropcast//dropcast//EN".
	ProdID string
	// Name is shown by some apps as the calendar's title (X-WR-CALNAME).
	Name   string
	Events []Event
	// Stamp is DTSTAMP of every event: when the file was made.
	Stamp time.Time
}

// timeFormat is the UTC "form #2" DATE-TIME of §3.3.5.
const timeFormat = "20060102T150405Z"

// maxLineOctets is the longest content line before folding (§3.1).
const maxLineOctets = 75

// Write writes c as an iCalendar stream with CRLF line ends.
func Write(w io.Writer, c Calendar) error {
	for i, e := range c.Events {
		if e.UID == "" {
			return fmt.Errorf("event %d: uid is required", i)
		}
		if !e.End.After(e.Start) {
			return fmt.Errorf("event %s: end must be after start", e.UID)
		}
	}
	bw := bufio.NewWriter(w)
	line := func(name, value string) { writeLine(bw, name+":"+value) }
	prod := c.ProdID
	if prod == "" {
		prod = "-//dropcast//dropcast//EN"
	}
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", EscapeText(prod))
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	if c.Name != "" {
		line("X-WR-CALNAME", EscapeText(c.Name))
	}
	stamp := c.Stamp.UTC().Format(timeFormat)
	for _, e := range c.Events {
		line("BEGIN", "VEVENT")
		line("UID", EscapeText(e.UID))
		line("DTSTAMP", stamp)
		line("DTSTART", e.Start.UTC().Format(timeFormat))
		line("DTEND", e.End.UTC().Format(timeFormat))
		line("SUMMARY", EscapeText(e.Summary))
		if e.Description != "" {
			line("DESCRIPTION", EscapeText(e.Description))
		}
		if e.URL != "" {
			line("URL", stripControls(e.URL))
			line("LOCATION", EscapeText(e.URL))
		}
		if e.AlarmBefore > 0 {
			line("BEGIN", "VALARM")
			line("ACTION", "DISPLAY")
			line("DESCRIPTION", EscapeText(e.Summary))
			line("TRIGGER", "-PT"+fmt.Sprint(int(e.AlarmBefore/time.Minute))+"M")
			line("END", "VALARM")
		}
		line("END", "VEVENT")
	}
	line("END", "VCALENDAR")
	return bw.Flush()
}

// EscapeText escapes a TEXT value (§3.3.11): backslash, semicolon and comma
// get a backslash, a line break becomes \n, and other control characters
// (forbidden in content lines) are dropped.
func EscapeText(s string) string {
	var b strings.Builder
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, r := range s {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func stripControls(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// writeLine writes one content line folded at 75 octets (§3.1): the line
// is split before any octet that would pass the limit, never inside a UTF-8
// sequence, and each continuation starts with a space.
func writeLine(w *bufio.Writer, s string) {
	limit := maxLineOctets
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		w.WriteString(s[:cut])
		w.WriteString("\r\n ")
		s = s[cut:]
		limit = maxLineOctets - 1 // the leading space counts
	}
	w.WriteString(s)
	w.WriteString("\r\n")
}
