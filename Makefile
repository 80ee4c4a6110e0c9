# Renkei Desk — two commands for a fresh Debian/Ubuntu machine: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test deps test-deps build lint unit e2e bench bundle clean-data

deps:
	./scripts/install-system-deps.sh

test-deps:
	./scripts/install-system-deps.sh --test

build: deps
	$(CARGO) build --workspace

## Build, load demo data into the default data dir on first run, open the app.
run: build
	./scripts/run-app.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

## Everything CI runs.
test: test-deps lint unit e2e

## End-to-end tests of the real app in a real webview (WebKitGTK) under Xvfb.
e2e: test-deps
	./scripts/e2e.sh

bench:
	./scripts/bench.sh

## Installers (.deb here; MSI/NSIS must be built on Windows — see README).
bundle: deps
	./scripts/bundle.sh
