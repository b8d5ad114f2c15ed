package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/ics"
)

// calendarAlarm reminds shoppers shortly before a burst goes live.
const calendarAlarm = 10 * time.Minute

func (s *Server) calendarEvent(d drops.Drop, b drops.Burst) ics.Event {
	host := "dropcast"
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	desc := d.Title + ": " + b.Title + "\nWatch and shop live: " + s.watchURL(b.ID)
	if b.Kind == drops.KindBackstage {
		desc += "\nBackstage set: a VIP pass is required."
	}
	return ics.Event{
		UID:         "burst-" + strconv.FormatInt(b.ID, 10) + "@" + host,
		Start:       b.ScheduledAt,
		End:         b.ScheduledAt.Add(b.MaxDuration()),
		Summary:     b.Title + " · " + d.Title,
		Description: desc,
		URL:         s.watchURL(b.ID),
		AlarmBefore: calendarAlarm,
	}
}

func (s *Server) writeCalendar(w http.ResponseWriter, filename string, cal ics.Calendar) error {
	cal.Stamp = time.Now()
	var buf bytes.Buffer
	if err := ics.Write(&buf, cal); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("Cache-Control", "no-cache")
	_, err := w.Write(buf.Bytes())
	return err
}

// dropCalendar answers GET /d/{drop}/calendar.ics: every burst of the drop.
func (s *Server) dropCalendar(w http.ResponseWriter, r *http.Request) error {
	d, err := s.drops.DropBySlug(r.Context(), r.PathValue("drop"))
	if err != nil {
		return err
	}
	bs, err := s.drops.ListBursts(r.Context(), d.ID)
	if err != nil {
		return err
	}
	cal := ics.Calendar{Name: d.Title}
	for _, b := range bs {
		cal.Events = append(cal.Events, s.calendarEvent(d, b))
	}
	return s.writeCalendar(w, d.Slug+".ics", cal)
}

// burstCalendar answers GET /d/{drop}/bursts/{burst}/calendar.ics: one burst.
func (s *Server) burstCalendar(w http.ResponseWriter, r *http.Request) error {
	d, err := s.drops.DropBySlug(r.Context(), r.PathValue("drop"))
	if err != nil {
		return err
	}
	id, err := pathID(r, "burst")
	if err != nil {
		return err
	}
	b, err := s.drops.Burst(r.Context(), id)
	if err != nil {
		return err
	}
	if b.DropID != d.ID {
		return apperr.Errorf(apperr.NotFound, "burst %d is not part of drop %s", id, d.Slug)
	}
	return s.writeCalendar(w, d.Slug+"-"+strconv.FormatInt(b.ID, 10)+".ics", ics.Calendar{Name: d.Title, Events: []ics.Event{s.calendarEvent(d, b)}})
}
