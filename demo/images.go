package demo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"

	"github.com/dropcast/dropcast/catalog"
)

// defaultPictureSide is the size of the generated demo product shots
// (square, in pixels) unless Seeder.PictureSide says otherwise.
const defaultPictureSide = 960

// artwork is how a demo product's picture is drawn: a silhouette on a
// two-colour gradient.
type artwork struct {
	top, bottom color.RGBA
	garment     color.RGBA
	shape       [][2]float64 // polygon in unit coordinates
}

var (
	shirt  = [][2]float64{{.30, .22}, {.42, .18}, {.50, .24}, {.58, .18}, {.70, .22}, {.86, .40}, {.76, .48}, {.70, .42}, {.70, .84}, {.30, .84}, {.30, .42}, {.24, .48}, {.14, .40}}
	hoodie = [][2]float64{{.30, .24}, {.40, .14}, {.50, .12}, {.60, .14}, {.70, .24}, {.88, .62}, {.78, .66}, {.70, .46}, {.70, .86}, {.30, .86}, {.30, .46}, {.22, .66}, {.12, .62}}
	pants  = [][2]float64{{.32, .12}, {.68, .12}, {.74, .88}, {.56, .88}, {.50, .38}, {.44, .88}, {.26, .88}}
	hat    = [][2]float64{{.36, .34}, {.64, .34}, {.70, .58}, {.86, .64}, {.80, .70}, {.20, .70}, {.14, .64}, {.30, .58}}
	sock   = [][2]float64{{.38, .14}, {.58, .14}, {.58, .60}, {.80, .72}, {.80, .86}, {.42, .86}, {.38, .80}}
	shoe   = [][2]float64{{.12, .50}, {.30, .44}, {.44, .34}, {.56, .38}, {.66, .50}, {.86, .56}, {.90, .66}, {.88, .70}, {.12, .70}}
)

// artworkFor picks a picture by the product's SKU stem.
func artworkFor(stem string) artwork {
	c := func(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 255} }
	switch stem {
	case "MR-HOODIE":
		return artwork{c(52, 34, 104), c(14, 12, 28), c(24, 24, 30), hoodie}
	case "MR-TEE":
		return artwork{c(255, 196, 61), c(196, 98, 32), c(245, 243, 236), shirt}
	case "MR-CARGO":
		return artwork{c(70, 96, 74), c(24, 34, 28), c(150, 140, 108), pants}
	case "MR-TRACK":
		return artwork{c(30, 70, 140), c(8, 14, 38), c(220, 30, 80), hoodie}
	case "MR-BUCKET":
		return artwork{c(230, 90, 120), c(110, 26, 60), c(20, 20, 24), hat}
	case "MR-SOCKS":
		return artwork{c(120, 210, 200), c(30, 90, 110), c(250, 250, 250), sock}
	default:
		return artwork{c(240, 240, 245), c(150, 150, 170), c(228, 25, 80), shoe}
	}
}

// render draws the artwork: gradient, a soft spotlight, the silhouette with
// a subtle shade from top to bottom, and a ground shadow.
func (a artwork) render(side int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	lerp := func(x, y uint8, t float64) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t) }
	for y := range side {
		fy := float64(y) / float64(side)
		for x := range side {
			fx := float64(x) / float64(side)
			light := math.Max(0, 1-math.Hypot(fx-.5, fy-.45)*1.8) * 0.35
			bg := color.RGBA{lerp(a.top.R, a.bottom.R, fy), lerp(a.top.G, a.bottom.G, fy), lerp(a.top.B, a.bottom.B, fy), 255}
			bg = color.RGBA{lerp(bg.R, 255, light), lerp(bg.G, 255, light), lerp(bg.B, 255, light), 255}
			if fy > .86 && fy < .92 && math.Abs(fx-.5) < .36*(1-(fy-.86)*8) {
				bg = color.RGBA{lerp(bg.R, 0, .35), lerp(bg.G, 0, .35), lerp(bg.B, 0, .35), 255}
			}
			if inside(a.shape, fx, fy) {
				shade := .18 * fy
				bg = color.RGBA{lerp(a.garment.R, 0, shade), lerp(a.garment.G, 0, shade), lerp(a.garment.B, 0, shade), 255}
			}
			img.SetRGBA(x, y, bg)
		}
	}
	return img
}

// inside is the even-odd point-in-polygon test.
func inside(poly [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		xi, yi, xj, yj := poly[i][0], poly[i][1], poly[j][0], poly[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// ensureImages gives every demo product without images a generated picture,
// stored through the image store like an upload.
func (s *Seeder) ensureImages(ctx context.Context, products map[string]catalog.Product) error {
	if s.Images == nil {
		return nil
	}
	for stem, p := range products {
		if len(p.Images) > 0 {
			continue
		}
		var buf bytes.Buffer
		side := s.PictureSide
		if side == 0 {
			side = defaultPictureSide
		}
		if err := jpeg.Encode(&buf, artworkFor(stem).render(side), &jpeg.Options{Quality: 90}); err != nil {
			return fmt.Errorf("encode demo image %s: %w", stem, err)
		}
		img, err := s.Images.Put(ctx, buf.Bytes())
		if err != nil {
			return fmt.Errorf("store demo image %s: %w", stem, err)
		}
		updated, err := s.Catalog.AddImage(ctx, p.ID, img.URL)
		if err != nil {
			return fmt.Errorf("add demo image %s: %w", stem, err)
		}
		products[stem] = updated
	}
	return nil
}
