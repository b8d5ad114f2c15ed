package sfu

import "errors"

// Sentinels returned by Registry methods; the server maps them to WHIP/WHEP
// statuses in one table.
var (
	// ErrOutsideWindow: the burst may not be published now (more than
	// Config.EarlyPublish before its schedule, or after its drop ended).
	ErrOutsideWindow = errors.New("burst is outside its publish window")
	// ErrBurstEnded: the burst has ended (or reached its limit).
	ErrBurstEnded = errors.New("burst has ended")
	// ErrPublisherActive: someone else is publishing to the burst and has
	// sent media within Config.SilentAfter.
	ErrPublisherActive = errors.New("another publisher is live on this burst")
	// ErrBadOffer: the SDP offer is malformed or unusable.
	ErrBadOffer = errors.New("malformed SDP offer")
	// ErrNoCodec: the offer holds no codec the server can use.
	ErrNoCodec = errors.New("offer has no usable codec")
	// ErrNotLive: the burst has no stream to watch (nobody has published
	// yet, or the publisher left longer than the grace period ago).
	ErrNotLive = errors.New("burst is not live")
	// ErrSessionNotFound: no WHIP/WHEP session has that id.
	ErrSessionNotFound = errors.New("session not found")
	// ErrClosed: the registry is shutting down.
	ErrClosed = errors.New("media server is shutting down")
	// ErrPreconditionRequired: a PATCH came without If-Match.
	ErrPreconditionRequired = errors.New(`If-Match is required: the session's ETag, or "*" for an ICE restart`)
	// ErrPreconditionFailed: a PATCH's If-Match is not the session's ETag
	// (the session has been restarted since).
	ErrPreconditionFailed = errors.New("If-Match does not match the session's ETag")
	// ErrBadFragment: a PATCH body is not a usable trickle-ice-sdpfrag.
	ErrBadFragment = errors.New("malformed trickle-ice-sdpfrag")
)
