# Tremplin — one `make` builds every service, the `tremplin` tool and the tests.
#
#   make            build into build/
#   make test       the whole suite CI runs, built with ASan + UBSan (build/san/)
#   make check      unit tests only, sanitized (fast, for development)
#   make demo       install what is missing, build, run the local stack and
#                   play a demo season on it (ONESHOT=1: then stop; SEED=N)
#   make deps       install the Debian packages (as root; idempotent)
#   make browser-deps  the browser test's playwright-core (npm ci, pinned)
#   make bench      throughput benchmarks (see BENCHMARKS.md)
#   make fuzz       run each fuzz target for FUZZ_SECONDS (clang)
#   make CC=clang   the same with clang; make SAN=1 builds sanitized into build/san

CC      ?= cc
SAN     ?= 0
ifeq ($(SAN),1)
O       ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
O       ?= build
SANFLAGS =
endif

# libsystemd: sd_notify, the readiness of Type=notify units (a no-op
# without systemd)
PKGS     = libzmq libczmq libprotobuf-c hiredis inih json-c libsodium glib-2.0 libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
# The gateway's printing (cairo, pango) and HTTP (libcurl) libraries: only
# the gateway's modules and what links them use these flags, so the five
# services stay free of them.
GW_PKGS  = cairo pango pangocairo fontconfig libcurl libmicrohttpd
GW_CFLAGS := $(shell pkg-config --cflags $(GW_PKGS) 2>/dev/null)
GW_LIBS   := $(shell pkg-config --libs $(GW_PKGS) 2>/dev/null)

# The reporter's HTTP server (libmicrohttpd): only its modules and its
# binary use these flags.
REP_PKGS = libmicrohttpd
REP_CFLAGS := $(shell pkg-config --cflags $(REP_PKGS) 2>/dev/null)
REP_LIBS   := $(shell pkg-config --libs $(REP_PKGS) 2>/dev/null)

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) $(SANFLAGS) \
             -I$(O)/gen -Icommon -Iservices $(PKG_CFLAGS) -MMD -MP
LDLIBS   = $(PKG_LIBS) -lcsv -lm
LDFLAGS += $(SANFLAGS)

