# libFuzzer targets (clang): one per decoder. `make fuzz` runs each for
# FUZZ_SECONDS (default 10) on a seed corpus generated from the schema.
# Not a recursive part of the main Makefile's variables: it builds its own
# objects under build/fuzz with clang and -fsanitize=fuzzer,address,undefined.

FUZZ_SECONDS ?= 10
F = build/fuzz
FCC = clang
PKGS = libzmq libczmq libprotobuf-c hiredis inih json-c libsodium glib-2.0
FFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
         -I$(F)/gen -Icommon -Iservices $(shell pkg-config --cflags $(PKGS))
FLIBS = $(shell pkg-config --libs $(PKGS)) -lm
TARGETS = envelope referral referral_json referral_csv reply survey catalogue timetable conf
SRC = common/ids.c common/wire.c common/util.c common/clock.c common/calendar.c common/jsondoc.c services/intake/referral.c \
      services/intake/referral_json.c services/intake/referral_csv.c services/gateway/reply.c services/gateway/sms.c services/survey/answer.c \
      services/matcher/catalogue.c services/scheduler/timetable.c services/scheduler/timetable_index.c common/conf.c

.PHONY: run
# A target fails the run when the fuzzer exits non-zero or leaves any
# artifact (crash-, leak-, timeout-, oom-, slow-unit-): libFuzzer writes one
# per finding. Artifacts of an earlier run are cleared first, so each run
# speaks for itself.
run: $(TARGETS:%=$(F)/fuzz_%) $(F)/seeds
	@rm -f $(F)/crash-* $(F)/leak-* $(F)/timeout-* $(F)/oom-* $(F)/slow-unit-*
	@for t in $(TARGETS); do \
	    mkdir -p $(F)/corpus-$$t; $(F)/seeds $(F)/corpus-$$t $$t; \
	    echo "fuzz $$t for $(FUZZ_SECONDS)s"; \
	    $(F)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=70000 -artifact_prefix=$(F)/ -print_final_stats=1 \
	        $(F)/corpus-$$t > $(F)/fuzz_$$t.log 2>&1; rc=$$?; \
	    grep -E 'stat::number_of_executed_units|stat::new_units_added|ERROR|SUMMARY' $(F)/fuzz_$$t.log; \
	    found=$$(ls $(F)/crash-* $(F)/leak-* $(F)/timeout-* $(F)/oom-* 2>/dev/null); \
	    if [ $$rc -ne 0 ] || [ -n "$$found" ]; then \
	        echo "fuzz $$t: exit $$rc, artifacts: $${found:-none} (log $(F)/fuzz_$$t.log)"; exit 1; \
	    fi; \
	done

$(F)/gen/tremplin.pb-c.c: proto/tremplin.proto
	@mkdir -p $(F)/gen
	protoc-c --proto_path=proto --c_out=$(F)/gen $<

$(F)/fuzz_%: tests/fuzz/fuzz_%.c $(SRC) $(F)/gen/tremplin.pb-c.c
	$(FCC) $(FFLAGS) -fsanitize=fuzzer $^ -o $@ $(FLIBS)

$(F)/seeds: tests/fuzz/seeds.c $(SRC) $(F)/gen/tremplin.pb-c.c
	$(FCC) $(filter-out -fsanitize=%,$(FFLAGS)) $^ -o $@ $(FLIBS)
