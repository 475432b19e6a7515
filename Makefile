# fleetsim — run `make` for the list of targets.
GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME      ?= 10s
BENCHTIME     ?= 2s
TESTFLAGS     ?=
PKGS          := ./...

.DEFAULT_GOAL := help
.PHONY: help build image test unit scenarios screenshots bench fuzz lint tidy-check generate clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/fleetsim
	$(GO) build -o bin/fleetsim ./cmd/fleetsim

# The container image, assembled offline (no container engine): static
# binaries per platform, an OCI layout in bin/image/oci and a docker-archive
# tarball per platform (docker load / podman load -i bin/image/fleetsim-linux-amd64.tar).
# Timestamps come from SOURCE_DATE_EPOCH (the commit's time by default):
# the same commit gives the same digests.
IMAGE_TAG         ?= fleetsim:dev
IMAGE_ARCHS       ?= amd64 arm64
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
VERSION           ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION          ?= $(shell git rev-parse HEAD 2>/dev/null)
LICENSES          ?= Apache-2.0

image: ## container image without a daemon: OCI layout and docker-archive tarballs in bin/image (IMAGE_TAG, IMAGE_ARCHS)
	@set -e; for a in $(IMAGE_ARCHS); do \
	  echo "go build linux/$$a"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -buildvcs=auto -ldflags='-s -w' -o bin/linux-$$a/fleetsim ./cmd/fleetsim; \
	done
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./deploy/ociimage -out bin/image -tag $(IMAGE_TAG) \
	  -version $(VERSION) -revision $(REVISION) -licenses $(LICENSES) \
	  $(foreach a,$(IMAGE_ARCHS),-bin linux/$(a)=bin/linux-$(a)/fleetsim)

test: lint tidy-check unit scenarios ## lint, tidy-check, every test with -race, every shipped scenario

REPORTS ?= $(CURDIR)/.reports

scenarios: ## run every scenario in scenarios/ as a user would, JUnit, JSON and HTML reports in REPORTS
	@mkdir -p $(REPORTS)
	$(GO) build -o $(REPORTS)/fleetsim ./cmd/fleetsim
	@set -e; for f in scenarios/*.yaml; do \
	  n=$$(basename $$f .yaml); \
	  $(REPORTS)/fleetsim run --quiet --junit $(REPORTS)/$$n.xml --json $(REPORTS)/$$n.json --html $(REPORTS)/$$n.html $$f; \
	done

screenshots: ## regenerate docs/report.png (the HTML report of scenarios/eu-tracker.yaml) in headless Chromium
	UPDATE_SCREENSHOTS=1 $(GO) test -count=1 -run '^TestScreenshot$$' ./scenario/htmlreport/

unit: ## every test with -race, without lint
	$(GO) test -race -count=1 -timeout 20m $(TESTFLAGS) $(PKGS)

# The fleet figures (package scenario) run once each: set-up devices/s,
# events/s and x-baseline (over bare timer events of the same clock), peak
# RSS per device at 10k and 100k devices × 2 virtual hours of the scale-10k
# rhythm and 10k × a week, and the heap of an idle device. BENCH_1M=1 adds
# 1M devices (minutes, about 2 GB).
BENCH_1M ?=

bench: ## benchmarks beside baselines measured in the same run; fleet figures at 10k and 100k devices (BENCH_1M=1 adds 1M)
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem $$($(GO) list $(PKGS) | grep -v '/scenario$$')
	BENCH_1M=$(BENCH_1M) $(GO) test -run '^$$' -bench 'Scale|IdleDevice' -benchtime 1x -timeout 60m ./scenario/

fuzz: ## run every fuzz target for FUZZTIME each (default 10s)
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	  done; \
	done

lint: ## gofmt, go vet and staticcheck (pinned)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

tidy-check: ## fail if go mod tidy would change go.mod or go.sum
	@tmp=$$(mktemp -d); cp go.mod go.sum $$tmp/; \
	  $(GO) mod tidy; \
	  if ! cmp -s go.mod $$tmp/go.mod || ! cmp -s go.sum $$tmp/go.sum; then \
	    echo "go mod tidy changes go.mod/go.sum:"; diff -u $$tmp/go.mod go.mod || true; \
	    cp $$tmp/go.mod $$tmp/go.sum .; rm -rf $$tmp; exit 1; fi; \
	  rm -rf $$tmp

generate: ## regenerate sim/networks.json from mobile-broadband-provider-info
	$(GO) generate ./sim

clean: ## remove build output
	rm -rf bin .reports
