package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Client → server message types.
const (
	TypeCartAdd    = "cart.add"
	TypeCartRemove = "cart.remove"
	TypeCheckout   = "checkout"
	TypePing       = "ping"
)

// Server → client message types.
const (
	TypeWelcome  = "welcome"
	TypeCardShow = "card.show"
	TypeCardHide = "card.hide"
	TypeStock    = "stock"
	TypeViewers  = "viewers"
	TypeBurst    = "burst"
	TypeCart     = "cart"
	TypeAck      = "ack"
	TypeError    = "error"
	TypeSale     = "sale"
)

// Protocol error codes sent in "error" messages, beside the apperr codes a
// Commerce returns (sold_out, limit_reached, …), which pass through as they
// are.
const (
	CodeBadJSON     = "bad_json"     // the frame is not one JSON object
	CodeUnknownType = "unknown_type" // "type" names no client command
	CodeInvalid     = "invalid"      // a field is missing, unknown or malformed (see "field")
	CodeRateLimited = "rate_limited" // too many commands; the command was not run
	CodeUnavailable = "unavailable"  // no commerce backend is configured
	CodeInternal    = "internal"     // anything else; details are logged, not sent
)

// Limits of client commands.
const (
	maxReqLen = 64 // bytes of a "req" id
	maxQty    = 99 // units in one cart command
)

// Command is one parsed client message. Only the fields of its Type are set.
type Command struct {
	Type    string
	Req     string // the client's request id, echoed in the answer; may be empty only for ping
	Variant int64  // cart.add, cart.remove
	Qty     int    // cart.add, cart.remove: 1..99
	Card    int64  // cart.add: the card the shopper bought from (0: none)
}

// ProtocolError is a refused client message: the machine code, a safe
// message, the offending field if any, and the request id when it could be
// read.
type ProtocolError struct {
	Req     string
	Code    string
	Field   string
	Message string
}

func (e *ProtocolError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// rawCommand is the wire shape of every client message. Ids are strings of
// digits, as everywhere in dropcast's JSON; qty is an integer.
type rawCommand struct {
	Type      *string          `json:"type"`
	Req       *json.RawMessage `json:"req"`
	Variant   *string          `json:"variant"`
	Qty       *json.RawMessage `json:"qty"`
	Card      *string          `json:"card"`
	ReturnURL *string          `json:"return_url"`
}

// ParseCommand parses one client frame strictly: exactly one JSON object, a
// known "type", no unknown fields, every required field present and well
// formed. It never panics; a refusal is a *ProtocolError carrying the req id
// whenever one could be read.
func ParseCommand(frame []byte) (Command, error) {
	var raw rawCommand
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Command{}, decodeError(frame, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Command{}, &ProtocolError{Req: salvageReq(frame), Code: CodeBadJSON, Message: "a frame must hold exactly one JSON object"}
	}
	req, perr := parseReq(raw.Req)
	if perr != nil {
		return Command{}, perr
	}
	if raw.Type == nil {
		return Command{}, invalid(req, "type", "is required")
	}
	cmd := Command{Type: *raw.Type, Req: req}
	switch cmd.Type {
	case TypePing:
		return cmd, onlyFields(req, raw, "type", "req")
	case TypeCheckout:
		if err := needReq(req); err != nil {
			return Command{}, err
		}
		return cmd, onlyFields(req, raw, "type", "req")
	case TypeCartAdd, TypeCartRemove:
		return parseCart(cmd, raw)
	}
	return Command{}, &ProtocolError{Req: req, Code: CodeUnknownType, Field: "type",
		Message: fmt.Sprintf("unknown message type %q (want cart.add, cart.remove, checkout or ping)", truncate(cmd.Type, 40))}
}

func parseCart(cmd Command, raw rawCommand) (Command, error) {
	req := cmd.Req
	if err := needReq(req); err != nil {
		return Command{}, err
	}
	allowed := []string{"type", "req", "variant", "qty"}
	if cmd.Type == TypeCartAdd {
		allowed = append(allowed, "card")
	}
	if err := onlyFields(req, raw, allowed...); err != nil {
		return Command{}, err
	}
	if raw.Variant == nil {
		return Command{}, invalid(req, "variant", "is required (a variant id, as a string)")
	}
	v, ok := parseID(*raw.Variant)
	if !ok {
		return Command{}, invalid(req, "variant", "must be a variant id: a string of digits")
	}
	cmd.Variant = v
	if raw.Qty == nil {
		return Command{}, invalid(req, "qty", "is required (an integer from 1 to 99)")
	}
	var qty int
	if err := json.Unmarshal(*raw.Qty, &qty); err != nil || qty < 1 || qty > maxQty {
		return Command{}, invalid(req, "qty", "must be an integer from 1 to 99")
	}
	cmd.Qty = qty
	if raw.Card != nil {
		c, ok := parseID(*raw.Card)
		if !ok {
			return Command{}, invalid(req, "card", "must be a card id: a string of digits")
		}
		cmd.Card = c
	}
	return cmd, nil
}

// onlyFields refuses the fields of raw that the message type does not take.
func onlyFields(req string, raw rawCommand, allowed ...string) error {
	present := map[string]bool{
		"type": raw.Type != nil, "req": raw.Req != nil, "variant": raw.Variant != nil,
		"qty": raw.Qty != nil, "card": raw.Card != nil, "return_url": raw.ReturnURL != nil,
	}
	for _, a := range allowed {
		delete(present, a)
	}
	for _, f := range []string{"variant", "qty", "card", "return_url"} {
		if present[f] {
			return invalid(req, f, "is not a field of this message type")
		}
	}
	return nil
}

func needReq(req string) error {
	if req == "" {
		return invalid("", "req", "is required (a request id string, echoed in the answer)")
	}
	return nil
}

func parseReq(raw *json.RawMessage) (string, error) {
	if raw == nil {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(*raw, &s); err != nil {
		return "", invalid("", "req", "must be a string")
	}
	if len(s) > maxReqLen {
		return "", invalid("", "req", "must be at most 64 bytes")
	}
	return s, nil
}

// parseID accepts the string form of a positive int64 id.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func invalid(req, field, msg string) *ProtocolError {
	return &ProtocolError{Req: req, Code: CodeInvalid, Field: field, Message: msg}
}

func decodeError(frame []byte, err error) *ProtocolError {
	req := salvageReq(frame)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return &ProtocolError{Req: req, Code: CodeBadJSON, Message: "a frame must be a JSON object"}
	case errors.As(err, &typeErr):
		return invalid(req, typeErr.Field, "has the wrong JSON type")
	case errors.Is(err, io.EOF):
		return &ProtocolError{Req: req, Code: CodeBadJSON, Message: "empty frame; a JSON object is required"}
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f, _ := strconv.Unquote(msg)
		return invalid(req, truncate(f, 40), "is not a known field")
	}
	return &ProtocolError{Req: req, Code: CodeBadJSON, Message: "malformed JSON: " + truncate(err.Error(), 120)}
}

// salvageReq reads the req id of a frame that failed strict parsing, so the
// error can still be matched to the request.
func salvageReq(frame []byte) string {
	var v struct {
		Req string `json:"req"`
	}
	if json.Unmarshal(frame, &v) != nil || len(v.Req) > maxReqLen {
		return ""
	}
	return v.Req
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// idString formats an id the way dropcast's JSON does: as a string.
func idString(id int64) string { return strconv.FormatInt(id, 10) }

// millis is d in whole milliseconds.
func millis(d time.Duration) int64 { return d.Milliseconds() }
