package recorder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Index describes a fragmented MP4 file as the recorder wrote it: where the
// init section ends and where each complete moof+mdat fragment lies, with its
// samples. It is built by ParseIndex from the file itself, so a recording
// interrupted by a crash indexes up to its last complete fragment.
type Index struct {
	// InitSize is the byte length of ftyp+moov at the start of the file.
	InitSize int64
	// Fragments are the complete fragments in file order.
	Fragments []Fragment
	// ValidSize is the end of the last complete fragment (InitSize when
	// there is none): bytes past it are a torn write.
	ValidSize int64
}

// Fragment is one moof+mdat pair.
type Fragment struct {
	Offset int64 // of the moof box
	Size   int64 // moof + mdat
	Tracks []FragmentTrack
}

// FragmentTrack is one traf of a fragment.
type FragmentTrack struct {
	ID       uint32
	BaseTime uint64 // tfdt, in the track's timescale
	Samples  []SampleInfo
}

// SampleInfo locates one sample.
type SampleInfo struct {
	Offset    int64 // absolute file offset of the payload
	Size      uint32
	Duration  uint32
	PTSOffset int32
	NonSync   bool
}

// Duration of the track in ticks.
func (t FragmentTrack) Duration() uint64 {
	var d uint64
	for _, s := range t.Samples {
		d += uint64(s.Duration)
	}
	return d
}

// Track returns the fragment's traf of track id, if any.
func (f Fragment) Track(id uint32) (FragmentTrack, bool) {
	for _, t := range f.Tracks {
		if t.ID == id {
			return t, true
		}
	}
	return FragmentTrack{}, false
}

// errBadBox reports a malformed box; parsing stops at the fragment holding it.
var errBadBox = errors.New("malformed mp4 box")

// maxMoofSize bounds the moof boxes read into memory.
const maxMoofSize = 16 << 20

type boxHeader struct {
	typ        string
	size       int64 // including the header
	headerSize int64
}

// readBoxHeader reads the box header at off of a file of length end.
func readBoxHeader(r io.ReaderAt, off, end int64) (boxHeader, error) {
	var b [16]byte
	if end-off < 8 {
		return boxHeader{}, io.ErrUnexpectedEOF
	}
	if _, err := r.ReadAt(b[:8], off); err != nil {
		return boxHeader{}, err
	}
	h := boxHeader{typ: string(b[4:8]), size: int64(binary.BigEndian.Uint32(b[:4])), headerSize: 8}
	switch h.size {
	case 0:
		h.size = end - off
	case 1:
		if end-off < 16 {
			return boxHeader{}, io.ErrUnexpectedEOF
		}
		if _, err := r.ReadAt(b[8:16], off+8); err != nil {
			return boxHeader{}, err
		}
		h.size = int64(binary.BigEndian.Uint64(b[8:16]))
		h.headerSize = 16
	}
	if h.size < h.headerSize {
		return boxHeader{}, fmt.Errorf("%w: %q of size %d", errBadBox, h.typ, h.size)
	}
	return h, nil
}

// ParseIndex scans the fMP4 file r of length size. It fails only when the
// init section itself is missing or malformed; a torn or malformed tail ends
// the index at the last complete fragment.
func ParseIndex(r io.ReaderAt, size int64) (*Index, error) {
	idx := &Index{}
	var off int64
	for idx.InitSize == 0 {
		h, err := readBoxHeader(r, off, size)
		if err != nil {
			return nil, fmt.Errorf("read init section: %w", err)
		}
		if off+h.size > size {
			return nil, fmt.Errorf("read init section: %w", io.ErrUnexpectedEOF)
		}
		off += h.size
		switch h.typ {
		case "ftyp", "free", "styp":
		case "moov":
			idx.InitSize = off
		default:
			return nil, fmt.Errorf("%w: %q before moov", errBadBox, h.typ)
		}
	}
	idx.ValidSize = off
	for off < size {
		frag, next, err := readFragment(r, off, size)
		if err != nil {
			break
		}
		idx.Fragments = append(idx.Fragments, frag)
		off = next
		idx.ValidSize = off
	}
	return idx, nil
}

// readFragment reads the moof at off and the mdat after it.
func readFragment(r io.ReaderAt, off, size int64) (Fragment, int64, error) {
	h, err := readBoxHeader(r, off, size)
	if err != nil {
		return Fragment{}, 0, err
	}
	if h.typ != "moof" || h.size > maxMoofSize || off+h.size > size {
		return Fragment{}, 0, errBadBox
	}
	moof := make([]byte, h.size-h.headerSize)
	if _, err := r.ReadAt(moof, off+h.headerSize); err != nil {
		return Fragment{}, 0, err
	}
	mdatOff := off + h.size
	m, err := readBoxHeader(r, mdatOff, size)
	if err != nil {
		return Fragment{}, 0, err
	}
	if m.typ != "mdat" || mdatOff+m.size > size {
		return Fragment{}, 0, errBadBox
	}
	end := mdatOff + m.size
	frag := Fragment{Offset: off, Size: end - off}
	frag.Tracks, err = parseMoof(moof, off)
	if err != nil {
		return Fragment{}, 0, err
	}
	for _, t := range frag.Tracks {
		for _, s := range t.Samples {
			if s.Offset < mdatOff+m.headerSize || s.Offset+int64(s.Size) > end {
				return Fragment{}, 0, fmt.Errorf("%w: sample outside its mdat", errBadBox)
			}
		}
	}
	return frag, end, nil
}

