package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
)

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) error {
	return apperr.Errorf(apperr.NotFound, "no route %s %s", r.Method, r.URL.Path)
}

func (s *Server) listDrops(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.drops.ListDrops(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"drops": ds})
	return nil
}

func (s *Server) createDrop(w http.ResponseWriter, r *http.Request) error {
	var in drops.DropInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	d, err := s.drops.CreateDrop(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/drops/"+strconv.FormatInt(d.ID, 10))
	writeJSON(w, http.StatusCreated, d)
	return nil
}

func (s *Server) updateDrop(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var p drops.DropPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	d, err := s.drops.UpdateDrop(r.Context(), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// getDrop answers GET /api/drops/{ref}, where ref is a slug or an id. Without
// credentials it is the public schedule; with the admin token it is the
// admin view; a wrong token is refused rather than silently downgraded.
func (s *Server) getDrop(w http.ResponseWriter, r *http.Request) error {
	if _, hasAuth := bearer(r); hasAuth || r.Header.Get("Authorization") != "" {
		if !s.isAdmin(r) {
			return errUnauthorized
		}
		return s.adminDrop(w, r)
	}
	return s.publicDrop(w, r)
}

func (s *Server) dropByRef(r *http.Request) (drops.Drop, error) {
	ref := r.PathValue("ref")
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return s.drops.Drop(r.Context(), id)
	}
	return s.drops.DropBySlug(r.Context(), ref)
}

// adminDropView is a drop with its bursts and products.
type adminDropView struct {
	drops.Drop
	Bursts   []burstView       `json:"bursts"`
	Products []catalog.Product `json:"products"`
}

// loadDrop reads the drop named by the request with its bursts and products.
func (s *Server) loadDrop(r *http.Request) (drops.Drop, []drops.Burst, []catalog.Product, error) {
	d, err := s.dropByRef(r)
	if err != nil {
		return drops.Drop{}, nil, nil, err
	}
	bs, err := s.drops.ListBursts(r.Context(), d.ID)
	if err != nil {
		return drops.Drop{}, nil, nil, err
	}
	ps, err := s.catalog.ListProducts(r.Context(), d.ID)
	if err != nil {
		return drops.Drop{}, nil, nil, err
	}
	return d, bs, ps, nil
}

func (s *Server) adminDrop(w http.ResponseWriter, r *http.Request) error {
	d, bs, ps, err := s.loadDrop(r)
	if err != nil {
		return err
	}
	views := make([]burstView, len(bs))
	for i, b := range bs {
		views[i] = s.burstView(b)
	}
	writeJSON(w, http.StatusOK, adminDropView{Drop: d, Bursts: views, Products: ps})
	return nil
}

// The public schedule: what a shopper's page or a third party may read. It
// never carries stream keys, SKUs' internals or timestamps of edits.
type publicDropView struct {
	Drop     publicDrop      `json:"drop"`
	Bursts   []publicBurst   `json:"bursts"`
	Products []publicProduct `json:"products"`
	Now      time.Time       `json:"server_time"`
}

type publicDrop struct {
	ID          int64     `json:"id,string"`
	Slug        string    `json:"slug"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Currency    string    `json:"currency"`
	URL         string    `json:"url"`
}

type publicBurst struct {
	ID           int64       `json:"id,string"`
	Title        string      `json:"title"`
	Kind         drops.Kind  `json:"kind"`
	State        drops.State `json:"state"`
	ScheduledAt  time.Time   `json:"scheduled_at"`
	MaxDurationS int         `json:"max_duration_s"`
	LiveAt       *time.Time  `json:"live_at"`
	EndedAt      *time.Time  `json:"ended_at"`
	VIPOnly      bool        `json:"vip_only"`
	WatchURL     string      `json:"watch_url"`
}

type publicProduct struct {
	ID          int64           `json:"id,string"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Images      []string        `json:"images"`
	Variants    []publicVariant `json:"variants"`
}

type publicVariant struct {
	ID        int64  `json:"id,string"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
	Available int    `json:"available"`
}

func (s *Server) publicDrop(w http.ResponseWriter, r *http.Request) error {
	d, bs, ps, err := s.loadDrop(r)
	if err != nil {
		return err
	}
	v := publicDropView{
		Drop: publicDrop{ID: d.ID, Slug: d.Slug, Title: d.Title, Description: d.Description,
			StartsAt: d.StartsAt, EndsAt: d.EndsAt, Currency: d.Currency, URL: s.cfg.PublicURL + "/d/" + d.Slug},
		Bursts:   make([]publicBurst, len(bs)),
		Products: make([]publicProduct, len(ps)),
		Now:      time.Now().UTC(),
	}
	for i, b := range bs {
		v.Bursts[i] = publicBurst{ID: b.ID, Title: b.Title, Kind: b.Kind, State: b.State, ScheduledAt: b.ScheduledAt,
			MaxDurationS: b.MaxDurationS, LiveAt: b.LiveAt, EndedAt: b.EndedAt, VIPOnly: b.Kind == drops.KindBackstage,
			WatchURL: s.watchURL(b.ID)}
	}
	for i, p := range ps {
		pv := publicProduct{ID: p.ID, Title: p.Title, Description: p.Description, Images: p.Images,
			Variants: make([]publicVariant, len(p.Variants))}
		for j, vr := range p.Variants {
			pv.Variants[j] = publicVariant{ID: vr.ID, Label: vr.Label, Price: vr.Price, Available: vr.Available}
		}
		v.Products[i] = pv
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, v)
	return nil
}
