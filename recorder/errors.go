package recorder

import "github.com/dropcast/dropcast/apperr"

// Sentinels callers branch on. ErrClipNotFound and ErrNoRecording are also
// *apperr.Error values (not_found), so the HTTP edge maps them to 404.
var (
	// ErrClipNotFound: no clip with that id.
	ErrClipNotFound error = apperr.Errorf(apperr.NotFound, "clip not found")
	// ErrNoRecording: the burst has no recording (yet).
	ErrNoRecording error = apperr.Errorf(apperr.NotFound, "this burst has no recording")
)
