//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAdminPage: sign in with the admin token, upload a product picture
// through the file picker (stored as variants and listed on the product),
// and rotate a burst's stream key (shown once; the old key stops working).
func TestAdminPage(t *testing.T) {
	e := startApp(t)
	ctx := browser(t)
	run(t, ctx, "open admin", chromedp.Navigate(e.base+"/admin"))
	run(t, ctx, "wrong token", chromedp.Evaluate[chromedp.Void](`document.getElementById('admin-token').value = 'nope-nope-nope-nope'; document.querySelector('#token-form button').click()`))
	waitFor(t, ctx, 5*time.Second, "refusal", `document.getElementById('token-error').textContent === 'Wrong admin token.'`)
	run(t, ctx, "sign in", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('admin-token').value = %q; document.querySelector('#token-form button').click()`, adminToken)))
	waitFor(t, ctx, 10*time.Second, "drop listed", `document.querySelectorAll('.admin-drop tbody tr').length === 4 + 7`)
	// Results from the KPI API: nobody has watched or bought in the fresh demo.
	waitFor(t, ctx, 5*time.Second, "drop results", `/^0 shoppers · 0 orders · 0 units · /.test(document.querySelector('.kpi-summary')?.textContent || '')
		&& document.querySelectorAll('.kpi-audience').length === 4 && document.querySelector('.kpi-audience').textContent === '0 live (peak 0) · 0 replay'
		&& document.querySelectorAll('.kpi-sold').length === 7`)

	// The paid-orders export downloads the CSV with the token (the blob is
	// caught here instead of saved).
	if got := eval[string](t, ctx, `document.querySelector('.admin-drop button.export + .muted')?.textContent || ''`); !strings.HasPrefix(got, "Ships to US, CA") {
		t.Errorf("shipping note %q, want the demo's countries", got)
	}
	run(t, ctx, "export", chromedp.Evaluate[chromedp.Void](`URL.createObjectURL = (b) => { window.exported = b; return 'blob:caught'; };
		HTMLAnchorElement.prototype.click = function () { window.savedAs = this.download; };
		document.querySelector('.admin-drop button.export').click()`))
	waitFor(t, ctx, 10*time.Second, "CSV export", `!!window.exported && window.savedAs === 'demo-drop-paid-orders.csv'`)
	if head := eval[string](t, ctx, `window.exported.text().then((t) => t.split('\n')[0])`); !strings.HasPrefix(head, "order_id,status,") {
		t.Errorf("export starts %q, want the CSV header", head)
	}

	// Upload a picture for the first product.
	p := firstProduct(t, e)
	img := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for y := range 600 {
		for x := range 800 {
			img.Set(x, y, color.RGBA{uint8(x / 4), 90, uint8(y / 3), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "front.jpg")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "upload", chromedp.SetUploadFiles(fmt.Sprintf("#img-%d", p), []string{path}))
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := e.app.Catalog.Product(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Images) == 2 {
			if !strings.HasPrefix(got.Images[1], "/images/") || !strings.HasSuffix(got.Images[1], "-640.jpg") {
				t.Errorf("uploaded image URL %q", got.Images[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("product images after upload: %v", got.Images)
		}
		time.Sleep(100 * time.Millisecond) // polling the database with a deadline
	}

	// The product's thumbnails show the new picture without a page reload.
	waitFor(t, ctx, 10*time.Second, "new thumbnail", fmt.Sprintf(`document.querySelectorAll('#thumbs-%d img').length === 2`, p))

	// Rotate the headline burst's stream key: the upload re-rendered only
	// the thumbnails, so one click lands.
	head := e.demo.Bursts[0]
	run(t, ctx, "rotate", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true;
		document.querySelector('.admin-drop tbody tr .linkish').click()`))
	waitFor(t, ctx, 10*time.Second, "new key shown once", `/^Shown once: dck_/.test(document.querySelector('.once')?.textContent || '')`)
	key := strings.TrimPrefix(eval[string](t, ctx, `document.querySelector('.once').textContent`), "Shown once: ")
	if b, err := e.app.Drops.BurstByStreamKey(t.Context(), key); err != nil || b.ID != head.Burst.ID {
		t.Errorf("new key: burst %d, %v", b.ID, err)
	}
	if _, err := e.app.Drops.BurstByStreamKey(t.Context(), head.Key.String()); err == nil {
		t.Error("the old key still works after rotation")
	}
	screenshot(t, ctx, "admin-desktop", true)
}

func firstProduct(t *testing.T, e *env) int64 {
	t.Helper()
	ps, err := e.app.Catalog.ListProducts(t.Context(), e.demo.Drop.ID)
	if err != nil || len(ps) == 0 {
		t.Fatalf("products: %v", err)
	}
	return ps[0].ID
}
