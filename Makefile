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
build: web ## Build bin/kgate, with the web console embedded
	go build -ldflags "$(LDFLAGS)" -o $(KGATE) ./cmd/kgate

# The web console (web/): npm ci when the lockfile changes, then a
# production build into internal/webconsole/dist, which go:embed takes in.
# A plain `go build` or `go install` without it serves a page saying how to
# build the console.
WEB_DIST  := internal/webconsole/dist/index.html
WEB_SRC   := $(shell find web/src -type f 2>/dev/null) web/build.mjs web/package-lock.json

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

$(WEB_DIST): web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run --silent build

.PHONY: web
web: $(WEB_DIST) ## Build the web console (npm ci + esbuild) for embedding

.PHONY: web-test
web-test: web/node_modules/.package-lock.json ## Unit tests of the web console's own logic (node's test runner)
	cd web && npm test --silent

.PHONY: deps
deps: ## Install the system packages the local environment and tests need (Debian)
	@bash test/deps.sh

.PHONY: demo
demo: deps build env-tools ## Build everything, start the local environment (both clusters, test and prod) and take the tour
	@KGATE_ENV_CLUSTERS=2 bash test/env/up.sh
	@bash test/demo.sh

.PHONY: test
test: deps build lint check-generated unit web-test env-tools ## Unit tests, end-to-end tests against the real local environment, a release snapshot for this platform
	@bash test/e2e.sh
	@$(MAKE) --no-print-directory release-check RELEASE_TARGETS=host

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

.PHONY: completions
completions: ## Regenerate the shell completion scripts in completions/
	go run ./cmd/gendocs -only completions

.PHONY: man
man: ## Regenerate the man pages in man/ (read one with: man ./man/kgate-exec.1)
	go run ./cmd/gendocs -only man

.PHONY: check-generated
check-generated: ## Fail when completions/ or man/ differ from what the commands generate
	go run ./cmd/gendocs -check

# goreleaser, built from the Go module proxy into a git-ignored dir. v2.15.1 is
# the newest that builds here: v2.16+ need go.digitalxero.dev/go-msix, which
# the proxy refuses, and v2.18+ need Go 1.27.
GORELEASER_VERSION ?= v2.15.1
GORELEASER := $(CURDIR)/.cache/goreleaser-$(GORELEASER_VERSION)/goreleaser

$(GORELEASER):
	GOBIN=$(dir $@) go install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

# Every platform takes about 12 min on a cold 2-core machine, this one alone
# about 3; CI (CI set) builds this one only.
RELEASE_TARGETS ?= $(if $(CI),host,all)

.PHONY: release-check
release-check: $(GORELEASER) check-generated ## goreleaser check and a snapshot release in dist/ (RELEASE_TARGETS=host: this platform only)
	@GORELEASER=$(GORELEASER) RELEASE_TARGETS=$(RELEASE_TARGETS) bash test/release-check.sh

.PHONY: bench
bench: deps build env-tools ## Side-by-side benchmarks against kubectl v1.36.3 (starts the environment)
	@bash test/bench/run.sh

.PHONY: clean
clean:
	rm -rf bin dist web/node_modules test/artifacts
	find internal/webconsole/dist -mindepth 1 ! -name README.md -exec rm -rf {} +

.PHONY: help
help:
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'
