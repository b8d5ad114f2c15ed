package server

import (
	"net/http"
	"strconv"

	"github.com/dropcast/dropcast/catalog"
)

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.drops.Drop(r.Context(), id); err != nil {
		return err
	}
	ps, err := s.catalog.ListProducts(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"products": ps})
	return nil
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in catalog.ProductInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := s.catalog.CreateProduct(r.Context(), id, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/products/"+strconv.FormatInt(p.ID, 10))
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.catalog.Product(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) updateProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var p catalog.ProductPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	out, err := s.catalog.UpdateProduct(r.Context(), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addVariant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in catalog.VariantInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := s.catalog.AddVariant(r.Context(), id, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/variants/"+strconv.FormatInt(v.ID, 10))
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) getVariant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := s.catalog.Variant(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) updateVariant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var p catalog.VariantPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	v, err := s.catalog.UpdateVariant(r.Context(), id, p)
	if err != nil {
		return err
	}
	if p.Stock != nil && s.checkout != nil {
		s.checkout.StockChanged(v.ID) // broadcast the new count to shoppers
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
