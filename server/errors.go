package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/checkout"
)

// statusOf maps application error codes to HTTP statuses for the JSON API.
// It is the one table for this surface.
func statusOf(code string) int {
	switch code {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Unauthorized:
		return http.StatusUnauthorized
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	case checkout.CodeSoldOut, checkout.CodeLimitReached:
		return http.StatusConflict
	case checkout.CodeUnknownVariant:
		return http.StatusNotFound
	case checkout.CodeCardExpired:
		return http.StatusGone
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON shape of every API error:
// {"error":{"code":"…","message":"…","field":"…"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeError answers with err as JSON. Application errors keep their code,
// message and field; anything else is logged and reported as internal.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var detail errorDetail
	status := http.StatusInternalServerError
	if e, ok := errors.AsType[*apperr.Error](err); ok {
		detail = errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}
		status = statusOf(e.Code)
	} else {
		detail = errorDetail{Code: apperr.Internal, Message: "internal error"}
	}
	if status >= 500 {
		logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		logger.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, errorBody{Error: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client may have gone; nothing to do about it
}

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 1 << 20

// decodeJSON reads exactly one JSON object from the request into dst,
// refusing unknown fields, trailing data and bodies over maxJSONBody.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return apperr.InvalidField("", "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return apperr.InvalidField("", "body must hold a single JSON object")
	}
	return nil
}

func jsonError(err error) error {
	if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return apperr.InvalidField(typeErr.Field, "must be a JSON %s", jsonKind(typeErr.Type.Kind().String()))
	}
	if maxErr, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return apperr.InvalidField("", "body is larger than %d bytes", maxErr.Limit)
	}
	if errors.Is(err, io.EOF) {
		return apperr.InvalidField("", "body is empty; a JSON object is required")
	}
	msg := err.Error()
	if field, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return apperr.InvalidField(strings.Trim(field, `"`), "is not a known field")
	}
	if strings.Contains(msg, ",string struct tag") {
		return apperr.InvalidField("", "ids are JSON strings of digits, such as \"42\"")
	}
	if strings.Contains(msg, "parsing time") {
		return apperr.InvalidField("", "times must be RFC 3339, such as 2026-12-01T18:00:00Z: %v", err)
	}
	return apperr.InvalidField("", "malformed JSON: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int32", "int64":
		return "integer (ids are strings of digits)"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return fmt.Sprintf("value of another type (%s)", goKind)
}
