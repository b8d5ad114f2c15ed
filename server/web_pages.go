package server

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/client"
)

// pageNames are the templates in client/pages, each rendered inside layout.
var pageNames = []string{"watch", "host", "drop", "replay", "admin", "error"}

// webPages renders the HTML pages. Built once, then read only.
type webPages struct {
	assets *webAssets
	tmpl   map[string]*template.Template
}

func newWebPages(assets *webAssets) (*webPages, error) {
	p := &webPages{assets: assets, tmpl: map[string]*template.Template{}}
	funcs := template.FuncMap{"asset": assets.URL}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(client.Pages(), "pages/layout.html", "pages/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// pageData is what every page template gets.
type pageData struct {
	Page        string // template name; also the body class and the module to load
	Title       string
	Description string
	// Boot is JSON-encoded into <script type="application/json" id="boot">
	// for the page's module to read: ids, links and first state.
	Boot any
	// Preload lists the modules the page's module imports, fetched in
	// parallel instead of as a waterfall (see modulePreloads).
	Preload []string
	// Status and Message fill the error page.
	Status  int
	Message string
}

// modulePreloads are the modules each page's entry module imports, directly
// or not. client tests check the lists against the import statements.
var modulePreloads = map[string][]string{
	"watch":  {"js/util.js", "js/messages.js", "js/whep.js", "js/player.js", "js/channel.js", "js/cards.js", "js/cart.js"},
	"replay": {"js/util.js", "js/messages.js", "js/channel.js", "js/cards.js", "js/cart.js"},
	"drop":   {"js/util.js", "js/whep.js", "js/player.js"},
	"host":   {"js/util.js", "js/messages.js", "js/whep.js", "js/channel.js"},
	"admin":  {"js/util.js"},
}

// pageCSP keeps pages to their own scripts. Media may come from blob: (MSE
// in the replay player); images may be hosted anywhere over https.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; " +
	"media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"

func (p *webPages) render(w http.ResponseWriter, status int, d pageData) error {
	t, ok := p.tmpl[d.Page]
	if !ok {
		return fmt.Errorf("no page %q", d.Page)
	}
	if d.Preload == nil {
		d.Preload = modulePreloads[d.Page]
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		return fmt.Errorf("render page %s: %w", d.Page, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// pageFunc is a page handler that returns its error for pageError.
type pageFunc func(w http.ResponseWriter, r *http.Request) error

// handlePage registers a page; an error becomes a friendly HTML error page.
func (s *Server) handlePage(pattern string, fn pageFunc) {
	s.handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.pageError(w, r, err)
		}
	}))
}

func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment."
	if e, ok := errors.AsType[*apperr.Error](err); ok && statusOf(e.Code) < 500 {
		status = statusOf(e.Code)
		msg = "We couldn't find that page. The link may be old or mistyped."
		if status != http.StatusNotFound {
			msg = e.Message
		}
	} else {
		s.log.Error("page failed", "path", r.URL.Path, "err", err)
	}
	if rerr := s.web.render(w, status, pageData{Page: "error", Title: http.StatusText(status), Status: status, Message: msg}); rerr != nil {
		s.log.Error("render error page", "err", rerr)
	}
}
