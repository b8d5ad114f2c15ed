package catalog

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// withOrientation inserts an APP1 EXIF segment carrying orientation o
// (byte order bo) after the SOI marker of a JPEG.
func withOrientation(t testing.TB, jpg []byte, o uint16, bo binary.ByteOrder) []byte {
	t.Helper()
	tiff := make([]byte, 8+2+12+4)
	if bo == binary.LittleEndian {
		copy(tiff, "II")
	} else {
		copy(tiff, "MM")
	}
	bo.PutUint16(tiff[2:], 42)
	bo.PutUint32(tiff[4:], 8)
	bo.PutUint16(tiff[8:], 1)
	bo.PutUint16(tiff[10:], 0x0112)
	bo.PutUint16(tiff[12:], 3)
	bo.PutUint32(tiff[14:], 1)
	bo.PutUint16(tiff[18:], o)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// marked is 600×400 with a red block in the top-left corner.
func marked(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 600, 400))
	for y := range 400 {
		for x := range 600 {
			c := color.RGBA{20, 20, 200, 255}
			if x < 150 && y < 100 {
				c = color.RGBA{230, 20, 20, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestJPEGOrientation(t *testing.T) {
	src := marked(t)
	if got := jpegOrientation(src); got != 1 {
		t.Errorf("no EXIF: %d", got)
	}
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for o := uint16(1); o <= 8; o++ {
			if got := jpegOrientation(withOrientation(t, src, o, bo)); got != int(o) {
				t.Errorf("%v orientation %d read as %d", bo, o, got)
			}
		}
	}
	if got := jpegOrientation(withOrientation(t, src, 9, binary.BigEndian)); got != 1 {
		t.Errorf("bogus orientation 9 read as %d", got)
	}
}

// TestPutUprights: a picture stored sideways (orientation 6) comes out
// upright: portrait, with the marked corner now at the top right.
func TestPutUprights(t *testing.T) {
	st, err := NewImageStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img, err := st.Put(t.Context(), withOrientation(t, marked(t), 6, binary.BigEndian))
	if err != nil {
		t.Fatal(err)
	}
	if img.Width != 400 || img.Height != 600 {
		t.Fatalf("upright size %dx%d, want 400x600", img.Width, img.Height)
	}
	f, err := st.Open(img.Hash + "-320.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := dec.Bounds(); b.Dx() != 320 || b.Dy() != 480 {
		t.Fatalf("variant %v, want 320x480", b)
	}
	red := func(x, y int) bool { r, _, b, _ := dec.At(x, y).RGBA(); return r>>8 > 150 && b>>8 < 100 }
	if !red(300, 20) || red(20, 20) {
		t.Errorf("marked corner not at the top right after turning")
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add(withOrientation(f, marked(f), 6, binary.LittleEndian))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d out of range", o)
		}
	})
}
