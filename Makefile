# Candor — make targets. `make help` lists them.
GO        ?= go
BIN       ?= bin
DEMO      ?= demo
PKGS      ?= ./...
FUZZTIME  ?= 60s
FUZZMINIMIZETIME ?= 1s
BENCHTIME ?= 1x

.PHONY: help build test test-short run bench fuzz lint image clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/candor and bin/candor-inbox
	$(GO) build -trimpath -o $(BIN)/ ./cmd/...

test: ## run every test (race detector on; tor, Chromium and the age CLI are used when installed)
	$(GO) test -race -timeout 25m $(PKGS)

test-short: ## quick tests only (no tor network, no browser)
	$(GO) test -short $(PKGS)

run: build ## build and start Candor on its embedded defaults with a demo reviewer in ./demo
	$(BIN)/candor demo --dir $(DEMO)

bench: ## run every benchmark once (figures in docs/performance.md)
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 60m $(PKGS)

fuzz: ## run every fuzz target of every package for FUZZTIME each (default 60s)
	@set -e; n=0; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; n=$$((n+1)); \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; \
	  done; \
	done; echo "ran $$n fuzz targets for $(FUZZTIME) each"

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 $(PKGS)

clean: ## remove build outputs and the demo directory
	rm -rf $(BIN) $(DEMO)
