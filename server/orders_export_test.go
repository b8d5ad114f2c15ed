package server_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/checkout/checkouttest"
	"github.com/dropcast/dropcast/drops"
)

// TestOrdersExport pays two orders of a drop that ships — one through the
// development simulator, one through a signed webhook whose customer typed a
// formula as their name — and reads them back as the fulfillment CSV.
func TestOrdersExport(t *testing.T) {
	a := startApp(t, "sk_test_123")
	fx := checkouttest.NewFixture(t, a.Pool(), 0, 10, 10)
	ships := []string{"US", "CA"}
	_, err := a.Drops.UpdateDrop(t.Context(), fx.Drop.ID, drops.DropPatch{ShippingCountries: &ships})
	require.NoError(t, err)
	base := "http://" + a.Addr()
	anon := shopClient{t: t, base: base}
	burst := fmt.Sprint(fx.Burst.ID)

	buyer := func() shopClient {
		code, sh := anon.do("POST", "/api/shoppers", nil, false)
		require.Equal(t, http.StatusCreated, code)
		return shopClient{t: t, base: base, token: sh["token"].(string)}
	}
	checkoutOf := func(c shopClient, items ...[2]any) int64 {
		for _, it := range items {
			code, cart := c.do("POST", "/api/shop/bursts/"+burst+"/cart", map[string]any{"variant": fmt.Sprint(it[0]), "qty": it[1]}, false)
			require.Equal(t, http.StatusOK, code, "%v", cart)
		}
		code, co := c.do("POST", "/api/shop/bursts/"+burst+"/checkout", nil, false)
		require.Equal(t, http.StatusOK, code, "%v", co)
		var id int64
		fmt.Sscan(co["order_id"].(string), &id)
		return id
	}

	ana := buyer()
	first := checkoutOf(ana, [2]any{fx.Variants[0].ID, 2}, [2]any{fx.Variants[1].ID, 1})
	code, sim := ana.do("POST", fmt.Sprintf("/api/shop/orders/%d/simulate-payment", first), nil, false)
	require.Equal(t, http.StatusOK, code, "%v", sim)

	bo := buyer()
	second := checkoutOf(bo, [2]any{fx.Variants[0].ID, 1})
	o, err := a.Checkout.Order(t.Context(), second)
	require.NoError(t, err)
	payload := checkout.SessionEvent{EventID: "evt_export", Type: "checkout.session.completed", SessionID: o.StripeSessionID,
		OrderID: second, PaymentStatus: "paid", AmountTotal: o.Amount, Currency: o.Currency, Created: time.Now(),
		Customer: &checkout.Customer{Email: "bo@example.com", Name: `=HYPERLINK("http://evil.example","x")`,
			Shipping: &checkout.Address{Name: "Bo", Line1: "1 Rue X", City: "Montréal", State: "QC", PostalCode: "H2X 1Y4", Country: "CA"}}}.JSON()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Stripe-Signature", checkout.SignEvent(payload, whsec, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// A pending order is not in a paid export.
	checkoutOf(buyer(), [2]any{fx.Variants[1].ID, 1})

	get := func(path string, admin bool) (int, string, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
		if admin {
			req.Header.Set("Authorization", "Bearer "+adminToken)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), body
	}
	code, ctype, body := get(fmt.Sprintf("/api/orders.csv?drop=%d&status=paid", fx.Drop.ID), true)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.Equal(t, "text/csv; charset=utf-8", ctype)
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+3, "header and one row per item of the two paid orders:\n%s", body)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	byOrder := map[string][][]string{}
	for _, r := range rows[1:] {
		byOrder[r[col["order_id"]]] = append(byOrder[r[col["order_id"]]], r)
	}
	anaRows, boRows := byOrder[fmt.Sprint(first)], byOrder[fmt.Sprint(second)]
	require.Len(t, anaRows, 2)
	require.Len(t, boRows, 1)
	require.Equal(t, "shopper@example.com", anaRows[0][col["email"]])
	require.Equal(t, "US", anaRows[0][col["ship_country"]])
	require.Equal(t, "2", anaRows[0][col["qty"]])
	require.Equal(t, "sold", anaRows[0][col["item_state"]])
	require.Equal(t, "paid", anaRows[0][col["status"]])
	require.Equal(t, `'=HYPERLINK("http://evil.example","x")`, boRows[0][col["name"]], "a formula must not reach the sheet as one")
	require.Equal(t, "Montréal", boRows[0][col["ship_city"]])
	require.Equal(t, burst, boRows[0][col["burst_id"]])

	code, _, _ = get(fmt.Sprintf("/api/orders.csv?drop=%d", fx.Drop.ID), false)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _, body = get("/api/orders.csv?status=shipped", true)
	require.Equal(t, http.StatusBadRequest, code)
	require.True(t, strings.Contains(string(body), "status"), "%s", body)
}
