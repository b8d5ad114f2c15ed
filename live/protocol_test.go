package live_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dropcast/dropcast/live"
)

var validCommands = []struct {
	name  string
	frame string
	want  live.Command
}{
	{"ping", `{"type":"ping"}`, live.Command{Type: "ping"}},
	{"ping with req", `{"type":"ping","req":"p1"}`, live.Command{Type: "ping", Req: "p1"}},
	{"add", `{"type":"cart.add","req":"r1","variant":"42","qty":2}`, live.Command{Type: "cart.add", Req: "r1", Variant: 42, Qty: 2}},
	{"add from card", `{"type":"cart.add","req":"r2","variant":"42","qty":1,"card":"7"}`, live.Command{Type: "cart.add", Req: "r2", Variant: 42, Qty: 1, Card: 7}},
	{"remove", `{"type":"cart.remove","req":"r3","variant":"9","qty":99}`, live.Command{Type: "cart.remove", Req: "r3", Variant: 9, Qty: 99}},
	{"checkout", `{"type":"checkout","req":"c"}`, live.Command{Type: "checkout", Req: "c"}},
	{"whitespace", " {\"type\" : \"ping\"} \n", live.Command{Type: "ping"}},
}

var invalidCommands = []struct {
	name, frame, code, field, req string
}{
	{"empty", ``, live.CodeBadJSON, "", ""},
	{"null", `null`, live.CodeInvalid, "type", ""},
	{"string", `"ping"`, live.CodeBadJSON, "", ""},
	{"truncated", `{"type":"ping"`, live.CodeBadJSON, "", ""},
	{"trailing", `{"type":"ping"} x`, live.CodeBadJSON, "", ""},
	{"type not string", `{"type":1}`, live.CodeInvalid, "type", ""},
	{"unknown", `{"type":"cart.clear","req":"x"}`, live.CodeUnknownType, "type", "x"},
	{"req number", `{"type":"ping","req":5}`, live.CodeInvalid, "req", ""},
	{"req too long", `{"type":"ping","req":"` + strings.Repeat("r", 65) + `"}`, live.CodeInvalid, "req", ""},
	{"checkout no req", `{"type":"checkout"}`, live.CodeInvalid, "req", ""},
	{"add no req", `{"type":"cart.add","variant":"1","qty":1}`, live.CodeInvalid, "req", ""},
	{"add no variant", `{"type":"cart.add","req":"a","qty":1}`, live.CodeInvalid, "variant", "a"},
	{"variant zero", `{"type":"cart.add","req":"a","variant":"0","qty":1}`, live.CodeInvalid, "variant", "a"},
	{"variant plus", `{"type":"cart.add","req":"a","variant":"+1","qty":1}`, live.CodeInvalid, "variant", "a"},
	{"variant huge", `{"type":"cart.add","req":"a","variant":"99999999999999999999","qty":1}`, live.CodeInvalid, "variant", "a"},
	{"qty zero", `{"type":"cart.add","req":"a","variant":"1","qty":0}`, live.CodeInvalid, "qty", "a"},
	{"qty 100", `{"type":"cart.add","req":"a","variant":"1","qty":100}`, live.CodeInvalid, "qty", "a"},
	{"qty fraction", `{"type":"cart.add","req":"a","variant":"1","qty":1.5}`, live.CodeInvalid, "qty", "a"},
	{"qty string", `{"type":"cart.add","req":"a","variant":"1","qty":"1"}`, live.CodeInvalid, "qty", "a"},
	{"price", `{"type":"cart.add","req":"a","variant":"1","qty":1,"price":1}`, live.CodeInvalid, "price", "a"},
	{"card on remove", `{"type":"cart.remove","req":"a","variant":"1","qty":1,"card":"2"}`, live.CodeInvalid, "card", "a"},
	{"variant on ping", `{"type":"ping","variant":"1"}`, live.CodeInvalid, "variant", ""},
	{"bad card", `{"type":"cart.add","req":"a","variant":"1","qty":1,"card":"x"}`, live.CodeInvalid, "card", "a"},
}

func TestParseCommand(t *testing.T) {
	for _, tc := range validCommands {
		t.Run(tc.name, func(t *testing.T) {
			got, err := live.ParseCommand([]byte(tc.frame))
			if err != nil || got != tc.want {
				t.Fatalf("ParseCommand(%s) = %+v, %v; want %+v", tc.frame, got, err, tc.want)
			}
		})
	}
	for _, tc := range invalidCommands {
		t.Run(tc.name, func(t *testing.T) {
			_, err := live.ParseCommand([]byte(tc.frame))
			var perr *live.ProtocolError
			if !errors.As(err, &perr) {
				t.Fatalf("ParseCommand(%s) err = %v, want a ProtocolError", tc.frame, err)
			}
			if perr.Code != tc.code || perr.Field != tc.field || perr.Req != tc.req || perr.Message == "" {
				t.Fatalf("ParseCommand(%s) = %+v; want code %q field %q req %q", tc.frame, perr, tc.code, tc.field, tc.req)
			}
		})
	}
}

// FuzzParseCommand: any frame either parses into a well-formed command or
// is refused with a ProtocolError carrying a known code; never a panic.
func FuzzParseCommand(f *testing.F) {
	for _, tc := range validCommands {
		f.Add([]byte(tc.frame))
	}
	for _, tc := range invalidCommands {
		f.Add([]byte(tc.frame))
	}
	codes := map[string]bool{live.CodeBadJSON: true, live.CodeUnknownType: true, live.CodeInvalid: true}
	f.Fuzz(func(t *testing.T, frame []byte) {
		cmd, err := live.ParseCommand(frame)
		if err != nil {
			var perr *live.ProtocolError
			if !errors.As(err, &perr) || !codes[perr.Code] || perr.Message == "" || len(perr.Req) > 64 {
				t.Fatalf("ParseCommand(%q) error = %#v", frame, err)
			}
			if !utf8.ValidString(perr.Message) && utf8.Valid(frame) {
				t.Fatalf("message not UTF-8: %q", perr.Message)
			}
			return
		}
		switch cmd.Type {
		case live.TypePing:
		case live.TypeCheckout:
			if cmd.Req == "" {
				t.Fatalf("checkout without req from %q", frame)
			}
		case live.TypeCartAdd, live.TypeCartRemove:
			if cmd.Req == "" || cmd.Variant <= 0 || cmd.Qty < 1 || cmd.Qty > 99 || cmd.Card < 0 {
				t.Fatalf("bad cart command %+v from %q", cmd, frame)
			}
		default:
			t.Fatalf("unknown type %q accepted from %q", cmd.Type, frame)
		}
		if len(cmd.Req) > 64 {
			t.Fatalf("req too long from %q", frame)
		}
	})
}
