# omadm: `make demo` and `make test` do every set-up step themselves on a fresh machine.
SHELL := /bin/bash
VECTORS ?= ../shared/vectors
CARGO ?= cargo

TOOLS := $(CURDIR)/.tools
CBINDGEN_VERSION := 0.29.4
CBINDGEN := $(TOOLS)/bin/cbindgen
CC ?= gcc
CFLAGS := -Wall -Wextra -Werror -g -Iinclude
LIBDIR := target/debug

PREFIX ?= /usr/local
# The Python package's own venv (made by the first target that needs it).
VENV := .venv
PY := $(VENV)/bin/python
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# libomadm.so's SONAME is libomadm.so.ABI, ABI the C ABI version in dm-ffi/build.rs: programs load
# that name, so each build directory gets it beside the library.
SONAME := libomadm.so.$(shell sed -n 's/^const ABI: u32 = \([0-9]*\);/\1/p' dm-ffi/build.rs)
soname_link = ln -sf libomadm.so $(1)/$(SONAME)

.PHONY: fuzz install all demo test test-rust test-c test-python check-header header abi deps-interop bench fmt FORCE

all: test

# `omadm serve` running examples/scripts/inventory.py on a loopback port, the C device agent
# (examples/c/agent.c, linking libomadm) against it, then the annotated trace the server wrote.
# `cargo run -p dm-core --example demo` runs the same session with both engines in Rust.
DEMO := build/demo
demo: build/agent $(VENV)/.deps
	$(PY) -m pip install -q --force-reinstall --no-deps ./dm-python
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@$(VENV)/bin/omadm serve --port 0 --script examples/scripts/inventory.py --server-id omadm-demo \
	    --auth md5 --username device --password secret --nonce demo-nonce --max-msg-size 8192 \
	    --trace-dir $(DEMO)/trace > $(DEMO)/server.log 2>&1 & pid=$$!; \
	  for i in $$(seq 100); do [ -s $(DEMO)/server.log ] && break; sleep 0.1; done; \
	  url=$$(head -1 $(DEMO)/server.log); echo "omadm serve: $$url"; \
	  LD_LIBRARY_PATH=$(LIBDIR) build/agent $$url; rc=$$?; \
	  sleep 0.5; kill $$pid; tail -n +2 $(DEMO)/server.log; \
	  echo "annotated trace ($(DEMO)/trace):"; $(VENV)/bin/omadm check --show $(DEMO)/trace && exit $$rc

build/agent: examples/c/agent.c include/omadm.h FORCE
	$(CARGO) build -q -p dm-ffi
	$(call soname_link,$(LIBDIR))
	@mkdir -p build
	$(CC) $(CFLAGS) examples/c/agent.c -L$(LIBDIR) -lomadm -o build/agent

FORCE:

test: test-rust check-header test-c test-python

# libwbxml's command-line tools are the independent peer of the WBXML interop tests. They are
# installed when we may (root with apt); otherwise the interop tests say loudly that they skipped.
deps-interop:
	@command -v xml2wbxml >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq libwbxml2-utils libwbxml2-dev) >/dev/null 2>&1; } || true
	@command -v xml2wbxml >/dev/null 2>&1 || echo "*** libwbxml2-utils missing: WBXML interop tests will be SKIPPED ***"

test-rust: deps-interop
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

# Criterion benches, libwbxml's converters on the same messages (tests/bench/libwbxml_peer.c,
# Debian's libwbxml2-dev; round by round beside libomadm's, built as the benches are), the same
# session from Python, the library's size; then one table
# with every figure beside its peer and goal (target/omadm-bench/report.md), and, where valgrind
# is installed, instructions per operation beside the peers' (tests/bench/instructions.py).
BENCH_DIR := target/omadm-bench
BENCH_INPUTS := package2 package3 pkg3_4 pkg3_40 pkg3_400

bench: deps-interop $(VENV)/.deps
	@mkdir -p build $(BENCH_DIR)
	$(CARGO) run -q -p dm-core --example bench_inputs $(BENCH_DIR)
	$(CARGO) build -q --profile fast -p dm-ffi --features dm-core/inline-more
	$(call soname_link,target/fast)
	$(CC) -O2 -Wall -Wextra -Werror -Iinclude $$(pkg-config --cflags libwbxml2) tests/bench/libwbxml_peer.c -lwbxml2 \
	  -Ltarget/fast -lomadm -Wl,-rpath,$(CURDIR)/target/fast -o build/libwbxml_peer
	build/libwbxml_peer $(BENCH_DIR) $(BENCH_INPUTS) > $(BENCH_DIR)/libwbxml.jsonl
	$(PY) -m pip install -q --force-reinstall --no-deps ./dm-python
	if command -v valgrind >/dev/null; then \
	  $(CARGO) build -q --profile bench -p dm-core --features inline-more --example prof && \
	  python3 tests/bench/instructions.py target/release/examples/prof build/libwbxml_peer $(BENCH_DIR) $(PY) \
	    > $(BENCH_DIR)/instructions.jsonl; else rm -f $(BENCH_DIR)/instructions.jsonl; fi
	$(CARGO) bench -p dm-core --features inline-more
	$(CARGO) build -q --profile bench -p dm-core --features inline-more --example session_time
	$(PY) tests/bench/python_session.py --paired target/release/examples/session_time > $(BENCH_DIR)/python.jsonl
	$(CARGO) build -q --release -p dm-ffi
	strip -o $(BENCH_DIR)/libomadm.so target/release/libomadm.so
	python3 tests/bench/report.py target

fmt:
	$(CARGO) fmt --all

