package checkout_test

import "github.com/stripe/stripe-go/v79"

func apiVersion() string { return stripe.APIVersion }
