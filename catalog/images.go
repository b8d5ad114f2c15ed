package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // registers the PNG decoder for uploads
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/image/draw"

	"github.com/dropcast/dropcast/apperr"
)

// ImageWidths are the widths in pixels of the JPEG variants made of every
// uploaded product image, for a responsive srcset.
var ImageWidths = [...]int{320, 640, 1280}

// Image limits: uploads larger than MaxImageBytes, wider or taller than
// MaxImageSide, with more than MaxImagePixels or narrower than MinImageWidth
// are refused before being decoded in full.
const (
	MaxImageBytes  = 10 << 20
	MaxImageSide   = 8000
	MaxImagePixels = 24_000_000
	MinImageWidth  = 320
)

// ImageURLPrefix is the path under which image variants are served.
const ImageURLPrefix = "/images/"

// jpegQuality balances size and artefacts for product shots.
const jpegQuality = 82

// imageNameRE matches a variant's file name: source hash, width, .jpg.
var imageNameRE = regexp.MustCompile(`^([0-9a-f]{20})-(320|640|1280)\.jpg$`)

// Image is a stored product image: its content hash and the URLs of its
// variants. URL is the 640-wide variant, the default src.
type Image struct {
	Hash   string   `json:"hash"`
	URL    string   `json:"url"`
	Srcset string   `json:"srcset"`
	URLs   []string `json:"urls"`
	Width  int      `json:"source_width"`
	Height int      `json:"source_height"`
}

// ImageStore makes and keeps the JPEG variants of product images in a
// directory. A variant's name is derived from the source's SHA-256, so the
// same upload is processed once and its URLs never change meaning; they may
// be cached forever. Safe for concurrent use: at most two images are decoded
// at once to bound memory.
type ImageStore struct {
	dir  string
	busy chan struct{}
}

// NewImageStore keeps images in dir, creating it if needed.
func NewImageStore(dir string) (*ImageStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create image dir: %w", err)
	}
	return &ImageStore{dir: dir, busy: make(chan struct{}, 2)}, nil
}

// imageFor describes the stored variants of the source with hash h.
func imageFor(h string, w, ht int) Image {
	img := Image{Hash: h, Width: w, Height: ht}
	var srcset []string
	for _, width := range ImageWidths {
		u := ImageURLPrefix + h + "-" + strconv.Itoa(width) + ".jpg"
		img.URLs = append(img.URLs, u)
		srcset = append(srcset, u+" "+strconv.Itoa(width)+"w")
		if width == 640 {
			img.URL = u
		}
	}
	img.Srcset = strings.Join(srcset, ", ")
	return img
}

func badImage(format string, args ...any) error {
	return apperr.InvalidField("image", format, args...)
}

// Put stores the variants of the JPEG or PNG in data, unless they exist.
// Errors: invalid (field "image") for anything that is not a JPEG or PNG
// within the limits; nothing is written then.
func (st *ImageStore) Put(ctx context.Context, data []byte) (Image, error) {
	if len(data) > MaxImageBytes {
		return Image{}, badImage("is larger than %d bytes", MaxImageBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Image{}, badImage("is not a JPEG or PNG image")
	}
	if format != "jpeg" && format != "png" {
		return Image{}, badImage("is a %s image; upload a JPEG or PNG", format)
	}
	if cfg.Width > MaxImageSide || cfg.Height > MaxImageSide || cfg.Width*cfg.Height > MaxImagePixels {
		return Image{}, badImage("is %dx%d; at most %d px a side and %d pixels", cfg.Width, cfg.Height, MaxImageSide, MaxImagePixels)
	}
	orientation := 1
	if format == "jpeg" {
		orientation = jpegOrientation(data)
	}
	if orientation >= 5 { // stored sideways: the upright picture is the other way round
		cfg.Width, cfg.Height = cfg.Height, cfg.Width
	}
	if cfg.Width < MinImageWidth || cfg.Height < 1 {
		return Image{}, badImage("is %d px wide; at least %d px is needed", cfg.Width, MinImageWidth)
	}
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:10])
	out := imageFor(h, cfg.Width, cfg.Height)
	if st.haveAll(h) {
		return out, nil
	}
	select {
	case st.busy <- struct{}{}:
		defer func() { <-st.busy }()
	case <-ctx.Done():
		return Image{}, ctx.Err()
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return Image{}, badImage("cannot be decoded: %v", err)
	}
	src = orient(src, orientation)
	for _, width := range ImageWidths {
		if err := ctx.Err(); err != nil {
			return Image{}, err
		}
		if err := st.writeVariant(src, h, width); err != nil {
			return Image{}, err
		}
	}
	return out, nil
}

func (st *ImageStore) haveAll(h string) bool {
	for _, width := range ImageWidths {
		if _, err := os.Stat(st.path(h, width)); err != nil {
			return false
		}
	}
	return true
}

func (st *ImageStore) path(h string, width int) string {
	return filepath.Join(st.dir, h+"-"+strconv.Itoa(width)+".jpg")
}

// writeVariant scales src to width (keeping its aspect ratio) onto white,
// since JPEG has no alpha, and writes it atomically.
func (st *ImageStore) writeVariant(src image.Image, h string, width int) error {
	b := src.Bounds()
	height := max(1, (b.Dy()*width+b.Dx()/2)/b.Dx())
	dst := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)

	tmp, err := os.CreateTemp(st.dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("create image file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := jpeg.Encode(tmp, dst, &jpeg.Options{Quality: jpegQuality}); err != nil {
		tmp.Close()
		return fmt.Errorf("encode image %s-%d: %w", h, width, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write image %s-%d: %w", h, width, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("chmod image: %w", err)
	}
	if err := os.Rename(tmp.Name(), st.path(h, width)); err != nil {
		return fmt.Errorf("store image %s-%d: %w", h, width, err)
	}
	return nil
}

// Open opens the stored variant called name (as in its URL, without the
// prefix). Errors: not_found for a name that is not a variant's or is
// missing.
func (st *ImageStore) Open(name string) (*os.File, error) {
	if !imageNameRE.MatchString(name) {
		return nil, apperr.Errorf(apperr.NotFound, "image %q not found", name)
	}
	f, err := os.Open(filepath.Join(st.dir, name))
	if os.IsNotExist(err) {
		return nil, apperr.Errorf(apperr.NotFound, "image %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("open image %s: %w", name, err)
	}
	return f, nil
}

// AddImage appends url to the images of product id, unless it is already
// there. Errors: not_found, invalid (20 images already).
func (s *Service) AddImage(ctx context.Context, id int64, url string) (Product, error) {
	if err := validImages([]string{url}); err != nil {
		return Product{}, err
	}
	tag, err := s.db.Exec(ctx, `
		UPDATE products SET images = CASE WHEN $2 = ANY(images) THEN images ELSE array_append(images, $2) END,
			updated_at = now()
		WHERE id = $1 AND ($2 = ANY(images) OR cardinality(images) < 20)`, id, url)
	if err != nil {
		return Product{}, fmt.Errorf("add image to product %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		p, err := s.Product(ctx, id)
		if err != nil {
			return Product{}, err
		}
		return p, apperr.InvalidField("images", "product %d already has %d images", id, len(p.Images))
	}
	return s.Product(ctx, id)
}
