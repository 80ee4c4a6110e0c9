# Renkei Desk — two commands for a fresh Debian/Ubuntu machine: `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test deps test-deps build lint unit unit-pg e2e bench bundle clean-data

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

## The store tests again on a private PostgreSQL (scripts/with-postgres.sh): the conformance
## suite, the Desk store tests and the `renkei serve` process tests — not the whole workspace twice.
unit-pg: test-deps
	RENKEI_TEST_REQUIRE_PG=1 ./scripts/with-postgres.sh $(CARGO) test -p renkei-core -p renkei-cli \
	  --test store_conformance --test desk_store --test desk_hub --test desk_offline --test serve --test hub \
	  --test desk_api --test desk_live --test receipt --test intake_batch

## Everything CI runs.
test: test-deps lint unit unit-pg e2e

## End-to-end tests of the real app in a real webview (WebKitGTK) under Xvfb.
e2e: test-deps
	./scripts/e2e.sh

bench:
	./scripts/bench.sh

## Installers (.deb here; MSI/NSIS must be built on Windows — see README).
bundle: deps
	./scripts/bundle.sh
