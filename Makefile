# dropcast — see README.md. Every target runs on a fresh go-svc machine.
SHELL := /bin/bash
GO ?= go
BIN := bin/dropcast
DATA_DIR ?= ./data
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dropcast?sslmode=disable
export DATABASE_URL DATA_DIR

.PHONY: all build run test bench bench-media e2e lint fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/dropcast

# run: build, create and migrate the database, seed the demo drop, serve.
# ADMIN_TOKEN comes from the environment; when unset, a random one is kept in
# $(DATA_DIR)/admin-token (mode 0600) and used. Without STRIPE_SECRET_KEY it
# starts stripe-mock (the Go tool pinned in go.mod) on STRIPE_MOCK_PORT in the
# background, points checkout at it, and stops it when the server exits.
STRIPE_MOCK_PORT ?= 12111
run: build
	@mkdir -p $(DATA_DIR)
	@test -s $(DATA_DIR)/admin-token || (umask 077; head -c 24 /dev/urandom | base64 | tr '+/' '-_' > $(DATA_DIR)/admin-token)
	@export ADMIN_TOKEN=$${ADMIN_TOKEN:-$$(cat $(DATA_DIR)/admin-token)}; \
	  echo "admin token: $$ADMIN_TOKEN (export ADMIN_TOKEN=$$ADMIN_TOKEN to use the admin API)"; \
	  if [ -z "$$STRIPE_SECRET_KEY" ]; then \
	    mockbin=$$($(GO) tool -n stripe-mock) || exit 1; \
	    $$mockbin -http-addr 127.0.0.1:$(STRIPE_MOCK_PORT) -https-addr 127.0.0.1: >$(DATA_DIR)/stripe-mock.log 2>&1 & mock=$$!; \
	    trap 'kill $$mock 2>/dev/null' EXIT; \
	    export STRIPE_SECRET_KEY=sk_test_123 STRIPE_API_URL=http://127.0.0.1:$(STRIPE_MOCK_PORT); \
	    export STRIPE_WEBHOOK_SECRET=$${STRIPE_WEBHOOK_SECRET:-whsec_dropcast_dev}; \
	    echo "no STRIPE_SECRET_KEY: payments go to stripe-mock on 127.0.0.1:$(STRIPE_MOCK_PORT); pay with POST /api/shop/orders/ID/simulate-payment"; \
	  fi; \
	  ./$(BIN) migrate && ./$(BIN) demo && ./$(BIN) serve

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./...
	./scripts/bench-channel.sh 1000 10000
	./scripts/bench-flash.sh 10000
	$(MAKE) bench-media

# bench-media: live media load (server on core 0, publisher + WHEP viewers on
# core 1, loopback); figures in BENCHMARKS.md "## Live media".
bench-media:
	scripts/bench-media.sh 50 200

# e2e: real headless Chromium (Debian: apt-get install -y chromium) against
# the real app; screenshots land in screenshots/ and their paths are printed.
e2e:
	$(GO) test -tags e2e -count=1 -v -timeout 10m ./e2e/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
