# hotline — the two commands a newcomer needs:
#   make run    runs the hotline demo (emulated Asterisk, auto-started Redis)
#   make test   runs every test with the race detector against a real redis-server
GO ?= go
SHELL := /bin/bash

.PHONY: run test deps bench prompts vet

run: deps
	$(GO) run ./cmd/hotline demo

test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

# deps installs what the tests need from Debian's packages when missing.
deps:
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server from Debian's packages"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server >/dev/null; }
	@command -v redis-server >/dev/null || { echo "redis-server is required and could not be installed" >&2; exit 1; }

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 3s ./dispatch/

vet:
	$(GO) vet ./...
