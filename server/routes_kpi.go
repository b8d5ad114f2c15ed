package server

import "net/http"

// routesKPI registers the KPI reports: a burst's for its host (stream key)
// or the admin, a drop's for the admin.
func (s *Server) routesKPI() {
	if s.kpis == nil {
		return
	}
	s.handleAPI("GET /api/bursts/{id}/kpis", s.burstHost(s.burstKPIs))
	s.handleAPI("GET /api/drops/{id}/kpis", s.admin(s.dropKPIs))
}

func (s *Server) burstKPIs(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rep, err := s.kpis.Burst(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) dropKPIs(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rep, err := s.kpis.Drop(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