# cbindgen, pinned: point releases change the output.
$(CBINDGEN):
	$(CARGO) install --quiet --root $(TOOLS) cbindgen --version $(CBINDGEN_VERSION) --locked

header: $(CBINDGEN)
	$(CBINDGEN) --quiet --config dm-ffi/cbindgen.toml --crate dm-ffi --output include/omadm.h dm-ffi

# The checked-in header must be what cbindgen makes of the code now.
check-header: $(CBINDGEN)
	@mkdir -p build
	$(CBINDGEN) --quiet --config dm-ffi/cbindgen.toml --crate dm-ffi --output build/omadm.h dm-ffi
	@diff -u include/omadm.h build/omadm.h || { echo "include/omadm.h is stale: run make header"; exit 1; }

# The C ABI programs built against the header depend on, recorded in dm-ffi/abi.txt (see tests/c/abi.py).
abi:
	$(CARGO) build -p dm-ffi
	python3 tests/c/abi.py write $(LIBDIR)/libomadm.so

# The C tests: linked against libomadm.so (run plain and under valgrind) and libomadm.a (ASan);
# sessions on several threads at once under helgrind.
test-c:
	$(CARGO) build -p dm-ffi
	$(call soname_link,$(LIBDIR))
	readelf -d $(LIBDIR)/libomadm.so | grep -q 'SONAME.*\[$(SONAME)\]' || { echo "libomadm.so has no SONAME $(SONAME)"; exit 1; }
	[ "$$(uname -m)" != x86_64 ] || python3 tests/c/abi.py check $(LIBDIR)/libomadm.so
	@mkdir -p build
	$(CC) $(CFLAGS) examples/c/agent.c -L$(LIBDIR) -lomadm -o build/agent
	$(CC) $(CFLAGS) tests/c/ffi_session.c -L$(LIBDIR) -lomadm -o build/ffi_session
	LD_LIBRARY_PATH=$(LIBDIR) build/ffi_session
	LD_LIBRARY_PATH=$(LIBDIR) valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect build/ffi_session
	$(CC) $(CFLAGS) -fsanitize=address -fno-omit-frame-pointer tests/c/ffi_session.c $(LIBDIR)/libomadm.a -lpthread -ldl -lm -o build/ffi_session_asan
	build/ffi_session_asan
	$(CC) $(CFLAGS) tests/c/threads.c -L$(LIBDIR) -lomadm -lpthread -o build/threads
	LD_LIBRARY_PATH=$(LIBDIR) valgrind --tool=helgrind --quiet --error-exitcode=1 --suppressions=tests/c/helgrind.supp build/threads
	python3 tests/hostile/make_corpus.py build/hostile
	$(CC) $(CFLAGS) tests/c/hostile.c -L$(LIBDIR) -lomadm -o build/hostile_test
	LD_LIBRARY_PATH=$(LIBDIR) valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect build/hostile_test build/hostile

# The library (shared, as libomadm.so.VERSION with its SONAME and development links, and static),
# the header and a pkg-config file under $(PREFIX).
install:
	$(CARGO) build -q --release -p dm-ffi
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 target/release/libomadm.so $(DESTDIR)$(PREFIX)/lib/libomadm.so.$(VERSION)
	ln -sf libomadm.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libomadm.so
	install -m 644 target/release/libomadm.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/omadm.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' dm-ffi/omadm.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/omadm.pc

# The Python package, built and installed by pip (maturin) into a venv of our own, then pytest
# (stubtest included).

$(VENV)/.deps:
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q maturin==1.16.0 pytest==9.2.0 mypy
	touch $@

test-python: $(VENV)/.deps build/agent
	$(PY) -m pip install -q --force-reinstall --no-deps ./dm-python
	$(PY) -m mypy --no-error-summary dm-python/python/omadm
	$(PY) -m pytest -q tests/python

# Fuzzing (not part of `make test`): each target for FUZZ_SECONDS, seeded from the vectors and
# its own seeds (dm-core/fuzz/seeds/TARGET: the session targets' written by make_seeds.rs).
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain build them.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := decode_xml decode_wbxml notification client_receive server_receive server_restore check client_session server_session tnds bootstrap
CARGO_FUZZ := $(TOOLS)/bin/cargo-fuzz

$(CARGO_FUZZ):
	$(CARGO) install --quiet --root $(TOOLS) cargo-fuzz --version 0.13.2 --locked

# A crash, or a target that does not build, fails the run (after every target has had its turn);
# a crash names its input.
fuzz: $(CARGO_FUZZ)
	@crashed=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p dm-core/fuzz/corpus/$$t; \
	  cp $(VECTORS)/*/*.xml $(VECTORS)/*/*.wbxml $(VECTORS)/*/*.ddf dm-core/fuzz/corpus/$$t/ 2>/dev/null; \
	  cp $(VECTORS)/pkg0/*.bin dm-core/fuzz/seeds/$$t/* dm-core/fuzz/corpus/$$t/ 2>/dev/null; \
	  echo "fuzz $$t:"; out=$$(cd dm-core && RUSTC_BOOTSTRAP=1 $(CARGO_FUZZ) run $$t -- -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 2>&1); echo "$$out" | grep -E "^(Done|==|INFO: Running|#[0-9]+ *DONE)"; \
	  echo "$$out" | grep -q "^Done " || { echo "*** $$t stopped early (it did not build, or it crashed):"; echo "$$out" | tail -20; crashed=1; }; \
	  for c in dm-core/fuzz/artifacts/$$t/crash-*; do [ -e "$$c" ] && { echo "*** crash: $$c"; crashed=1; }; done; \
	done; exit $$crashed
