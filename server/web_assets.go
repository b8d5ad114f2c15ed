package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/dropcast/dropcast/client"
)

// staticFile is one embedded client file, ready to serve.
type staticFile struct {
	body  []byte
	gzip  []byte // nil when compression does not pay
	etag  string
	ctype string
}

// webAssets serves the embedded client files. It is built once and read
// only afterwards, so it is safe for concurrent use.
type webAssets struct {
	version string
	files   map[string]*staticFile
}

// assetsPrefix is where versioned, immutable assets live:
// /assets/{version}/js/watch.js.
const assetsPrefix = "/assets/"

func newWebAssets() (*webAssets, error) {
	version, err := client.Version()
	if err != nil {
		return nil, err
	}
	a := &webAssets{version: version, files: map[string]*staticFile{}}
	root := client.Static()
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		f := &staticFile{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: contentType(p)}
		if compressible(f.ctype) && len(b) > 1024 {
			f.gzip = gzipBytes(b)
		}
		a.files[p] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load client files: %w", err)
	}
	return a, nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "svg") || strings.Contains(ctype, "json")
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(b)
	zw.Close()
	if buf.Len() >= len(b) {
		return nil
	}
	return buf.Bytes()
}

// URL is the versioned URL of a static file, cacheable for a year.
func (a *webAssets) URL(name string) string {
	return assetsPrefix + a.version + "/" + name
}

// serveVersioned answers GET /assets/{version}/{path...}. The current
// version is immutable; an older version (a page cached across a deploy)
// still gets the current file, revalidated by ETag rather than cached.
func (a *webAssets) serveVersioned(w http.ResponseWriter, r *http.Request) {
	cache := "no-cache"
	if r.PathValue("version") == a.version {
		cache = "public, max-age=31536000, immutable"
	}
	a.serve(w, r, r.PathValue("path"), cache)
}

// serveUnversioned answers GET /static/{path...}, revalidated by ETag.
func (a *webAssets) serveUnversioned(w http.ResponseWriter, r *http.Request) {
	a.serve(w, r, r.PathValue("path"), "no-cache")
}

func (a *webAssets) serve(w http.ResponseWriter, r *http.Request, name, cache string) {
	f, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	body := f.body
	etag := f.etag
	if f.gzip != nil && acceptsGzip(r) {
		body = f.gzip
		etag = strings.TrimSuffix(f.etag, `"`) + `-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
