// Package recorder turns every live burst into a crash-safe fragmented MP4
// recording, keeps a timeline of the burst's cards beside it, cuts clips
// without re-encoding and builds HLS replay playlists over the recordings.
//
// It consumes media in process through sfu.Sink (one Recorder per burst,
// handed out by Manager.SinkFor) and burst/card events from events.Bus. It
// knows nothing of HTTP: server serves what it returns. Files live behind the
// Storage interface (a local data directory today); recordings and clips are
// also rows in PostgreSQL (tables recordings, clips, clip_products).
//
// Supported sources: H264 (packetization mode 0 or 1, no B-frames needed but
// tolerated) and Opus. VP8 is refused: mediacommon's fMP4 writer has no VP8
// sample entry, and WebM would need a second container, index and clip path
// for the one source (browser publishers) that can be asked to send H264;
// the refusal is logged and counted, and the live is unaffected.
package recorder
