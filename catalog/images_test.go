package catalog

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/dropcast/dropcast/apperr"
)

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImageStorePut(t *testing.T) {
	st, err := NewImageStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A portrait PNG, fully transparent: variants keep the aspect ratio and
	// land on white, since JPEG has no alpha.
	src := image.NewNRGBA(image.Rect(0, 0, 400, 600))
	img, err := st.Put(t.Context(), encodePNG(t, src))
	if err != nil {
		t.Fatal(err)
	}
	if img.Width != 400 || img.Height != 600 || len(img.URLs) != len(ImageWidths) {
		t.Fatalf("image %+v", img)
	}
	for i, w := range ImageWidths {
		f, err := st.Open(filepath.Base(img.URLs[i]))
		if err != nil {
			t.Fatal(err)
		}
		dec, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if b := dec.Bounds(); b.Dx() != w || b.Dy() != w*3/2 {
			t.Errorf("variant %d is %v, want %dx%d", w, b, w, w*3/2)
		}
		r, g, b, _ := dec.At(w/2, w/2).RGBA()
		if r>>8 < 250 || g>>8 < 250 || b>>8 < 250 {
			t.Errorf("variant %d: transparent source is not white: %v", w, color.RGBA64{uint16(r), uint16(g), uint16(b), 0})
		}
	}
	// Made once: a second Put of the same bytes writes nothing new.
	before, _ := os.Stat(filepath.Join(st.dir, filepath.Base(img.URLs[0])))
	again, err := st.Put(t.Context(), encodePNG(t, src))
	if err != nil || again.URL != img.URL {
		t.Fatalf("second put: %v %+v", err, again)
	}
	after, _ := os.Stat(filepath.Join(st.dir, filepath.Base(img.URLs[0])))
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("variant rewritten on a second upload")
	}
}

func TestImageStoreRejects(t *testing.T) {
	dir := t.TempDir()
	st, err := NewImageStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("not an image")},
		{"narrow", encodePNG(t, image.NewGray(image.Rect(0, 0, 319, 1000)))},
		{"too many pixels header", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0, 0, 0x1f, 0x40, 0, 0, 0x1f, 0x40, 8, 2, 0, 0, 0, 0, 0, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Put(t.Context(), tc.data)
			if !errors.Is(err, &apperr.Error{Code: apperr.Invalid}) {
				t.Fatalf("err = %v, want invalid", err)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused uploads left %d files", len(entries))
	}
	for _, name := range []string{"../x", "0123456789abcdef0123-640.png", "0123456789abcdef0123-640.jpg"} {
		if _, err := st.Open(name); !errors.Is(err, &apperr.Error{Code: apperr.NotFound}) {
			t.Errorf("open %q: %v, want not_found", name, err)
		}
	}
}

// FuzzImagePut feeds arbitrary bytes to the upload path: it must refuse or
// store, never panic, and whatever it stores must decode at every width.
func FuzzImagePut(f *testing.F) {
	f.Add(encodePNG(f, image.NewGray(image.Rect(0, 0, 320, 2))))
	f.Add([]byte("\xff\xd8\xff\xe0garbage"))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	st, err := NewImageStore(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := st.Put(t.Context(), data)
		if err != nil {
			if !errors.Is(err, &apperr.Error{Code: apperr.Invalid}) {
				t.Fatalf("non-validation error: %v", err)
			}
			return
		}
		for _, u := range img.URLs {
			file, err := st.Open(filepath.Base(u))
			if err != nil {
				t.Fatal(err)
			}
			_, err = jpeg.DecodeConfig(file)
			file.Close()
			if err != nil {
				t.Fatalf("stored variant does not decode: %v", err)
			}
		}
	})
}
