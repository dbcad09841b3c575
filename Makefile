# softphone: build, test and demo entry points. `make test` is what CI runs (.ci/run).
# See docs/testing.md.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# rustup installs into ~/.cargo/bin, which a non-login CI shell may not have on PATH;
# kamailio and kamcmd live in /usr/sbin, which a non-root PATH lacks.
export PATH := $(HOME)/.cargo/bin:$(PATH):/usr/sbin:/sbin

CARGO ?= cargo

.PHONY: bench-peers bench-pesq pesq-venv all deps browser-deps build lint test test-unit test-e2e test-testbed bench soak soak-records demo clean help \
	fuzz-deps fuzz-build fuzz-seeds fuzz-smoke fuzz-run

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
	@echo "make fuzz-smoke  build the fuzz targets (fuzz/) and run each for FUZZ_SECONDS (10)"
	@echo "make fuzz-run FUZZ_TARGET=sip_message FUZZ_SECONDS=3600  one long fuzz run"
	@echo "make bench     criterion benches"
	@echo "make bench-peers  this agent beside baresip and linphonec: CPU, memory, wake-ups (docs/benchmarks.md)"
	@echo "make soak      SOAK_CALLS (3000) calls at SOAK_RATE (20)/s through Kamailio: failures, memory, fds"
	@echo "make bench-pesq  PESQ of speech received by this agent and by baresip under loss and jitter (root)"
	@echo "make soak-records  SOAK_CALLS (200) calls with the page connected: records, Tasks, memory"
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
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# One `cargo test` invocation, so the last lines are cargo's own summary; --no-fail-fast so
# one run reports every failing test binary, not only the first. The fuzz smoke runs before
# it (about 80 s once fuzz/ is built).
test: deps browser-deps pesq-venv lint build fuzz-smoke
	$(CARGO) test --workspace --no-fail-fast

# Tiers (a)+(b): library unit tests and netsim simulations, no external process.
test-unit:
	$(CARGO) test --workspace --lib --bins
	$(CARGO) test -p signaling --tests

# Tier (c): the agent binary against real peers.
test-e2e: deps browser-deps pesq-venv
	$(CARGO) test -p softphone --tests

test-testbed: deps
	$(CARGO) test -p testbed

# SIPp calls through Kamailio to the auto-answering agent with media, holds, transfers, DTMF
# and page commands, then idle past the linger timers: failed calls, calls left, memory,
# descriptors, threads, transactions (docs/benchmarks.md, "Soak: calls, memory and
# descriptors"). A few minutes; SOAK_CALLS and SOAK_RATE change the run. The short version
# runs in `make test`.
soak: deps
	$(CARGO) test -p softphone --test soak -- --ignored --nocapture soak_long

# Calls through Kamailio with the page connected: one record and one Task per call, memory
# and store size sampled (docs/benchmarks.md, "Call records soak"). A few minutes.
soak-records: deps browser-deps
	$(CARGO) test -p softphone --test browser_tabs -- --ignored --nocapture soak

bench:
	$(CARGO) bench

# The same call from this agent, baresip and linphonec, measured in one run; writes the
# table into docs/benchmarks.md and docs/peers.json (benches/peers.rs for its knobs).
bench-peers: deps
	$(CARGO) bench --bench peers

# The virtualenv of the PESQ bench (pesq, numpy, NetfilterQueue from PyPI).
pesq-venv: deps
	scripts/pesq-venv.sh

# PESQ of the same speech received by this agent and by baresip, clean, under 3% and 10%
# loss and 40 ms jitter, for Opus, G.722 and PCMU; writes the table into docs/benchmarks.md
# and docs/pesq.json (benches/pesq.rs for its knobs). As root: it runs in a network
# namespace of its own. About 20 minutes.
bench-pesq: pesq-venv
	$(CARGO) bench --bench pesq

# Fuzzing (docs/testing.md, "Fuzzing"): cargo-fuzz on the nightly toolchain, in fuzz/, a
# workspace of its own. No sanitizer: the targets are safe Rust, and without ASan the build
# and the runs are several times faster on a small machine; overflow checks and debug
# assertions are on (-a).
FUZZ_TARGETS := sip_message sdp rtp_rtcp telephone_event jitter_buffer bridge_http config
FUZZ_SECONDS ?= 10
FUZZ_TARGET ?= sip_message
FUZZ_FLAGS := --sanitizer none --debug-assertions
# Generous limits: a loaded CI machine must not turn a slow input into a failure; a real
# hang (minutes) or a runaway allocation still is one.
FUZZ_LIBFUZZER := -timeout=120 -rss_limit_mb=4096 -print_final_stats=1

fuzz-deps:
	@rustup toolchain list 2>/dev/null | grep -q '^nightly' || { \
	  echo "fuzzing needs the nightly Rust toolchain (libFuzzer's instrumentation flags are"; \
	  echo "nightly-only); install it with: rustup toolchain install nightly --profile minimal"; \
	  exit 1; }
	@cargo fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

fuzz-build: fuzz-deps
	cd fuzz && $(CARGO) +nightly fuzz build $(FUZZ_FLAGS)

fuzz-seeds:
	python3 fuzz/scripts/seeds.py

# Each target for FUZZ_SECONDS from its seeds (and whatever earlier runs added to
# fuzz/corpus/<target>). A crash fails the run and leaves its input in
# fuzz/artifacts/<target>/.
fuzz-smoke: fuzz-build fuzz-seeds
	mkdir -p fuzz/logs
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz $$t ($(FUZZ_SECONDS) s, log in fuzz/logs/smoke-$$t.log)"; \
	  if ! $(CARGO) +nightly fuzz run $(FUZZ_FLAGS) $$t -- -max_total_time=$(FUZZ_SECONDS) \
	      $(FUZZ_LIBFUZZER) >logs/smoke-$$t.log 2>&1; then \
	    tail -n 40 logs/smoke-$$t.log; \
	    echo "fuzz target $$t failed: its input is in fuzz/artifacts/$$t/ (docs/testing.md, Fuzzing)"; \
	    exit 1; \
	  fi; \
	  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+ +DONE' logs/smoke-$$t.log || true; \
	done

# One target, for as long as FUZZ_SECONDS says, on one core.
fuzz-run: fuzz-build fuzz-seeds
	cd fuzz && $(CARGO) +nightly fuzz run $(FUZZ_FLAGS) $(FUZZ_TARGET) -- \
	  -max_total_time=$(FUZZ_SECONDS) $(FUZZ_LIBFUZZER)

demo: deps
	$(CARGO) build --bin softphone
	scripts/demo.sh

clean:
	$(CARGO) clean
	rm -rf fuzz/target
	rm -rf run
