// Package client holds dropcast's web pages: HTML templates under pages/ and
// the plain ES modules, CSS and vendored libraries under static/, embedded in
// the binary. It has no build step; server renders the pages and serves the
// static files. It knows nothing of HTTP routing.
package client

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed pages/*.html
var pages embed.FS

//go:embed static
var static embed.FS

// Pages returns the page templates (pages/*.html).
func Pages() fs.FS { return pages }

// Static returns the static files, rooted at static/ (so "js/watch.js").
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// Version is a short content hash over every static file: it changes
// whenever any file does, so URLs that carry it can be cached for a year.
// Modules import each other by relative path, so one tree-wide hash keeps
// them consistent without rewriting imports.
func Version() (string, error) {
	root := Static()
	var names []string
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("walk static files: %w", err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(root, n)
		if err != nil {
			return "", fmt.Errorf("read static %s: %w", n, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
