# Candor — make targets. `make help` lists them.
GO        ?= go
BIN       ?= bin
DEMO      ?= demo
PKGS      ?= ./...
FUZZTIME  ?= 60s
FUZZMINIMIZETIME ?= 1s
BENCHTIME ?= 1x

.PHONY: help build test test-short run run-dev bench bench-short fuzz lint image clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/candor and bin/candor-inbox
	$(GO) build -trimpath -o $(BIN)/ ./cmd/...

test: ## run every test (race detector on, except the load and memory tests of ./reliability, whose figures the race detector distorts)
	$(GO) test -race -timeout 25m $$($(GO) list $(PKGS) | grep -v '/reliability$$')
	$(GO) test -timeout 25m ./reliability

test-short: ## quick tests only (no tor network, no browser)
	$(GO) test -short $(PKGS)

run: build ## start Candor with a demo reviewer in ./demo, as an onion service when tor is installed
	$(BIN)/candor demo --dir $(DEMO)

run-dev: build ## start the same demo WITHOUT tor on http://127.0.0.1:8080 (never starts tor; development only)
	$(BIN)/candor demo --dir $(DEMO) --dev-listen 127.0.0.1:8080

bench: ## run every benchmark once (figures in docs/performance.md)
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 60m $(PKGS)

bench-short: ## run every benchmark once on small inputs (-short): a check that none has rotted, not figures
	$(GO) test -short -run '^$$' -bench . -benchtime 1x -timeout 20m $(PKGS)

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
	@if command -v staticcheck >/dev/null; then staticcheck $(PKGS); else $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 $(PKGS); fi

image: ## build the container image from the Dockerfile with buildah and smoke-test it (needs root, buildah, podman, debootstrap)
	./.ci/image

clean: ## remove build outputs and the demo directory
	rm -rf $(BIN) $(DEMO)
