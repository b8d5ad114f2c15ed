package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/dropcast/dropcast/drops"
)

// routesWeb registers the web client: pages, their static files, calendar
// files, the host console API and product images.
func (s *Server) routesWeb() {
	s.handle("GET /assets/{version}/{path...}", http.HandlerFunc(s.web.assets.serveVersioned))
	s.handle("GET /static/{path...}", http.HandlerFunc(s.web.assets.serveUnversioned))

	s.handlePage("GET /{$}", s.homePage)
	s.handlePage("GET /watch/{burst}", s.watchPage)
	s.handlePage("GET /host/{burst}", s.hostPage)
	s.handlePage("GET /replay/{burst}", s.replayPage)
	s.handlePage("GET /d/{drop}", s.dropPage)
	s.handlePage("GET /admin", s.adminPage)
	s.handleAPI("GET /d/{drop}/calendar.ics", s.dropCalendar)
	s.handleAPI("GET /d/{drop}/bursts/{burst}/calendar.ics", s.burstCalendar)

	// The host console reads its run-of-show with the admin token or the
	// burst's own stream key.
	s.handleAPI("GET /api/bursts/{id}/console", s.hostConsole)

	s.routesImages()
}

// burstForPage loads the burst of the {burst} path value and its drop.
func (s *Server) burstForPage(r *http.Request) (drops.Burst, drops.Drop, error) {
	id, err := pathID(r, "burst")
	if err != nil {
		return drops.Burst{}, drops.Drop{}, err
	}
	b, err := s.drops.Burst(r.Context(), id)
	if err != nil {
		return drops.Burst{}, drops.Drop{}, err
	}
	d, err := s.drops.Drop(r.Context(), b.DropID)
	return b, d, err
}

// shopperPage loads what the watch and replay pages share: the burst and its
// drop, the shopper cookie (the page's websocket and shop calls carry it)
// and the boot data with the run-of-show.
func (s *Server) shopperPage(w http.ResponseWriter, r *http.Request) (drops.Burst, drops.Drop, burstBoot, error) {
	b, d, err := s.burstForPage(r)
	if err != nil {
		return b, d, burstBoot{}, err
	}
	if _, _, _, err := s.shopperFrom(w, r); err != nil {
		return b, d, burstBoot{}, err
	}
	boot := s.burstBoot(b, d)
	if boot.Cards, err = s.runOfShow(r.Context(), b, false); err != nil {
		return b, d, burstBoot{}, err
	}
	return b, d, boot, nil
}

func (s *Server) watchPage(w http.ResponseWriter, r *http.Request) error {
	b, d, boot, err := s.shopperPage(w, r)
	if err != nil {
		return err
	}
	return s.web.render(w, http.StatusOK, pageData{Page: "watch", Title: b.Title + " · " + d.Title,
		Description: "Watch live and shop the drop: " + d.Title, Boot: boot})
}

func (s *Server) replayPage(w http.ResponseWriter, r *http.Request) error {
	b, d, boot, err := s.shopperPage(w, r)
	if err != nil {
		return err
	}
	return s.web.render(w, http.StatusOK, pageData{Page: "replay", Title: "Replay: " + b.Title + " · " + d.Title,
		Description: "Replay " + b.Title + " and shop what was shown.", Boot: boot})
}

func (s *Server) hostPage(w http.ResponseWriter, r *http.Request) error {
	b, d, err := s.burstForPage(r)
	if err != nil {
		return err
	}
	boot := s.burstBoot(b, d)
	id := strconv.FormatInt(b.ID, 10)
	boot.Links["whip"] = "/whip"
	boot.Links["whip_public"] = s.cfg.PublicURL + "/whip"
	boot.Links["console"] = "/api/bursts/" + id + "/console"
	boot.Links["kpis"] = "/api/bursts/" + id + "/kpis"
	boot.Links["card_action"] = "/api/bursts/" + id + "/cards/{card}/{action}"
	boot.Links["watch_public"] = s.watchURL(b.ID)
	if base := s.RTSPBase(); base != "" {
		boot.Links["rtsp"] = base
	}
	return s.web.render(w, http.StatusOK, pageData{Page: "host", Title: "Host: " + b.Title, Boot: boot})
}

// dropBoot is the drop page's boot data; the page reads the schedule from
// the public drop API and refreshes it.
type dropBoot struct {
	Drop       bootDrop          `json:"drop"`
	ServerTime time.Time         `json:"server_time"`
	Links      map[string]string `json:"links"`
}

func (s *Server) dropPage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.drops.DropBySlug(r.Context(), r.PathValue("drop"))
	if err != nil {
		return err
	}
	if _, _, _, err := s.shopperFrom(w, r); err != nil {
		return err
	}
	boot := dropBoot{
		Drop:       bootDrop{ID: d.ID, Slug: d.Slug, Title: d.Title, Currency: d.Currency},
		ServerTime: time.Now().UTC(),
		Links: map[string]string{
			"api":            "/api/drops/" + d.Slug,
			"calendar":       "/d/" + d.Slug + "/calendar.ics",
			"burst_calendar": "/d/" + d.Slug + "/bursts/{burst}/calendar.ics",
			"watch":          "/watch/{burst}",
			"replay":         "/replay/{burst}",
			"whep":           "/whep/{burst}",
		},
	}
	return s.web.render(w, http.StatusOK, pageData{Page: "drop", Title: d.Title, Description: d.Description, Boot: boot})
}

func (s *Server) adminPage(w http.ResponseWriter, r *http.Request) error {
	return s.web.render(w, http.StatusOK, pageData{Page: "admin", Title: "dropcast admin"})
}

// homePage sends visitors to the most recent drop, or the admin page when
// there is none.
func (s *Server) homePage(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.drops.ListDrops(r.Context())
	if err != nil {
		return err
	}
	target := "/admin"
	if len(ds) > 0 {
		latest := ds[0]
		for _, d := range ds[1:] {
			if d.StartsAt.After(latest.StartsAt) {
				latest = d
			}
		}
		target = "/d/" + latest.Slug
	}
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}
