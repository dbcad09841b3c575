# softphone: build, test and demo entry points. `make test` is what CI runs (.ci/run).
# See docs/testing.md.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# rustup installs into ~/.cargo/bin, which a non-login CI shell may not have on PATH;
# kamailio and kamcmd live in /usr/sbin, which a non-root PATH lacks.
export PATH := $(HOME)/.cargo/bin:$(PATH):/usr/sbin:/sbin

CARGO ?= cargo

.PHONY: all deps browser-deps build lint test test-unit test-e2e test-testbed bench demo clean help

all: build

help:
	@echo "make deps      install system packages (scripts/install-deps.sh)"
	@echo "make browser-deps  deps + playwright-core for the browser tests (npm ci, no browser download)"
	@echo "make build     build the workspace (all targets)"
	@echo "make lint      cargo fmt --check + clippy -D warnings"
	@echo "make test      deps + lint + build + every test tier (what CI runs)"
	@echo "make test-unit unit tests and simulations only (no external peers)"
	@echo "make test-e2e  end-to-end tests of the agent (tests/*.rs) against Kamailio/SIPp"
	@echo "make test-testbed  self-tests of the test peers (crates/testbed)"
	@echo "make bench     criterion benches"
	@echo "make demo      Kamailio + the agent registered as 1001; Ctrl-C stops"
	@echo "make clean     remove build output and run/"

deps:
	scripts/install-deps.sh

# The browser tests' npm packages (playwright-core only: it drives Debian's chromium, which
# install-deps.sh installs; no browser is ever downloaded). Reinstalled when the lockfile
# changes.
BROWSER_DIR := tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.installed

browser-deps: deps $(BROWSER_STAMP)

$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json | deps
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix $(BROWSER_DIR) --no-audit --no-fund
	touch $@

build:
	$(CARGO) build --workspace --all-targets

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# One `cargo test` invocation, so the last lines are cargo's own summary; --no-fail-fast so
# one run reports every failing test binary, not only the first.
test: deps browser-deps lint build
	$(CARGO) test --workspace --no-fail-fast

# Tiers (a)+(b): library unit tests and netsim simulations, no external process.
test-unit:
	$(CARGO) test --workspace --lib --bins
	$(CARGO) test -p signaling --tests

# Tier (c): the agent binary against real peers.
test-e2e: deps browser-deps
	$(CARGO) test -p softphone --tests

test-testbed: deps
	$(CARGO) test -p testbed

bench:
	$(CARGO) bench

demo: deps
	$(CARGO) build --bin softphone
	scripts/demo.sh

clean:
	$(CARGO) clean
	rm -rf run
