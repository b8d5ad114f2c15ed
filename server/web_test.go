package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dropcast/dropcast/app"
	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/store/storetest"
)

const testAdminToken = "test-admin-token-0123456789"

// webApp starts the whole app on 127.0.0.1:0 with a fresh database and
// returns its base URL.
func webApp(t *testing.T) (*app.App, string) {
	t.Helper()
	_, dbURL := storetest.NewWithURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", AdminToken: testAdminToken,
		DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("app did not stop")
		}
	})
	return a, "http://" + a.Addr()
}

type fixture struct {
	drop    drops.Drop
	burst   drops.Burst
	key     drops.StreamKey
	product catalog.Product
}

func seed(t *testing.T, a *app.App) fixture {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	d, err := a.Drops.CreateDrop(ctx, drops.DropInput{Slug: "winter-run", Title: "Winter, Run; Capsule", StartsAt: now.Add(-time.Hour),
		EndsAt: now.Add(48 * time.Hour), Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Catalog.CreateProduct(ctx, d.ID, catalog.ProductInput{Title: "Hoodie", Variants: []catalog.VariantInput{
		{SKU: "H-S", Label: "S", Price: 8900, Stock: 3}, {SKU: "H-M", Label: "M", Price: 8900, Stock: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	b, key, err := a.Drops.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "Headline", Kind: drops.KindHeadline, ScheduledAt: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	deal := int64(7500)
	if _, err := a.Drops.CreateCard(ctx, b.ID, drops.CardInput{ProductID: p.ID, OffsetS: 10, DurationS: 60, DealPrice: &deal}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Drops.CreateCard(ctx, b.ID, drops.CardInput{ProductID: p.ID, OffsetS: 90, DurationS: 60, VIPOnly: true}); err != nil {
		t.Fatal(err)
	}
	return fixture{drop: d, burst: b, key: key, product: p}
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

var bootRE = regexp.MustCompile(`(?s)<script type="application/json" id="boot">(.*?)</script>`)

func bootOf(t *testing.T, page []byte) map[string]any {
	t.Helper()
	m := bootRE.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no boot data in page:\n%s", page)
	}
	var v map[string]any
	if err := json.Unmarshal(m[1], &v); err != nil {
		t.Fatalf("boot data is not JSON: %v\n%s", err, m[1])
	}
	return v
}

func TestPages(t *testing.T) {
	a, base := webApp(t)
	f := seed(t, a)
	id := itoa(f.burst.ID)
	for _, tc := range []struct {
		name, path string
		status     int
		contains   string
	}{
		{"watch", "/watch/" + id, 200, `id="video"`},
		{"host", "/host/" + id, 200, `id="key-form"`},
		{"replay", "/replay/" + id, 200, `id="clips"`},
		{"drop", "/d/winter-run", 200, `id="schedule"`},
		{"admin", "/admin", 200, `id="token-form"`},
		{"unknown burst", "/watch/999999", 404, "couldn"},
		{"junk burst", "/watch/abc", 404, "couldn"},
		{"unknown drop", "/d/nope", 404, "couldn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, base+tc.path)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("content type %q", ct)
			}
			if !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("no CSP: %q", res.Header.Get("Content-Security-Policy"))
			}
			if !bytes.Contains(body, []byte(tc.contains)) {
				t.Errorf("page lacks %q", tc.contains)
			}
		})
	}

	t.Run("watch boot and shopper cookie", func(t *testing.T) {
		res, body := get(t, base+"/watch/"+id)
		boot := bootOf(t, body)
		b := boot["burst"].(map[string]any)
		if b["id"] != id || b["state"] != "scheduled" {
			t.Errorf("boot burst = %v", b)
		}
		links := boot["links"].(map[string]any)
		if links["whep"] != "/whep/"+id || links["ws"] != "/ws/"+id || links["replay"] != "/replay/"+id {
			t.Errorf("links = %v", links)
		}
		var cookie bool
		for _, c := range res.Cookies() {
			cookie = cookie || (c.Name == "dropcast_shopper" && c.HttpOnly && c.Value != "")
		}
		if !cookie {
			t.Error("watch page set no shopper cookie")
		}
		if strings.Contains(string(body), f.key.String()) {
			t.Error("watch page leaks the stream key")
		}
	})

	t.Run("replay boot has public cards only", func(t *testing.T) {
		_, body := get(t, base+"/replay/"+id)
		cards := bootOf(t, body)["cards"].([]any)
		if len(cards) != 1 {
			t.Fatalf("got %d cards, want the 1 non-VIP card", len(cards))
		}
		c := cards[0].(map[string]any)
		if c["offset_s"] != 10.0 || c["deal_price"] != 7500.0 || len(c["variants"].([]any)) != 2 {
			t.Errorf("card = %v", c)
		}
	})

	t.Run("home redirects to the drop", func(t *testing.T) {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/d/winter-run" {
			t.Errorf("status %d location %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

var assetRE = regexp.MustCompile(`/assets/([0-9a-f]{12})/js/watch\.js`)

func TestAssets(t *testing.T) {
	a, base := webApp(t)
	f := seed(t, a)
	_, page := get(t, base+"/watch/"+itoa(f.burst.ID))
	m := assetRE.FindSubmatch(page)
	if m == nil {
		t.Fatal("page has no versioned watch.js")
	}
	url := base + string(m[0])
	res, body := get(t, url)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("versioned asset Cache-Control %q", cc)
	}
	if !bytes.Contains(body, []byte("import")) {
		t.Error("watch.js is not the module")
	}
	etag := res.Header.Get("ETag")
	res, _ = get(t, url, "If-None-Match", etag)
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation status %d, want 304", res.StatusCode)
	}
	res, _ = get(t, base+"/assets/000000000000/js/watch.js")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("old version: status %d Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	res, gz := get(t, base+"/static/js/watch.js", "Accept-Encoding", "gzip")
	if res.Header.Get("Content-Encoding") != "gzip" || len(gz) >= len(body) {
		t.Errorf("gzip: encoding %q, %d bytes vs %d", res.Header.Get("Content-Encoding"), len(gz), len(body))
	}
	res, _ = get(t, base+"/static/js/nope.js")
	if res.StatusCode != 404 {
		t.Errorf("missing asset status %d", res.StatusCode)
	}
}

func TestCalendar(t *testing.T) {
	a, base := webApp(t)
	f := seed(t, a)
	res, body := get(t, base+"/d/winter-run/calendar.ics")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("status %d type %q: %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if !strings.Contains(res.Header.Get("Content-Disposition"), `filename="winter-run.ics"`) {
		t.Errorf("disposition %q", res.Header.Get("Content-Disposition"))
	}
	s := string(body)
	start := f.burst.ScheduledAt.UTC().Format("20060102T150405Z")
	end := f.burst.ScheduledAt.Add(15 * time.Minute).UTC().Format("20060102T150405Z")
	for _, want := range []string{"BEGIN:VCALENDAR\r\n", "VERSION:2.0\r\n", "BEGIN:VEVENT\r\n", "DTSTART:" + start + "\r\n", "DTEND:" + end + "\r\n",
		"UID:burst-" + itoa(f.burst.ID) + "@", "X-WR-CALNAME:Winter\\, Run\\; Capsule\r\n", "END:VCALENDAR\r\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("calendar lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "BEGIN:VEVENT"); n != 1 {
		t.Errorf("%d events, want 1", n)
	}

	res, one := get(t, base+"/d/winter-run/bursts/"+itoa(f.burst.ID)+"/calendar.ics")
	if res.StatusCode != 200 || !strings.Contains(string(one), "DTSTART:"+start) {
		t.Errorf("burst calendar: %d\n%s", res.StatusCode, one)
	}
	for _, p := range []string{"/d/nope/calendar.ics", "/d/winter-run/bursts/999999/calendar.ics", "/d/winter-run/bursts/x/calendar.ics"} {
		if res, _ := get(t, base+p); res.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", p, res.StatusCode)
		}
	}
}

func TestHostConsole(t *testing.T) {
	a, base := webApp(t)
	f := seed(t, a)
	other, otherKey, err := a.Drops.CreateBurst(t.Context(), f.drop.ID, drops.BurstInput{Title: "Other", Kind: drops.KindCollab, ScheduledAt: time.Now().Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	url := base + "/api/bursts/" + itoa(f.burst.ID) + "/console"
	for _, tc := range []struct {
		name   string
		auth   string
		status int
	}{
		{"stream key", "Bearer " + f.key.String(), 200},
		{"admin token", "Bearer " + testAdminToken, 200},
		{"no auth", "", 401},
		{"junk key", "Bearer nope", 401},
		{"another burst's key", "Bearer " + otherKey.String(), 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, url, "Authorization", tc.auth)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			var v struct {
				Burst struct{ ID string } `json:"burst"`
				Cards []struct {
					VIPOnly bool `json:"vip_only"`
				} `json:"cards"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			if v.Burst.ID != itoa(f.burst.ID) || len(v.Cards) != 2 || !v.Cards[1].VIPOnly {
				t.Errorf("console = %s", body)
			}
		})
	}
	_ = other
}

func jpegOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func post(t *testing.T, url, ctype string, body []byte, auth string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestImageUpload(t *testing.T) {
	a, base := webApp(t)
	f := seed(t, a)
	url := base + "/api/products/" + itoa(f.product.ID) + "/images"

	t.Run("rejects", func(t *testing.T) {
		var pngTiny bytes.Buffer
		if err := png.Encode(&pngTiny, image.NewRGBA(image.Rect(0, 0, 100, 100))); err != nil {
			t.Fatal(err)
		}
		gif := []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
		huge := append([]byte{}, jpegOf(t, 8, 8)[:20]...)
		// A PNG header claiming 60000x60000: refused from the header alone.
		bomb := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60, 8, 2, 0, 0, 0, 0, 0, 0, 0)
		for _, tc := range []struct {
			name, ctype string
			body        []byte
			auth        string
			status      int
		}{
			{"not an image", "image/jpeg", []byte("hello"), testAdminToken, 400},
			{"truncated jpeg", "image/jpeg", huge, testAdminToken, 400},
			{"gif", "image/png", gif, testAdminToken, 400},
			{"too narrow", "image/png", pngTiny.Bytes(), testAdminToken, 400},
			{"decompression bomb", "image/png", bomb, testAdminToken, 400},
			{"too large", "image/jpeg", make([]byte, catalog.MaxImageBytes+1), testAdminToken, 400},
			{"wrong type", "text/plain", []byte("x"), testAdminToken, 400},
			{"no token", "image/jpeg", jpegOf(t, 400, 300), "", 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, body := post(t, url, tc.ctype, tc.body, tc.auth)
				if res.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
				}
			})
		}
		p, err := a.Catalog.Product(t.Context(), f.product.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Images) != 0 {
			t.Errorf("refused uploads changed images: %v", p.Images)
		}
	})

	t.Run("variants", func(t *testing.T) {
		src := jpegOf(t, 1600, 1200)
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		mw.WriteField("note", "front")
		fw, _ := mw.CreateFormFile("image", "hoodie.jpg")
		fw.Write(src)
		mw.Close()
		res, body := post(t, url, mw.FormDataContentType(), form.Bytes(), testAdminToken)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("status %d: %s", res.StatusCode, body)
		}
		var out struct {
			Image   catalog.Image   `json:"image"`
			Product catalog.Product `json:"product"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Product.Images) != 1 || out.Product.Images[0] != out.Image.URL || !strings.HasSuffix(out.Image.URL, "-640.jpg") {
			t.Fatalf("product images %v, image %+v", out.Product.Images, out.Image)
		}
		for i, u := range out.Image.URLs {
			res, data := get(t, base+u)
			if res.StatusCode != 200 {
				t.Fatalf("%s: status %d", u, res.StatusCode)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("%s: Cache-Control %q", u, cc)
			}
			if res.Header.Get("Content-Type") != "image/jpeg" {
				t.Errorf("%s: type %q", u, res.Header.Get("Content-Type"))
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
			if err != nil || format != "jpeg" {
				t.Fatalf("%s: %v %s", u, err, format)
			}
			w := catalog.ImageWidths[i]
			if cfg.Width != w || cfg.Height != w*3/4 {
				t.Errorf("%s: %dx%d, want %dx%d", u, cfg.Width, cfg.Height, w, w*3/4)
			}
		}
		// The same upload again is recognised by its hash and not added twice.
		res, body = post(t, url, "image/jpeg", src, testAdminToken)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("second upload: %d %s", res.StatusCode, body)
		}
		p, _ := a.Catalog.Product(t.Context(), f.product.ID)
		if len(p.Images) != 1 {
			t.Errorf("images after re-upload: %v", p.Images)
		}
		for _, bad := range []string{"/images/../../etc/passwd", "/images/abc.jpg", "/images/0123456789abcdef0123-999.jpg"} {
			if res, _ := get(t, base+bad); res.StatusCode != 404 {
				t.Errorf("%s: status %d", bad, res.StatusCode)
			}
		}
	})
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
