package checkout_test

import (
	"testing"
	"time"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/checkout"
)

// FuzzWebhook feeds arbitrary bodies, signed with the endpoint secret or
// not, to the webhook against a real database: it answers invalid or
// applies the event, never anything else, never panics, and never accepts
// an unsigned body. (TestWebhookRefusals checks that refusals change
// nothing.)
func FuzzWebhook(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","object":"event","api_version":"`+apiVersion()+`","type":"checkout.session.completed","data":{"object":{"id":"cs_1","object":"checkout.session","metadata":{"order_id":"1"},"payment_status":"paid"}}}`), true)
	f.Add([]byte(`{"id":"evt_2","api_version":"`+apiVersion()+`","type":"checkout.session.expired","data":{"object":[]}}`), true)
	f.Add([]byte(`{}`), false)
	f.Add([]byte(`not json`), true)
	e := newEnv(f, 0, []int{5}, nil) // shared: events with new ids only ever add rows
	f.Fuzz(func(t *testing.T, body []byte, sign bool) {
		header := "t=1,v1=00"
		if sign {
			header = checkout.SignEvent(body, webhookSecret, time.Now())
		}
		_, err := e.svc.HandleWebhook(t.Context(), body, header)
		if err != nil && apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("unexpected error %v", err)
		}
		if !sign && err == nil {
			t.Fatal("an unsigned body was accepted")
		}
	})
}
