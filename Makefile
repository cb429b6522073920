# omadm: `make demo` and `make test` do every set-up step themselves on a fresh machine.
SHELL := /bin/bash
VECTORS ?= ../shared/vectors
CARGO ?= cargo

.PHONY: all demo test test-rust deps-interop bench fmt

all: test

demo:
	$(CARGO) run -q -p dm-core --example demo

test: test-rust

# libwbxml's command-line tools are the independent peer of the WBXML interop tests. They are
# installed when we may (root with apt); otherwise the interop tests say loudly that they skipped.
deps-interop:
	@command -v xml2wbxml >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq libwbxml2-utils libwbxml2-dev) >/dev/null 2>&1; } || true
	@command -v xml2wbxml >/dev/null 2>&1 || echo "*** libwbxml2-utils missing: WBXML interop tests will be SKIPPED ***"

test-rust: deps-interop
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

bench:
	$(CARGO) bench -p dm-core

fmt:
	$(CARGO) fmt --all
