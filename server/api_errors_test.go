package server

import (
	"net/http"
	"testing"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
)

// fixture makes a drop with one product and one burst and returns their ids.
func fixture(t *testing.T, e *testEnv) (dropID, productID, variantID, burstID string) {
	t.Helper()
	var d drops.Drop
	wantStatus(t, e.admin("POST", "/api/drops", dropBody("fx"), &d), http.StatusCreated)
	var p catalog.Product
	wantStatus(t, e.admin("POST", "/api/drops/"+itoa(d.ID)+"/products", productBody("FX"), &p), http.StatusCreated)
	var b drops.Burst
	wantStatus(t, e.admin("POST", "/api/drops/"+itoa(d.ID)+"/bursts", map[string]any{
		"title": "B", "kind": "headline", "scheduled_at": "2030-01-01T10:00:00Z", "max_duration_s": 600,
	}, &b), http.StatusCreated)
	return itoa(d.ID), itoa(p.ID), itoa(p.Variants[0].ID), itoa(b.ID)
}

func TestValidationErrors(t *testing.T) {
	e := newTestEnv(t)
	dropID, productID, variantID, burstID := fixture(t, e)
	with := func(base map[string]any, k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	drop := dropBody("valid-slug")
	product := productBody("VX")
	burst := map[string]any{"title": "B", "kind": "headline", "scheduled_at": "2030-01-01T10:00:00Z"}
	card := map[string]any{"product_id": productID, "offset_s": 10}
	cases := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"drop slug uppercase", "POST", "/api/drops", with(drop, "slug", "Bad"), "slug"},
		{"drop slug digits", "POST", "/api/drops", with(drop, "slug", "12345"), "slug"},
		{"drop title missing", "POST", "/api/drops", with(drop, "title", nil), "title"},
		{"drop no start", "POST", "/api/drops", with(drop, "starts_at", nil), "starts_at"},
		{"drop ends before start", "POST", "/api/drops", with(drop, "ends_at", "2029-12-31T00:00:00Z"), "ends_at"},
		{"drop currency", "POST", "/api/drops", with(drop, "currency", "usd"), "currency"},
		{"drop shipping country lowercase", "POST", "/api/drops", with(drop, "shipping_countries", []string{"US", "de"}), "shipping_countries"},
		{"drop shipping country twice", "POST", "/api/drops", with(drop, "shipping_countries", []string{"US", "US"}), "shipping_countries"},
		{"drop shipping country name", "POST", "/api/drops", with(drop, "shipping_countries", []string{"USA"}), "shipping_countries"},
		{"drop shipping country unassigned", "POST", "/api/drops", with(drop, "shipping_countries", []string{"ZZ"}), "shipping_countries"},
		{"drop shipping country reserved", "POST", "/api/drops", with(drop, "shipping_countries", []string{"UK"}), "shipping_countries"},
		{"drop bad time", "POST", "/api/drops", with(drop, "starts_at", "tomorrow"), ""},
		{"drop unknown field", "POST", "/api/drops", with(drop, "price", 3), "price"},
		{"drop wrong type", "POST", "/api/drops", with(drop, "title", 42), "title"},
		{"drop not json", "POST", "/api/drops", "{not json", ""},
		{"drop empty body", "POST", "/api/drops", "", ""},
		{"drop two objects", "POST", "/api/drops", `{"slug":"a"}{"slug":"b"}`, ""},
		{"product no variants", "POST", "/api/drops/" + dropID + "/products", with(product, "variants", []any{}), "variants"},
		{"product no title", "POST", "/api/drops/" + dropID + "/products", with(product, "title", " "), "title"},
		{"product bad image", "POST", "/api/drops/" + dropID + "/products", with(product, "images", []string{"javascript:alert(1)"}), "images[0]"},
		{"variant zero price", "POST", "/api/drops/" + dropID + "/products", with(product, "variants", []map[string]any{{"sku": "Z-1", "label": "S", "price": 0, "stock": 1}}), "variants[0].price"},
		{"variant negative stock", "POST", "/api/drops/" + dropID + "/products", with(product, "variants", []map[string]any{{"sku": "Z-1", "label": "S", "price": 10, "stock": -1}}), "variants[0].stock"},
		{"variant bad sku", "POST", "/api/drops/" + dropID + "/products", with(product, "variants", []map[string]any{{"sku": "has space", "label": "S", "price": 10}}), "variants[0].sku"},
		{"variant float price", "POST", "/api/drops/" + dropID + "/products", with(product, "variants", []map[string]any{{"sku": "Z-1", "label": "S", "price": 9.99}}), "variants.price"},
		{"patch variant negative stock", "PATCH", "/api/variants/" + variantID, map[string]any{"stock": -5}, "stock"},
		{"patch variant zero price", "PATCH", "/api/variants/" + variantID, map[string]any{"price": 0}, "price"},
		{"burst bad kind", "POST", "/api/drops/" + dropID + "/bursts", with(burst, "kind", "party"), "kind"},
		{"burst outside window", "POST", "/api/drops/" + dropID + "/bursts", with(burst, "scheduled_at", "2031-01-01T00:00:00Z"), "scheduled_at"},
		{"burst too short", "POST", "/api/drops/" + dropID + "/bursts", with(burst, "max_duration_s", 10), "max_duration_s"},
		{"card no product", "POST", "/api/bursts/" + burstID + "/cards", with(card, "product_id", nil), "product_id"},
		{"card negative offset", "POST", "/api/bursts/" + burstID + "/cards", with(card, "offset_s", -1), "offset_s"},
		{"card past burst end", "POST", "/api/bursts/" + burstID + "/cards", with(card, "offset_s", 600), "offset_s"},
		{"card deal not a deal", "POST", "/api/bursts/" + burstID + "/cards", with(card, "deal_price", 8900), "deal_price"},
		{"card foreign product", "POST", "/api/bursts/" + burstID + "/cards", with(card, "product_id", "999999"), "product_id"},
		{"card foreign variant", "POST", "/api/bursts/" + burstID + "/cards", with(card, "variant_id", "999999"), "variant_id"},
		{"card id not a string", "POST", "/api/bursts/" + burstID + "/cards", with(card, "product_id", 5), ""},
	}
	before := snapshot(t, e, dropID)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ae apiError
			resp := e.admin(tc.method, tc.path, tc.body, &ae)
			wantStatus(t, resp, http.StatusBadRequest)
			if ae.Error.Code != "invalid" || ae.Error.Message == "" {
				t.Fatalf("error body %+v", ae)
			}
			if tc.field != "" && ae.Error.Field != tc.field {
				t.Fatalf("field %q (%s), want %q", ae.Error.Field, ae.Error.Message, tc.field)
			}
		})
	}
	if after := snapshot(t, e, dropID); after != before {
		t.Fatalf("refused requests changed state:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot is the admin view of a drop, minus nothing: any change shows.
func snapshot(t *testing.T, e *testEnv, dropID string) string {
	t.Helper()
	resp := e.admin("GET", "/api/drops/"+dropID, nil, nil)
	wantStatus(t, resp, http.StatusOK)
	return readBody(t, resp)
}

func TestAuthFailures(t *testing.T) {
	e := newTestEnv(t)
	wantStatus(t, e.admin("POST", "/api/drops", dropBody("authz"), nil), http.StatusCreated)
	cases := []struct {
		name, method, path, header string
	}{
		{"no token list", "GET", "/api/drops", ""},
		{"wrong token", "GET", "/api/drops", "Bearer nope-nope-nope-nope"},
		{"wrong scheme", "GET", "/api/drops", "Basic " + testToken},
		{"token prefix", "GET", "/api/drops", "Bearer " + testToken[:len(testToken)-1]},
		{"no token create", "POST", "/api/drops", ""},
		{"no token burst", "GET", "/api/bursts/1", ""},
		{"no token rotate", "POST", "/api/bursts/1/stream-key", ""},
		{"public with wrong token", "GET", "/api/drops/authz", "Bearer wrong-token-wrong-token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, e.srv.URL+tc.path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
		})
	}
	// Without any token the drop is public.
	wantStatus(t, e.do("GET", "/api/drops/authz", "", nil, nil), http.StatusOK)
}

func TestConflictsAndUnknownIDs(t *testing.T) {
	e := newTestEnv(t)
	dropID, productID, _, burstID := fixture(t, e)

	var ae apiError
	wantStatus(t, e.admin("POST", "/api/drops", dropBody("fx"), &ae), http.StatusConflict)
	if ae.Error.Field != "slug" {
		t.Fatalf("duplicate slug field %q", ae.Error.Field)
	}
	wantStatus(t, e.admin("POST", "/api/drops/"+dropID+"/products", productBody("FX"), &ae), http.StatusConflict)
	if ae.Error.Field != "variants[0].sku" {
		t.Fatalf("duplicate sku field %q", ae.Error.Field)
	}
	dup := productBody("DUP")
	dup["variants"] = []map[string]any{{"sku": "DUP-1", "label": "S", "price": 10}, {"sku": "DUP-1", "label": "M", "price": 10}}
	wantStatus(t, e.admin("POST", "/api/drops/"+dropID+"/products", dup, nil), http.StatusConflict)
	wantStatus(t, e.admin("POST", "/api/products/"+productID+"/variants", map[string]any{"sku": "FX-S", "label": "S", "price": 10}, nil), http.StatusConflict)
	var other drops.Drop
	wantStatus(t, e.admin("POST", "/api/drops", dropBody("other"), &other), http.StatusCreated)
	wantStatus(t, e.admin("PATCH", "/api/drops/"+itoa(other.ID), map[string]any{"slug": "fx"}, nil), http.StatusConflict)

	for _, path := range []string{
		"/api/drops/999999", "/api/drops/no-such-drop", "/api/bursts/999999", "/api/bursts/abc",
		"/api/products/999999", "/api/variants/999999", "/api/bursts/999999/cards", "/api/drops/999999/bursts",
		"/api/drops/999999/products", "/api/nothing-here",
	} {
		t.Run(path, func(t *testing.T) {
			var ae apiError
			wantStatus(t, e.admin("GET", path, nil, &ae), http.StatusNotFound)
			if ae.Error.Code != "not_found" {
				t.Fatalf("code %q", ae.Error.Code)
			}
		})
	}
	wantStatus(t, e.admin("POST", "/api/drops/999999/products", productBody("NF"), nil), http.StatusNotFound)
	wantStatus(t, e.admin("POST", "/api/drops/999999/bursts", map[string]any{"title": "B", "kind": "headline", "scheduled_at": "2030-01-01T10:00:00Z"}, nil), http.StatusNotFound)
	wantStatus(t, e.admin("POST", "/api/bursts/999999/stream-key", nil, nil), http.StatusNotFound)
	wantStatus(t, e.admin("DELETE", "/api/bursts/"+burstID+"/cards/999999", nil, nil), http.StatusNotFound)
	wantStatus(t, e.admin("PATCH", "/api/variants/999999", map[string]any{"stock": 1}, nil), http.StatusNotFound)
}

func TestHealthAndMetrics(t *testing.T) {
	e := newTestEnv(t)
	wantStatus(t, e.do("GET", "/healthz", "", nil, nil), http.StatusOK)
	var ready map[string]string
	wantStatus(t, e.do("GET", "/readyz", "", nil, &ready), http.StatusOK)
	if ready["status"] != "ready" {
		t.Fatalf("readyz %v", ready)
	}
	e.do("GET", "/api/drops/none-such", "", nil, nil)
	resp := e.do("GET", "/metrics", "", nil, nil)
	wantStatus(t, resp, http.StatusOK)
	body := readBody(t, resp)
	for _, want := range []string{
		`dropcast_http_requests_total{code="404",method="GET",route="GET /api/drops/{ref}"} 1`,
		`dropcast_http_request_duration_seconds_bucket{route="GET /readyz"`,
	} {
		if !contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestShopperIdentity(t *testing.T) {
	e := newTestEnv(t)
	var got struct {
		ShopperID string `json:"shopper_id"`
		Token     string `json:"token"`
	}
	wantStatus(t, e.do("POST", "/api/shoppers", "", nil, &got), http.StatusCreated)
	if len(got.ShopperID) != 22 || got.Token == "" {
		t.Fatalf("shopper %+v", got)
	}
	var again struct {
		ShopperID string `json:"shopper_id"`
	}
	e.do("POST", "/api/shoppers", "", nil, &again)
	if again.ShopperID == got.ShopperID {
		t.Fatal("two shoppers got the same id")
	}
}
