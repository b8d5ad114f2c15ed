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
# $(DATA_DIR)/admin-token (mode 0600) and used.
run: build
	@mkdir -p $(DATA_DIR)
	@test -s $(DATA_DIR)/admin-token || (umask 077; head -c 24 /dev/urandom | base64 | tr '+/' '-_' > $(DATA_DIR)/admin-token)
	@export ADMIN_TOKEN=$${ADMIN_TOKEN:-$$(cat $(DATA_DIR)/admin-token)}; \
	  echo "admin token: $$ADMIN_TOKEN (export ADMIN_TOKEN=$$ADMIN_TOKEN to use the admin API)"; \
	  ./$(BIN) migrate && ./$(BIN) demo && exec ./$(BIN) serve

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./...
	$(MAKE) bench-media

# bench-media: live media load (server on core 0, publisher + WHEP viewers on
# core 1, loopback); figures in BENCHMARKS.md "## Live media".
bench-media:
	scripts/bench-media.sh 50 200

e2e:
	@echo "e2e: no end-to-end browser suite yet"

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