// children calls fn for each box in b.
func children(b []byte, fn func(typ string, body []byte) error) error {
	for len(b) > 0 {
		if len(b) < 8 {
			return errBadBox
		}
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		if size == 1 {
			if len(b) < 16 {
				return errBadBox
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		} else if size == 0 {
			size = uint64(len(b))
		}
		if size < hdr || size > uint64(len(b)) {
			return errBadBox
		}
		if err := fn(typ, b[hdr:size]); err != nil {
			return err
		}
		b = b[size:]
	}
	return nil
}

// parseMoof reads the trafs of a moof body; moofOff is the moof's file offset.
func parseMoof(body []byte, moofOff int64) ([]FragmentTrack, error) {
	var tracks []FragmentTrack
	err := children(body, func(typ string, b []byte) error {
		if typ != "traf" {
			return nil
		}
		t, err := parseTraf(b, moofOff)
		if err != nil {
			return err
		}
		tracks = append(tracks, t)
		return nil
	})
	return tracks, err
}

// reader is a bounds-checked big-endian cursor.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.bad = true
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.bad = true
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// tfhd flags (ISO/IEC 14496-12 8.8.7).
const (
	tfhdBaseDataOffset   = 0x01
	tfhdSampleDescIndex  = 0x02
	tfhdDefaultDuration  = 0x08
	tfhdDefaultSize      = 0x10
	tfhdDefaultFlags     = 0x20
	trunDataOffset       = 0x01
	trunFirstSampleFlags = 0x04
	trunSampleDuration   = 0x100
	trunSampleSize       = 0x200
	trunSampleFlags      = 0x400
	trunSampleCTO        = 0x800
	sampleNonSync        = 0x10000
	maxSamplesPerTrun    = 1 << 20
)

type tfhd struct {
	trackID                uint32
	base                   int64
	defDur, defSize, defFl uint32
}

func parseTraf(b []byte, moofOff int64) (FragmentTrack, error) {
	var t FragmentTrack
	var hd tfhd
	haveTfhd := false
	err := children(b, func(typ string, body []byte) error {
		r := &reader{b: body}
		switch typ {
		case "tfhd":
			flags := r.u32() & 0xffffff
			hd = tfhd{trackID: r.u32(), base: moofOff}
			if flags&tfhdBaseDataOffset != 0 {
				hd.base = int64(r.u64())
			}
			if flags&tfhdSampleDescIndex != 0 {
				r.u32()
			}
			if flags&tfhdDefaultDuration != 0 {
				hd.defDur = r.u32()
			}
			if flags&tfhdDefaultSize != 0 {
				hd.defSize = r.u32()
			}
			if flags&tfhdDefaultFlags != 0 {
				hd.defFl = r.u32()
			}
			t.ID = hd.trackID
			haveTfhd = true
		case "tfdt":
			vf := r.u32()
			if vf>>24 == 1 {
				t.BaseTime = r.u64()
			} else {
				t.BaseTime = uint64(r.u32())
			}
		case "trun":
			if !haveTfhd {
				return errBadBox
			}
			samples, err := parseTrun(r, hd)
			if err != nil {
				return err
			}
			t.Samples = append(t.Samples, samples...)
		}
		if r.bad {
			return fmt.Errorf("%w: short %s", errBadBox, typ)
		}
		return nil
	})
	if err == nil && !haveTfhd {
		err = fmt.Errorf("%w: traf without tfhd", errBadBox)
	}
	return t, err
}

func parseTrun(r *reader, hd tfhd) ([]SampleInfo, error) {
	vf := r.u32()
	version, flags := vf>>24, vf&0xffffff
	count := r.u32()
	if count > maxSamplesPerTrun || r.bad {
		return nil, errBadBox
	}
	pos := hd.base
	if flags&trunDataOffset != 0 {
		pos += int64(int32(r.u32()))
	}
	first, haveFirst := uint32(0), flags&trunFirstSampleFlags != 0
	if haveFirst {
		first = r.u32()
	}
	per := 0
	for _, f := range []uint32{trunSampleDuration, trunSampleSize, trunSampleFlags, trunSampleCTO} {
		if flags&f != 0 {
			per += 4
		}
	}
	if uint64(len(r.b)) < uint64(count)*uint64(per) {
		return nil, errBadBox
	}
	out := make([]SampleInfo, count)
	for i := range out {
		s := SampleInfo{Duration: hd.defDur, Size: hd.defSize}
		fl := hd.defFl
		if i == 0 && haveFirst {
			fl = first
		}
		if flags&trunSampleDuration != 0 {
			s.Duration = r.u32()
		}
		if flags&trunSampleSize != 0 {
			s.Size = r.u32()
		}
		if flags&trunSampleFlags != 0 {
			fl = r.u32()
		}
		if flags&trunSampleCTO != 0 {
			v := r.u32()
			if version == 0 {
				s.PTSOffset = int32(min(v, 1<<31-1))
			} else {
				s.PTSOffset = int32(v)
			}
		}
		s.NonSync = fl&sampleNonSync != 0
		s.Offset = pos
		pos += int64(s.Size)
		out[i] = s
	}
	return out, nil
}