SERVICES = intake matcher scheduler survey reporter gateway

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(O)/%.o) $(O)/gen/tremplin.pb-c.o
SERVICE_BINS = $(SERVICES:%=$(O)/bin/tremplin-%)
# A service's logic (every .c but main.c) is a library of its own, so the
# tool and the unit tests link the same code the service runs.
SVC_LOGIC_SRC = $(filter-out %/main.c,$(wildcard services/*/*.c))
SVC_LOGIC_OBJ = $(SVC_LOGIC_SRC:%.c=$(O)/%.o)
SVC_LIBS = $(SERVICES:%=$(O)/libsvc-%.a)
# the services' libraries use one another (the survey and the reporter read
# the matcher's catalogue): linked as a group, in any order
SVC_GROUP = -Wl,--start-group $(SVC_LIBS) -Wl,--end-group
CLI_SRC  = $(wildcard tools/tremplin/*.c)
CLI_OBJ  = $(CLI_SRC:%.c=$(O)/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
# The unit tests of the bus core and of the FCALLs call.c builds: linked with
# a fake Redis in place of common/rds.c (a link seam, as mosquitto's unit
# tests link real objects with stub files) and a monotonic clock the test
# moves (the linker's --wrap), so they run in milliseconds without a server.
# Every other test links rds.o.
FAKE_TESTS = test_outbox test_inbox test_loop test_svc test_call
FAKE_OBJ = $(O)/tests/unit/fake_rds.o $(O)/tests/unit/fake_clock.o $(O)/tests/unit/inproc.o
FAKE_LDFLAGS = -Wl,--wrap=clock_mono_ms
# The unit tests of the gateway's modules (services/gateway/): linked with
# its library and GW_LIBS.
GW_TESTS = test_sms test_message test_quiet test_reply test_roster_csv test_pdf test_http test_route
CORE_OBJ = $(filter-out $(O)/common/rds.o,$(COMMON_OBJ))
INTEG_SRC = $(wildcard tests/integration/test_*.c)
INTEG_BINS = $(INTEG_SRC:tests/integration/%.c=$(O)/tests/%)
# everything of tests/integration that is not a test: the harness and its helpers
HARNESS_SRC = $(filter-out tests/integration/test_%.c,$(wildcard tests/integration/*.c))
HARNESS_OBJ = $(HARNESS_SRC:%.c=$(O)/%.o)

.PHONY: all deps test test-faults test-ha check demo bench fuzz clean depcheck ensure-deps
.PRECIOUS: $(O)/gen/%_lua.c $(O)/gen/tremplin.pb-c.c $(O)/%.o

all: depcheck $(SERVICE_BINS) $(O)/bin/tremplin $(UNIT_BINS) $(INTEG_BINS) $(O)/bench/loadgen $(O)/bench/aof_kill

depcheck:
	@deploy/deps.sh --check

deps:
	deploy/deps.sh

# ---------------------------------------------------------------- generated

$(O)/gen/tremplin.pb-c.c $(O)/gen/tremplin.pb-c.h: proto/tremplin.proto
	@mkdir -p $(O)/gen
	protoc-c --proto_path=proto --c_out=$(O)/gen $<

# The Redis library of a service: common/bus.lua then the service's own
# functions, embedded as a C string.
$(O)/gen/%_lua.c: common/bus.lua services/%/*.lua
	@mkdir -p $(O)/gen
	@{ printf 'const char %s_lua[] =\n' $*; \
	   cat common/bus.lua services/$*/$*.lua | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/'; \
	   printf ';\n'; } > $@

# The reporter's dashboard page, embedded as a C string (no file to deploy).
$(O)/gen/reporter_html.c: services/reporter/dashboard.html
	@mkdir -p $(O)/gen
	@{ printf 'const char reporter_dashboard_html[] =\n'; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	   printf ';\n'; } > $@

# ------------------------------------------------------------------ objects

$(COMMON_OBJ) $(CLI_OBJ) $(SVC_LOGIC_OBJ): | $(O)/gen/tremplin.pb-c.h

$(O)/%.o: %.c | $(O)/gen/tremplin.pb-c.h
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/gen/%.o: $(O)/gen/%.c
	$(CC) $(filter-out -Werror -Wshadow -Wstrict-prototypes,$(ALL_CFLAGS)) -c $< -o $@

$(O)/libtremplin.a: $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

# common/ without rds.o, for the tests that link fake_rds.o instead
$(O)/libtremplin-core.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

define svc_lib_rule
$(O)/libsvc-$(1).a: $(patsubst %.c,$(O)/%.o,$(filter-out %/main.c,$(wildcard services/$(1)/*.c)))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach s,$(SERVICES),$(eval $(call svc_lib_rule,$(s))))

$(O)/services/gateway/%.o: ALL_CFLAGS += $(GW_CFLAGS)
$(O)/services/reporter/%.o: ALL_CFLAGS += $(REP_CFLAGS)
$(O)/bin/tremplin-reporter: $(O)/gen/reporter_html.o
$(O)/bin/tremplin-reporter: LDLIBS += $(REP_LIBS)
$(O)/tools/tremplin/%.o: ALL_CFLAGS += $(GW_CFLAGS)
# the gateway and the tool (rosters, letters) print and talk HTTP
$(O)/bin/tremplin-gateway $(O)/bin/tremplin: LDLIBS += $(GW_LIBS)

# ----------------------------------------------------------------- binaries

# a service may use another's pure logic (the scheduler checks the timetable
# against the matcher's catalogue, the gateway reads both): every library is
# offered, as a group (they refer to one another), the linker takes what is
# used
$(O)/bin/tremplin-%: $(O)/services/%/main.o $(O)/gen/%_lua.o $(O)/libsvc-%.a $(SVC_LIBS) $(O)/libtremplin.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter-out %.a,$^) -Wl,--start-group $(O)/libsvc-$*.a $(SVC_LIBS) -Wl,--end-group \
	    $(O)/libtremplin.a $(LDLIBS)

# the tool carries the services' function libraries (`tremplin functions load`)
$(O)/bin/tremplin: $(CLI_OBJ) $(SERVICES:%=$(O)/gen/%_lua.o) $(SVC_LIBS) $(O)/libtremplin.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(SERVICES:%=$(O)/gen/%_lua.o) $(SVC_GROUP) $(O)/libtremplin.a $(LDLIBS)

# make bench's end-to-end referral load generator (tests/bench.sh)
$(O)/bench/loadgen: $(O)/tests/bench/loadgen.o $(SVC_LIBS) $(O)/libtremplin.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(SVC_GROUP) $(O)/libtremplin.a $(LDLIBS)

# what a kill -9 of Redis loses per appendfsync policy (tests/bench/aof-kill.sh)
$(O)/bench/aof_kill: $(O)/tests/bench/aof_kill.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LDLIBS)

$(FAKE_TESTS:%=$(O)/tests/%): $(O)/tests/%: $(O)/tests/unit/%.o $(FAKE_OBJ) $(O)/libtremplin-core.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(FAKE_LDFLAGS) -o $@ $< $(FAKE_OBJ) $(O)/libtremplin-core.a $(CMOCKA_LIBS) $(LDLIBS)

$(GW_TESTS:%=$(O)/tests/%): $(O)/tests/%: $(O)/tests/unit/%.o $(O)/libsvc-gateway.a $(O)/libtremplin.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(O)/libsvc-gateway.a $(O)/libtremplin.a $(CMOCKA_LIBS) $(GW_LIBS) $(LDLIBS)

# the demo season's scenario is the tool's (tools/tremplin/season_plan.c)
$(O)/tests/test_season_plan: $(O)/tests/unit/test_season_plan.o $(O)/tools/tremplin/season_plan.o $(O)/libtremplin-core.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)

$(O)/tests/test_%: $(O)/tests/unit/test_%.o $(SVC_LIBS) $(O)/libtremplin.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(SVC_GROUP) $(O)/libtremplin.a $(CMOCKA_LIBS) $(LDLIBS)

$(O)/tests/test_%: $(O)/tests/integration/test_%.o $(HARNESS_OBJ) $(SVC_LIBS) $(O)/libtremplin.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(HARNESS_OBJ) $(SVC_GROUP) $(O)/libtremplin.a $(CMOCKA_LIBS) $(LDLIBS)

# -------------------------------------------------------------------- tests

# The suite CI runs: everything under sanitizers, then one summary line.
test: ensure-deps browser-deps
	@$(MAKE) --no-print-directory SAN=1 all
	@tests/run.sh build/san all

# The chaos test alone (also part of make test): the whole flow under kill -9,
# SIGSTOP, a Redis restart and a second instance, then an audit of Redis.
test-faults: ensure-deps
	@$(MAKE) --no-print-directory SAN=1 all
	@tests/run.sh build/san test_faults

# High availability alone (also part of make test): Redis primary, replica and
# three Sentinels, two instances of each service on two loopback "hosts", the
# primary and one instance of each killed under load, then an audit.
test-ha: ensure-deps
	@$(MAKE) --no-print-directory SAN=1 all
	@tests/run.sh build/san test_ha

check: ensure-deps
	@$(MAKE) --no-print-directory SAN=1 all
	@tests/run.sh build/san unit

bench: all
	@tests/bench.sh build

fuzz:
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)

demo: ensure-deps
	@$(MAKE) --no-print-directory all
	@ONESHOT=$(ONESHOT) SEED=$(SEED) deploy/stack.sh demo build

# Installs what is missing (asks for root only then). The build itself runs
# in a second make, so pkg-config sees the freshly installed packages.
# The browser test's playwright-core, pinned in tests/browser/package-lock.json
# (npm ci, again when the lock file changed). When npm cannot, the browser
# test says so and is skipped, never passed.
.PHONY: browser-deps
browser-deps:
	@[ tests/browser/node_modules/.package-lock.json -nt tests/browser/package-lock.json ] \
	  || (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) \
	  || echo "browser-deps: npm ci failed: the browser test will be skipped" >&2

.PHONY: ensure-deps
ensure-deps:
	@deploy/deps.sh --check >/dev/null 2>&1 || deploy/deps.sh

clean:
	rm -rf build

-include $(shell find $(O) -name '*.d' 2>/dev/null)
