# isol8 — build, test, install. `make demo` and `make check` do all the set-up they need.
PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= cc
SAN       ?=
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
HARDEN    := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fPIE
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CFLAGS) $(SAN) -Ilib -I$(BUILD)/gen
LDFLAGS   ?=
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now,-z,noexecstack $(SAN) $(LDFLAGS)
LIBS      := -ljq -lseccomp -lpcre2-8 -lm

LIB_SRC   := $(filter-out lib/sandbox/seccomp_load.c,$(wildcard lib/*/*.c))
LIB_HDR   := $(wildcard lib/*.h lib/*/*.h)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/lib/sandbox/seccomp_load.o $(BUILD)/gen/seccomp_strict.o
LIBA      := $(BUILD)/libisol8util.a
PUBLIC_LIBA := $(BUILD)/dist/libisol8util.a
TOOLS     := isol8 isol8-run isol8-cleanup isol8-session isol8-proxy isol8-pool isol8-serve isol8-mask isol8-image isol8-mcp
BINS      := $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRC  := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HELPERS   := $(BUILD)/tests/try-syscall $(BUILD)/examples/engine $(BUILD)/tests/lib-run

.PHONY: all deps demo check check-asan install clean unit bench fuzz stress cluster
all: $(BINS) $(BUILD)/bin/isol8-zygote.so $(BUILD)/bin/isol8-zygote-bash.so $(UNIT_BINS) $(HELPERS) $(PUBLIC_LIBA)

deps:
	@bash scripts/deps.sh

$(BUILD)/%.o: %.c $(LIB_HDR) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	@echo "  CC      $<"; $(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/gen:
	@mkdir -p $@

# The strict seccomp policy is compiled to BPF at build time (no per-run libseccomp cost).
$(BUILD)/gen-seccomp: tools/gen-seccomp.c $(BUILD)/lib/sandbox/seccomp_policy.o $(BUILD)/lib/core/err.o $(BUILD)/lib/core/util.o
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(LIBS)
$(BUILD)/gen/seccomp_strict.c: $(BUILD)/gen-seccomp
	$< $@
$(BUILD)/gen/seccomp_strict.o: $(BUILD)/gen/seccomp_strict.c
	@echo "  CC      $<"; $(CC) $(ALL_CFLAGS) -c $< -o $@

# The drivers that run inside sandboxes (lib/run/drivers/: pre-started interpreters warm_*,
# session kernels session_*, matplotlib's backend mpl_*) become C string constants for
# lib/run/warm.c, lib/run/drivers.c and lib/run/figures.c.
$(BUILD)/gen/%_drivers.h: tools/embed.sh $(wildcard lib/run/drivers/*) | $(BUILD)/gen
	@echo "  GEN     $@"; sh tools/embed.sh $@ $(wildcard lib/run/drivers/$*_*)
$(BUILD)/lib/run/warm.o: $(BUILD)/gen/warm_drivers.h $(BUILD)/gen/zygote_drivers.h
$(BUILD)/lib/run/drivers.o: $(BUILD)/gen/session_drivers.h
$(BUILD)/lib/run/figures.o: $(BUILD)/gen/mpl_drivers.h

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	@echo "  AR      $@"; ar rcs $@ $^

# The installed archive: the same objects linked into one, in which only the functions lib/isol8.h
# declares stay global. The library's helpers (write_all, buf_append, json_get, ...) are then
# local, and cannot collide with an embedding program's own. The tools link $(LIBA).
$(PUBLIC_LIBA): $(LIB_OBJ) lib/isol8.h
	@mkdir -p $(dir $@)
	@echo "  AR      $@"; ld -r -o $(BUILD)/dist/isol8.o $(LIB_OBJ) && \
		grep -oE '\bisol8_[a-z0-9_]+ *\(' lib/isol8.h | tr -d ' (' | sort -u >$(BUILD)/dist/isol8.syms && \
		objcopy --keep-global-symbols=$(BUILD)/dist/isol8.syms $(BUILD)/dist/isol8.o && \
		rm -f $@ && ar rcs $@ $(BUILD)/dist/isol8.o

# isol8-zygote.so, loaded by python3 in isol8-pool's zygotes (lib/sandbox/zygote.h): position
# independent objects of their own, everything but its entry hidden, and never a sanitizer
# (python3 does not load their runtimes first).
PIC_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection \
	-fPIC -fvisibility=hidden $(CFLAGS) -Ilib -I$(BUILD)/gen
PIC_OBJ := $(LIB_OBJ:$(BUILD)/%=$(BUILD)/pic/%)
$(BUILD)/pic/lib/%.o: lib/%.c $(LIB_HDR) | $(BUILD)/gen
	@mkdir -p $(dir $@)
	@echo "  CC      $< (pic)"; $(CC) $(PIC_CFLAGS) -c $< -o $@
$(BUILD)/pic/gen/seccomp_strict.o: $(BUILD)/gen/seccomp_strict.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (pic)"; $(CC) $(PIC_CFLAGS) -c $< -o $@
$(BUILD)/pic/lib/run/warm.o: $(BUILD)/gen/warm_drivers.h $(BUILD)/gen/zygote_drivers.h
$(BUILD)/pic/lib/run/drivers.o: $(BUILD)/gen/session_drivers.h
$(BUILD)/pic/lib/run/figures.o: $(BUILD)/gen/mpl_drivers.h
$(BUILD)/pic/libisol8util.a: $(PIC_OBJ)
	@rm -f $@
	@echo "  AR      $@"; ar rcs $@ $^
ZYGOTE_LD = @mkdir -p $(@D); echo "  LD      $@"; $(CC) $(PIC_CFLAGS) $(1) -shared \
	-Wl,-z,relro,-z,now,-z,noexecstack,--as-needed $< -o $@ $(BUILD)/pic/libisol8util.a $(LIBS)
$(BUILD)/bin/isol8-zygote.so: bin/isol8-zygote/zygote.c $(BUILD)/pic/libisol8util.a
	$(call ZYGOTE_LD,)
# isol8-zygote-bash.so, the same for bash: a loadable builtin, against the headers of the
# bash that loads it (Debian's bash-builtins; its symbols come from bash at load time).
BASH_INC := -isystem /usr/include/bash -isystem /usr/include/bash/include -isystem /usr/include/bash/builtins
$(BUILD)/bin/isol8-zygote-bash.so: bin/isol8-zygote/bash.c $(BUILD)/pic/libisol8util.a
	$(call ZYGOTE_LD,$(BASH_INC))

MCP_SRC := $(wildcard bin/isol8-mcp/*.c)
$(BUILD)/bin/isol8-mcp: $(MCP_SRC) bin/isol8-mcp/mcp.h $(LIBA)
	@mkdir -p $(@D)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(MCP_SRC) -o $@ $(LIBA) $(LIBS)
# isol8 links isol8-run's code (run.c) so `isol8 run` needs no second exec.
RUN_SRC := bin/isol8-run/run.c bin/isol8-run/files.c bin/isol8-run/outputs.c bin/isol8-run/persistent.c
$(BUILD)/bin/isol8: bin/isol8/main.c bin/isol8/login.c bin/isol8/login.h $(RUN_SRC) bin/isol8-run/run.h $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) bin/isol8/main.c bin/isol8/login.c $(RUN_SRC) -o $@ $(LIBA) $(LIBS)
$(BUILD)/bin/isol8-run: bin/isol8-run/main.c $(RUN_SRC) bin/isol8-run/run.h $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) bin/isol8-run/main.c $(RUN_SRC) -o $@ $(LIBA) $(LIBS)
# isol8-serve alone links libcrypto (key digests), libsqlite3 and libpq (keys in a database);
# nothing on the run path pays for loading them.
SERVE_SRC := $(wildcard bin/isol8-serve/*.c)
$(BUILD)/bin/isol8-serve: $(SERVE_SRC) bin/isol8-serve/serve.h bin/isol8-serve/keydb.h bin/isol8-serve/registry.h $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -I/usr/include/postgresql $(ALL_LDFLAGS) $(SERVE_SRC) -o $@ $(LIBA) $(LIBS) -lcrypto -lsqlite3 -lpq
$(BUILD)/bin/%: bin/%/main.c $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< -o $@ $(LIBA) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) $< -o $@ $(LIBA) $(LIBS)

# The library example (examples/engine.c): built with the rest, run by tests/integ/97-serve.t.
$(BUILD)/examples/engine: examples/engine.c $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< -o $@ $(LIBA) $(LIBS)

# One run through the library with SIGPIPE at its default (tests/integ/96-warm.t).
$(BUILD)/tests/lib-run: tests/helpers/lib-run.c $(LIBA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< -o $@ $(LIBA) $(LIBS)

# Runs inside sandboxes, injected with --files: static, no sanitizer, no libc surprises.
$(BUILD)/tests/try-syscall: tests/helpers/try-syscall.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static $< -o $@

# The demo: installs what is missing, builds, runs a sandboxed print(2 ** 10).
demo: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/bin/isol8 run -e 'print(2 ** 10)'

check: deps
	@$(MAKE) --no-print-directory all
	ISOL8_BIN=$(CURDIR)/$(BUILD)/bin ISOL8_TESTS=$(CURDIR)/$(BUILD)/tests ISOL8_SAN="$(SAN)" \
		prove -v --timer --exec "" $(UNIT_BINS) tests/integ/*.t \
		tests/warm/*.t

# The whole suite once more with AddressSanitizer + UndefinedBehaviorSanitizer.
check-asan: deps
	@$(MAKE) --no-print-directory check BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" CFLAGS="-O1 -g"

# Every runtime × cold, warm, session and HTTP, and the quickest programs, hundreds of times while a
# busy loop runs on every CPU; fails on any hang, wrong output or status, or anything left behind
# (docs/testing.md). STRESS_SCALE multiplies the iteration counts.
stress: deps
	@$(MAKE) --no-print-directory all
	ISOL8_BIN=$(CURDIR)/$(BUILD)/bin prove -v --timer --exec "" tests/stress/*.t

# Several isol8-serve nodes behind HAProxy (contrib/haproxy.cfg), on loopback.
cluster: deps
	@$(MAKE) --no-print-directory all
	ISOL8_BIN=$(CURDIR)/$(BUILD)/bin ISOL8_TESTS=$(CURDIR)/$(BUILD)/tests prove -v --timer tests/cluster/*.t

# libFuzzer on the parsers of untrusted input: the proxy's (host names, request head and
# framing, TLS SNI: only those parts are linked) and isol8-serve's HTTP request parser. CI runs
# each briefly.
FUZZ_SECONDS ?= 20
FUZZ_PROXY_SRC := lib/net/proxy_host.c lib/net/proxy_head.c lib/net/proxy_hello.c lib/core/util.c lib/core/err.c
$(BUILD)/fuzz_proxy: tests/fuzz/fuzz_proxy.c $(FUZZ_PROXY_SRC) $(wildcard lib/net/proxy*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"; clang -std=c11 -D_GNU_SOURCE -g -O1 -Ilib -fsanitize=fuzzer,address,undefined \
		tests/fuzz/fuzz_proxy.c $(FUZZ_PROXY_SRC) -o $@ -lm
$(BUILD)/fuzz_http: tests/fuzz/fuzz_http.c lib/net/http.c lib/core/util.c lib/core/err.c lib/net/http.h
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"; clang -std=c11 -D_GNU_SOURCE -g -O1 -Ilib -fsanitize=fuzzer,address,undefined \
		tests/fuzz/fuzz_http.c lib/net/http.c lib/core/util.c lib/core/err.c -o $@ -lm
fuzz: deps $(BUILD)/fuzz_proxy $(BUILD)/fuzz_http
	@mkdir -p $(BUILD)/fuzz-corpus $(BUILD)/fuzz-corpus-http && cp -n tests/fuzz/corpus/* $(BUILD)/fuzz-corpus/ 2>/dev/null; \
	cp -n tests/fuzz/corpus-http/* $(BUILD)/fuzz-corpus-http/ 2>/dev/null; \
	for t in proxy http; do \
		c=$(BUILD)/fuzz-corpus; [ $$t = http ] && c=$(BUILD)/fuzz-corpus-http; \
		$(BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=20000 $$c >$(BUILD)/fuzz_$$t.log 2>&1; rc=$$?; \
		tail -3 $(BUILD)/fuzz_$$t.log; [ $$rc = 0 ] || { echo "fuzz_$$t failed: see $(BUILD)/fuzz_$$t.log"; exit 1; }; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/isol8 $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man3 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(PUBLIC_LIBA) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(BUILD)/bin/isol8-zygote.so $(BUILD)/bin/isol8-zygote-bash.so $(DESTDIR)$(PREFIX)/lib/isol8/
	install -m 0644 lib/isol8.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/*.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	install -m 0644 man/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/

# bwrap is only a comparison point for the benchmark, not a dependency of isol8.
$(BUILD)/bench-lib: bench/lib_bench.c $(LIBA)
	@echo "  LD      $@"; $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< -o $@ $(LIBA) $(LIBS)

bench: deps all $(BUILD)/bench-lib
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } || true
	/usr/bin/python3 bench/cold.py
	/usr/bin/python3 bench/session.py
	/usr/bin/python3 bench/proxy.py
	/usr/bin/python3 bench/warm.py
	/usr/bin/python3 bench/serve.py
	/usr/bin/python3 bench/images.py
	/usr/bin/python3 bench/auth.py
	/usr/bin/python3 bench/mcp.py
	/usr/bin/python3 bench/throughput.py

clean:
	rm -rf build build-asan
