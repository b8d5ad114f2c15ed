package server

import (
	"net/http"
	"time"
)

// readyTimeout bounds the database checks of /readyz.
const readyTimeout = 3 * time.Second

// routes registers every route. Patterns use the standard ServeMux syntax;
// each is also the "route" label of the HTTP metrics.
func (s *Server) routes() {
	s.handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.handle("GET /readyz", http.HandlerFunc(s.readyz))
	s.handle("GET /metrics", s.metricsHandler())

	// Drops. GET /api/drops/{ref} is public by slug or id; with the admin
	// token it answers the admin view.
	s.handleAPI("GET /api/drops", s.admin(s.listDrops))
	s.handleAPI("POST /api/drops", s.admin(s.createDrop))
	s.handleAPI("GET /api/drops/{ref}", s.getDrop)
	s.handleAPI("PATCH /api/drops/{id}", s.admin(s.updateDrop))

	// Products, variants and stock.
	s.handleAPI("GET /api/drops/{id}/products", s.admin(s.listProducts))
	s.handleAPI("POST /api/drops/{id}/products", s.admin(s.createProduct))
	s.handleAPI("GET /api/products/{id}", s.admin(s.getProduct))
	s.handleAPI("PATCH /api/products/{id}", s.admin(s.updateProduct))
	s.handleAPI("POST /api/products/{id}/variants", s.admin(s.addVariant))
	s.handleAPI("GET /api/variants/{id}", s.admin(s.getVariant))
	s.handleAPI("PATCH /api/variants/{id}", s.admin(s.updateVariant))

	// Bursts and stream keys.
	s.handleAPI("GET /api/drops/{id}/bursts", s.admin(s.listBursts))
	s.handleAPI("POST /api/drops/{id}/bursts", s.admin(s.createBurst))
	s.handleAPI("GET /api/bursts/{id}", s.admin(s.getBurst))
	s.handleAPI("PATCH /api/bursts/{id}", s.admin(s.updateBurst))
	s.handleAPI("POST /api/bursts/{id}/stream-key", s.admin(s.rotateStreamKey))

	// Run-of-show.
	s.handleAPI("GET /api/bursts/{id}/cards", s.admin(s.listCards))
	s.handleAPI("POST /api/bursts/{id}/cards", s.admin(s.createCard))
	s.handleAPI("PATCH /api/bursts/{id}/cards/{card}", s.admin(s.updateCard))
	s.handleAPI("DELETE /api/bursts/{id}/cards/{card}", s.admin(s.deleteCard))

	// VIP passes: issued per drop, they open backstage bursts and VIP cards.
	s.handleAPI("GET /api/drops/{id}/passes", s.admin(s.listPasses))
	s.handleAPI("POST /api/drops/{id}/passes", s.admin(s.createPass))
	s.handleAPI("POST /api/drops/{id}/passes/{pass}/revoke", s.admin(s.revokePass))
	s.handleAPI("GET /api/bursts/{id}/access", s.burstAccess)

	// Anonymous shopper identities for clients without cookies.
	s.handleAPI("POST /api/shoppers", s.createShopper)

	s.handleAPI("/api/", s.apiNotFound)
	s.routesChannel()
	s.routesCheckout()
	s.routesRecorder()
	s.routesKPI()
	s.routesWeb()
	s.routesMedia()
}
