package server

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dropcast/dropcast/checkout"
)

// exportHeader names the columns of GET /api/orders.csv: one row per item,
// the order's fields repeated on each.
var exportHeader = []string{
	"order_id", "status", "created_at", "paid_at", "drop_id", "burst_id", "card_id", "currency", "order_amount", "refunded_amount", "stock_short",
	"email", "name", "phone", "ship_name", "ship_line1", "ship_line2", "ship_city", "ship_state", "ship_postal_code", "ship_country",
	"sku", "product", "variant", "qty", "unit_price", "item_state",
}

// exportOrders answers GET /api/orders.csv (admin) with the same filters as
// GET /api/orders but every matching order (paged through internally,
// newest first): the sheet a label's fulfillment team works from. Text the
// customer typed is guarded against spreadsheet formula injection.
func (s *Server) exportOrders(w http.ResponseWriter, r *http.Request) error {
	if s.checkout == nil {
		return errCheckoutOff
	}
	f, err := orderFilter(r)
	if err != nil {
		return err
	}
	f.Limit = 1000
	page, err := s.checkout.ListOrders(r.Context(), f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="orders-%s.csv"`, time.Now().UTC().Format("20060102-150405")))
	cw := csv.NewWriter(w)
	if err := cw.Write(exportHeader); err != nil {
		return nil // the client went away
	}
	for len(page) > 0 {
		for _, o := range page {
			for _, row := range exportRows(o) {
				if err := cw.Write(row); err != nil {
					return nil
				}
			}
		}
		cw.Flush()
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].ID
		if page, err = s.checkout.ListOrders(r.Context(), f); err != nil {
			// Headers are out: end the body short and log; the client sees a
			// truncated file rather than a wrong one.
			s.log.Error("order export stopped", "err", err)
			return nil
		}
	}
	cw.Flush()
	return nil
}

// exportRows is o as CSV rows, one per item (one row without item fields
// for an order that has none).
func exportRows(o checkout.Order) [][]string {
	id := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	var c checkout.Customer
	var a checkout.Address
	if o.Customer != nil {
		c = *o.Customer
		if c.Shipping != nil {
			a = *c.Shipping
		}
	}
	head := []string{
		strconv.FormatInt(o.ID, 10), o.Status, o.CreatedAt.UTC().Format(time.RFC3339), at(o.PaidAt),
		strconv.FormatInt(o.DropID, 10), id(o.BurstID), id(o.CardID), o.Currency, strconv.FormatInt(o.Amount, 10),
		strconv.FormatInt(o.RefundedAmount, 10), strconv.FormatBool(o.StockShort),
		cell(c.Email), cell(c.Name), cell(c.Phone), cell(a.Name), cell(a.Line1), cell(a.Line2), cell(a.City), cell(a.State),
		cell(a.PostalCode), cell(a.Country),
	}
	if len(o.Items) == 0 {
		return [][]string{append(head, "", "", "", "", "", "")}
	}
	rows := make([][]string, 0, len(o.Items))
	for _, it := range o.Items {
		row := append([]string(nil), head...)
		rows = append(rows, append(row, cell(it.SKU), cell(it.Title), cell(it.Label), strconv.Itoa(it.Qty),
			strconv.FormatInt(it.UnitPrice, 10), it.State))
	}
	return rows
}

// cell keeps a spreadsheet from reading free text as a formula: a value that
// starts with =, +, -, @, a tab or a carriage return gets a leading quote.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
