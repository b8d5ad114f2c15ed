package server

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/catalog"
)

func (s *Server) routesImages() {
	if s.images == nil {
		return
	}
	s.handleAPI("POST /api/products/{id}/images", s.admin(s.uploadImage))
	s.handleAPI("GET /images/{name}", s.serveImage)
}

// uploadImage answers POST /api/products/{id}/images: the body is a JPEG or
// PNG, either raw (Content-Type image/jpeg or image/png) or as the first
// file of a multipart form. It stores the responsive variants once and adds
// the 640-wide one to the product's images.
func (s *Server) uploadImage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.catalog.Product(r.Context(), id); err != nil {
		return err
	}
	data, err := readImageBody(w, r)
	if err != nil {
		return err
	}
	img, err := s.images.Put(r.Context(), data)
	if err != nil {
		return err
	}
	p, err := s.catalog.AddImage(r.Context(), id, img.URL)
	if err != nil {
		return err
	}
	s.log.Info("product image stored", "product_id", id, "image", img.Hash)
	writeJSON(w, http.StatusCreated, map[string]any{"image": img, "product": p})
	return nil
}

func readImageBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, catalog.MaxImageBytes+64<<10)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var src io.Reader = body
	switch {
	case mt == "image/jpeg" || mt == "image/png" || mt == "application/octet-stream":
	case strings.HasPrefix(mt, "multipart/"):
		if params["boundary"] == "" {
			return nil, apperr.InvalidField("image", "multipart body without a boundary")
		}
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, apperr.InvalidField("image", "malformed multipart body: %v", err)
		}
		part, err := nextFilePart(mr)
		if err != nil {
			return nil, err
		}
		src = part
	default:
		return nil, apperr.InvalidField("image", "send image/jpeg, image/png or multipart/form-data, not %q", mt)
	}
	data, err := io.ReadAll(src)
	if err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			return nil, apperr.InvalidField("image", "is larger than %d bytes", catalog.MaxImageBytes)
		}
		return nil, apperr.InvalidField("image", "reading the upload: %v", err)
	}
	if len(data) > catalog.MaxImageBytes {
		return nil, apperr.InvalidField("image", "is larger than %d bytes", catalog.MaxImageBytes)
	}
	return data, nil
}

// nextFilePart returns the first part of a multipart form that is a file.
func nextFilePart(mr *multipart.Reader) (*multipart.Part, error) {
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, apperr.InvalidField("image", "the form holds no file")
		}
		if p.FileName() != "" {
			return p, nil
		}
	}
}

// serveImage answers GET /images/{name}: a variant, cacheable forever.
func (s *Server) serveImage(w http.ResponseWriter, r *http.Request) error {
	f, err := s.images.Open(r.PathValue("name"))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+strings.TrimSuffix(r.PathValue("name"), ".jpg")+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}
