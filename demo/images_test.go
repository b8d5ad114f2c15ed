package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/store/storetest"
)

// TestSeedImages: every demo product gets one generated picture, stored as
// variants; seeding again adds none and rewrites nothing.
func TestSeedImages(t *testing.T) {
	pool := storetest.New(t)
	dir := t.TempDir()
	images, err := catalog.NewImageStore(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Seeder{Drops: drops.NewService(pool, nil), Catalog: catalog.NewService(pool), DataDir: dir, Images: images,
		PictureSide: catalog.MinImageWidth}
	res, err := s.Seed(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.Catalog.ListProducts(t.Context(), res.Drop.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if len(p.Images) != 1 || !strings.HasSuffix(p.Images[0], "-640.jpg") {
			t.Fatalf("%s images %v", p.Title, p.Images)
		}
		if seen[p.Images[0]] {
			t.Errorf("%s shares its picture", p.Title)
		}
		seen[p.Images[0]] = true
	}
	files, _ := os.ReadDir(filepath.Join(dir, "images"))
	if want := len(ps) * len(catalog.ImageWidths); len(files) != want {
		t.Errorf("%d image files, want %d", len(files), want)
	}
	if _, err := s.Seed(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, _ := s.Catalog.ListProducts(t.Context(), res.Drop.ID)
	for i, p := range again {
		if len(p.Images) != 1 || p.Images[0] != ps[i].Images[0] {
			t.Errorf("second seed changed %s images to %v", p.Title, p.Images)
		}
	}
}

func TestInside(t *testing.T) {
	square := [][2]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}}
	for _, tc := range []struct {
		x, y float64
		want bool
	}{{.5, .5, true}, {1.5, .5, false}, {.5, -.1, false}, {.01, .99, true}} {
		if got := inside(square, tc.x, tc.y); got != tc.want {
			t.Errorf("inside(%v, %v) = %v", tc.x, tc.y, got)
		}
	}
}
