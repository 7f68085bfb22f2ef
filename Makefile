# invenio-infra — `make help` lists the targets.
#
# Everything real happens in Go (./cmd/invenio-infra) and in
# scripts/install-deps; this file only names the steps. SOURCE_DATE_EPOCH is
# deliberately not set here: the tool derives it from the site and git.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

GO ?= go
# The linter runner; scripts/install-deps installs the pinned version.
GOLANGCI_LINT ?= golangci-lint
BIN := bin/invenio-infra
OUT ?= out
# The whole suite, slow tests included, must finish well inside CI's hour.
TEST_TIMEOUT ?= 50m
# Extra flags for go test, e.g. make test GOTESTFLAGS='-run TestRoot -v'.
GOTESTFLAGS ?=
# Per-benchmark time; "Nx" runs N iterations.
BENCHTIME ?= 1s
BENCH ?= .
# 1: make test bakes the default site's images and boots each to its kernel
# (images/bake TestReleaseImagesBoot) and make bench times bakes
# (BenchmarkBake); 0 leaves them out, visibly.
IMAGE_BOOT ?= $(or $(INVENIO_INFRA_IMAGE_BOOT),1)
# Packages for test, test-quick and bench, e.g. make test PKGS=./testing/...
PKGS ?= ./...
# Flags of `invenio-infra release`. The default site's application package
# and OpenSearch exist nowhere on these machines, so its images carry
# stand-ins (for tests only); a real site drops --stand-ins.
RELEASEFLAGS ?= --stand-ins

# Shell files for shellcheck: everything in scripts/ with a sh/bash shebang,
# and .ci/run.
SHELL_SCRIPTS = $(shell grep -lsE '^\#!.*\b(ba)?sh\b' $$(find scripts -type f 2>/dev/null) .ci/run 2>/dev/null)

# Fuzz targets as PACKAGE:FUNCTION. `make test` runs each for TEST_FUZZTIME
# after the tests (PKGS=./... only), `make fuzz` for FUZZTIME. TEST_FUZZTIME
# is a count of executions, not a duration: a duration races Go 1.26's fuzz
# coordinator (scripts/fuzz says how).
FUZZ_TARGETS := ./roles:FuzzRender ./site:FuzzParse
TEST_FUZZTIME ?= 30000x
FUZZTIME ?= 10m

# Jobs of .gitlab-ci.yml for `make pipeline`, e.g. JOBS="lint packages"
# (default: the whole pipeline).
JOBS ?=

.PHONY: help build deps test test-quick fuzz bench lint release pipeline clean

help: ## list the targets
	@echo "usage: make TARGET [VAR=value]"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  %-11s %s\n", $$1, $$2}'
	@echo
	@echo "variables: PKGS=$(PKGS) TEST_TIMEOUT=$(TEST_TIMEOUT) TEST_FUZZTIME=$(TEST_FUZZTIME) FUZZTIME=$(FUZZTIME) BENCHTIME=$(BENCHTIME) BENCH=$(BENCH) GOTESTFLAGS=$(GOTESTFLAGS) IMAGE_BOOT=$(IMAGE_BOOT) OUT=$(OUT) RELEASEFLAGS=$(RELEASEFLAGS) JOBS=$(JOBS)"
	@echo "caches (root filesystems, image base roots, packages): \$$INVENIO_INFRA_CACHE, else \$$XDG_CACHE_HOME/invenio-infra, else ~/.cache/invenio-infra"

build: ## build bin/invenio-infra
	$(GO) build -trimpath -o $(BIN) ./cmd/invenio-infra

deps: ## install the host tools (apt-get, --no-install-recommends; needs root if any is missing)
	scripts/install-deps

test: deps ## run every test, slow ones too, strictly (a missing need fails), then each fuzz target for TEST_FUZZTIME: the README's test command
	INVENIO_INFRA_SLOW=1 INVENIO_INFRA_STRICT=1 INVENIO_INFRA_IMAGE_BOOT=$(IMAGE_BOOT) \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(GOTESTFLAGS) $(PKGS)
	@if [ '$(PKGS)' = ./... ]; then $(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME); fi

fuzz: ## run each fuzz target (FUZZ_TARGETS) for FUZZTIME, default 10m; a finding lands in PACKAGE/testdata/fuzz/
	@for t in $(FUZZ_TARGETS); do \
		GO=$(GO) scripts/fuzz "$${t%%:*}" "$${t#*:}" $(FUZZTIME) || exit 1; \
	done

test-quick: ## run the fast tests only (go test -short, no slow tests, missing tools skip)
	env -u INVENIO_INFRA_SLOW -u INVENIO_INFRA_STRICT \
		$(GO) test -short $(GOTESTFLAGS) $(PKGS)

bench: ## run the benchmarks and print their figures, and the last boot tests' (BENCH=regexp, BENCHTIME=1s or Nx)
	INVENIO_INFRA_SLOW=1 INVENIO_INFRA_IMAGE_BOOT=$(IMAGE_BOOT) \
		$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem -timeout $(TEST_TIMEOUT) $(GOTESTFLAGS) $(PKGS)
	@# Whole-VM boots take minutes each under TCG: they are measured once, by
	@# the boot-test jobs (`invenio-infra boot-test`), not again here.
	@for f in $(OUT)/reports/boot-*/figures.txt; do \
		[ -f "$$f" ] || { echo "boot-test figures: none yet (run the pipeline's boot-test jobs or invenio-infra boot-test --report $(OUT)/reports/boot-INSTANCE.xml)"; break; }; \
		echo "--- boot-test figures: $$f"; cat "$$f"; \
	done

lint: ## gofmt, go vet, golangci-lint (.golangci.yml; make deps installs it), shellcheck
	@out=$$(find . -path './.*' -prune -o -path '*/testdata' -prune -o -name '*.go' -print0 | xargs -0 -r gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@command -v $(GOLANGCI_LINT) >/dev/null || { echo "lint: $(GOLANGCI_LINT) is missing; make deps installs it"; exit 1; }
	$(GOLANGCI_LINT) run ./...
	shellcheck $(SHELL_SCRIPTS)

release: deps ## the main job on the default site: packages, signed repository and role images into out/
	$(GO) run ./cmd/invenio-infra release --out $(OUT) $(RELEASEFLAGS)

pipeline: deps ## run .gitlab-ci.yml's jobs here with gitlab-ci-local, publishing as a dry run (JOBS=...)
	scripts/pipeline $(JOBS)

clean: ## remove bin/ and out/ (not the test cache)
	rm -rf bin $(OUT)
