# kgate: the two commands a new user runs are `make demo` and `make test`.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := build

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X github.com/kgate/kgate/internal/build.Version=$(VERSION) \
           -X github.com/kgate/kgate/internal/build.Commit=$(COMMIT) \
           -X github.com/kgate/kgate/internal/build.Date=$(DATE)
KGATE   := $(CURDIR)/bin/kgate

include test/env/env.mk

.PHONY: build
build: ## Build bin/kgate
	go build -ldflags "$(LDFLAGS)" -o $(KGATE) ./cmd/kgate

.PHONY: deps
deps: ## Install the system packages the local environment and tests need (Debian)
	@bash test/deps.sh

.PHONY: demo
demo: deps build env-up ## Build everything, start the local environment and take the tour
	@bash test/demo.sh

.PHONY: test
test: deps build lint unit env-tools ## Unit tests, then end-to-end tests against the real local environment
	@bash test/e2e.sh

.PHONY: unit
unit: ## Fast unit tests
	go test -count=1 ./cmd/... ./internal/...

.PHONY: e2e
e2e: build env-tools ## End-to-end tests only (starts and stops the environment)
	@bash test/e2e.sh

.PHONY: lint
lint: ## gofmt and go vet
	@out="$$(gofmt -l cmd internal test)"; if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	cd test/tools && go vet ./...

.PHONY: bench
bench: deps build env-tools ## Side-by-side benchmarks against kubectl v1.36.3 (starts the environment)
	@bash test/bench/run.sh

.PHONY: clean
clean:
	rm -rf bin dist

.PHONY: help
help:
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'
