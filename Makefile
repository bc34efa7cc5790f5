# hotline — the two commands a newcomer needs:
#   make run    runs the hotline demo (emulated Asterisk, auto-started Redis)
#   make test   runs every test with the race detector against a real redis-server
# (make lint: gofmt, go vet, staticcheck and go mod tidy must all be clean; CI runs it first)
GO ?= go
SHELL := /bin/bash

.PHONY: run test lint deps browser-deps prom-deps pbx-deps bench bench-pbx prompts vet

CONFIG ?= configs/hotline.yaml
SOUNDS ?= build/sounds

# run shows the product: virtual citizens call until Ctrl-C, and the desktop's
# address and this run's sign-ins are printed at start.
run: deps
	$(GO) run ./cmd/hotline demo --http 127.0.0.1:8080 --duration 24h

# The real-PBX suite (a real Asterisk 22, SIPp citizens, baresip operators)
# runs verbosely apart from the rest, one package at a time (two Asterisks
# booting at once on two cores starve each other's timed steps), so the log shows each of its tests ran
# (and none was skipped); its full output is in build/realpbx.log.
PBX_PKGS := ./realpbx/ ./pbx/contract/ ./internal/pbxtest/ ./internal/asteriskconf/

# SUNDAY_NIGHT is when the second pass of the clock-driven packages runs
# (internal/testclock): the tests must not depend on the hour or weekday.
SUNDAY_NIGHT := 2026-12-06T23:30:00+05:00

test: deps browser-deps prom-deps pbx-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m $$($(GO) list ./... | grep -v -e /realpbx -e /pbx/contract -e /internal/pbxtest -e /internal/asteriskconf -e /chaos)
	@echo "the chaos suite, alone (its faults and invariants are timed: it gets the machine to itself):"
	$(GO) test -race -count=1 -timeout 10m ./chaos/
	@echo "again with the clock at a Sunday night ($(SUNDAY_NIGHT)):"
	HOTLINE_TEST_NOW=$(SUNDAY_NIGHT) $(GO) test -count=1 -p 1 -timeout 10m ./app/ ./chaos/ ./router/ ./callbacks/ ./config/
	@mkdir -p build; echo "real-PBX suite: $(PBX_PKGS)"; \
	$(GO) test -race -count=1 -p 1 -timeout 25m -v $(PBX_PKGS) >build/realpbx.log 2>&1; rc=$$?; \
	grep -E '^(--- |    --- |ok|FAIL|PASS)' build/realpbx.log; \
	if [ $$rc != 0 ]; then echo "real-PBX suite failed; its log:"; cat build/realpbx.log; fi; exit $$rc

# lint fails on any finding: unformatted files (gofmt of the same toolchain),
# go vet, staticcheck (pinned by the tool directive in go.mod) and a go.mod or
# go.sum that go mod tidy would change.
GOFMT ?= $(shell $(GO) env GOROOT)/bin/gofmt
lint:
	@out=$$($(GOFMT) -l .) || exit 1; \
	if [ -n "$$out" ]; then echo "gofmt: these files are not formatted (run gofmt -w):"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff

# deps installs what hotline and its tests need from Debian's packages when
# missing: redis-server (queues live in Redis) and espeak-ng + sox (spoken
# prompts).
deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v sox >/dev/null || missing="$$missing sox"; \
	if [ -n "$$missing" ]; then \
	  echo "installing from Debian's packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@for t in redis-server espeak-ng sox soxi; do command -v $$t >/dev/null || { echo "$$t is required and could not be installed" >&2; exit 1; }; done

# browser-deps installs Debian's chromium for the desktop's browser tests
# (app/desk_browser_test.go drives it with chromedp).
browser-deps:
	@command -v chromium >/dev/null || { \
	  echo "installing chromium from Debian's packages for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v chromium >/dev/null || { echo "chromium is required by the browser tests and could not be installed" >&2; exit 1; }

# prom-deps installs Debian's prometheus package for its promtool: app's
# TestDashboardAndRulesNameExportedMetrics checks and unit-tests
# deploy/prometheus/alerts.yml with it.
prom-deps:
	@command -v promtool >/dev/null || { \
	  echo "installing prometheus (promtool) from Debian's packages for the rules tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@command -v promtool >/dev/null || { echo "promtool is required by the rules tests and could not be installed" >&2; exit 1; }

# pbx-deps installs the real Asterisk, SIPp and baresip of the real-PBX suite
# when the bundle ../shared/pbx is beside the repository (.ci/install-pbx).
pbx-deps:
	@bash .ci/install-pbx

# prompts speaks every prompt of $(CONFIG), and the numbers hotline says
# (internal/spoken), into $(SOUNDS)/hotline/<lang>/<name>.wav.
prompts: deps
	$(GO) run ./cmd/hotline prompts --config $(CONFIG) --out $(SOUNDS)

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 3s ./dispatch/

# bench-pbx: hand-over latency and hotline's CPU per call on a real Asterisk
# (1 operator, 8 queued callers; three runs).
bench-pbx: deps pbx-deps
	$(GO) test -run '^$$' -bench HandoverRealAsterisk -benchtime 1x -count 3 ./realpbx/

vet:
	$(GO) vet ./...
