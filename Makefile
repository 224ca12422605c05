# clreg: one entry point for everything. `make help` lists the targets.

CC      ?= gcc
# Debian installs the OpenMP build of OpenBLAS beside the pthread build, and its alternatives point
# -lopenblas at the pthread one. Link the OpenMP build by path, with an rpath, so grid cells (OpenMP) and
# BLAS share one thread runtime instead of oversubscribing the cores.
OPENBLAS_LIB := /usr/lib/x86_64-linux-gnu/openblas-openmp
OPENBLAS_INC := /usr/include/x86_64-linux-gnu/openblas-openmp

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS_COMMON := -std=gnu11 $(WARN) -fopenmp -I. -I$(OPENBLAS_INC) -MMD -MP
OPTFLAGS  := -O3 -g -fno-math-errno
ASANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# GSL (experiments/stats.c: t and normal distribution functions, quantiles) links as -lgsl alone: Debian's
# libgsl.so carries its own dependency on libgslcblas, and at run time the cblas_* symbols bind to OpenBLAS,
# which comes first in the link order and so first in the lookup (checked with LD_DEBUG=bindings: clreg's
# cblas_sgemm binds to OpenBLAS). The two export the same cblas interface, so nothing clashes; clreg uses
# only GSL's distribution functions and statistics, which call no BLAS.
LDLIBS  := -L$(OPENBLAS_LIB) -Wl,-rpath,$(OPENBLAS_LIB) -lopenblas -lcsv -linih -lgsl -lz -lm -fopenmp

# Every Debian package the project uses. `make deps` installs what is missing and is silent otherwise.
# The second line is the private SLURM cluster of the tests (tests/slurm/cluster.sh): controller, node daemon,
# client tools and munge, without slurmdbd (accounting is off); iproute2's ss picks free ports for it.
# chromium: tests/test_report.c renders clreg report's page in headless Chromium (a real browser, not a parser).
DEB_PACKAGES := build-essential pkg-config libopenblas-openmp-dev libcsv-dev libinih-dev zlib1g-dev libgsl-dev \
                gnuplot-nox dataset-fashion-mnist libcmocka-dev clang-14 libclang-rt-14-dev libomp-14-dev \
                slurmctld slurmd slurm-client munge iproute2 procps chromium

LIB_SRC := $(wildcard core/*.c datasets/*.c models/*.c regularizers/*.c experiments/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_NAMES := $(notdir $(TEST_SRC:.c=))
BENCH_SRC := $(wildcard bench/*.c)

OPT_OBJ  := $(LIB_SRC:%.c=build/opt/%.o)
ASAN_OBJ := $(LIB_SRC:%.c=build/asan/%.o)

# Fuzzing (tests/fuzz/): libFuzzer targets built with Debian's clang under ASan+UBSan. Each target's entry
# function is also linked into tests/test_fuzz_corpus, which replays the corpora in the gcc builds.
FUZZ_CC      := clang-14
FUZZ_TARGETS := idx csv grid results
FUZZ_FLAGS   := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# -fopenmp=libgomp: the GNU OpenMP runtime that OpenBLAS already loads, not a second one (LLVM's); clang then
# compiles parallel regions as serial code, which is all the parsers need (libomp-14-dev provides omp.h).
FUZZ_CFLAGS  := $(filter-out -fopenmp,$(CFLAGS_COMMON)) -fopenmp=libgomp $(FUZZ_FLAGS)
FUZZ_LDLIBS  := $(filter-out -fopenmp,$(LDLIBS)) -fopenmp=libgomp
FUZZ_OBJ     := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_TIME    ?= 300
FUZZ_CI_TIME ?= 25

# The commit clreg is built from, for manifests and clreg merge's check that shards ran one build (core/version.h).
# build/commit.h is rewritten only when the commit changes, so nothing rebuilds needlessly.
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell \
                git rev-parse HEAD >/dev/null 2>&1 && ! git diff --quiet HEAD -- 2>/dev/null && echo -modified)
build/commit.h: FORCE
	@mkdir -p build
	@echo '#define CLREG_COMMIT "$(GIT_COMMIT)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
build/opt/core/version.o build/asan/core/version.o build/fuzz/core/version.o: build/commit.h

.PHONY: all deps run plots test test-opt test-asan fuzz fuzz-ci fuzz-build bench clean help FORCE
.DEFAULT_GOAL := all

all: clreg

help:
	@echo "make            build ./clreg (optimized)"
	@echo "make deps       install missing Debian packages (apt-get); silent when all are present"
	@echo "make run        deps + build + experiments/quick.ini on Fashion-MNIST, and its figures (results/quick/)"
	@echo "make plots      the figures of RESULTS (default results/quick) into RESULTS/plots/"
	@echo "make test       deps + build + the test suite, optimized and under ASan+UBSan, and fuzz-ci"
	@echo "make fuzz       deps + every fuzz target for FUZZ_TIME seconds each (default 300)"
	@echo "make fuzz-ci    every fuzz target for FUZZ_CI_TIME seconds each (default 25; part of make test)"
	@echo "make bench      deps + python3-torch + build + benchmarks (throughput against the BLAS ceiling and"
	@echo "                against PyTorch, importances, memory, a Fashion-MNIST CNN against PyTorch's accuracy)"
	@echo "make clean      remove build outputs"

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing" $$missing; \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
	    { echo "make deps: apt-get failed for:" $$missing >&2; exit 1; }; \
	fi

build/opt/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_COMMON) $(OPTFLAGS) -c $< -o $@

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(CFLAGS_COMMON) $(ASANFLAGS) -c $< -o $@

# Fuzz build: the library instrumented for coverage (fuzzer-no-link); the targets define libFuzzer's entry.
build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DCL_LIBFUZZER -c $< -o $@

build/opt/libclreg.a: $(OPT_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/asan/libclreg.a: $(ASAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

clreg: build/opt/clreg.o build/opt/libclreg.a
	$(CC) $(OPTFLAGS) -o $@ $^ $(LDLIBS)

build/asan/clreg: build/asan/clreg.o build/asan/libclreg.a
	$(CC) $(ASANFLAGS) -o $@ $^ $(LDLIBS)

build/fuzz/libclreg.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: build/fuzz/tests/fuzz/fuzz_%.o build/fuzz/tests/fuzz/fuzz_util.o build/fuzz/libclreg.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LDLIBS)

# The corpus replay links every target's entry function (built without -DCL_LIBFUZZER: no libFuzzer).
FUZZ_REPLAY_OBJ = $(FUZZ_TARGETS:%=build/$(1)/tests/fuzz/fuzz_%.o) build/$(1)/tests/fuzz/fuzz_util.o
build/opt/tests/test_fuzz_corpus: build/opt/tests/test_fuzz_corpus.o $(call FUZZ_REPLAY_OBJ,opt) build/opt/libclreg.a
	$(CC) $(OPTFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

build/asan/tests/test_fuzz_corpus: build/asan/tests/test_fuzz_corpus.o $(call FUZZ_REPLAY_OBJ,asan) build/asan/libclreg.a
	$(CC) $(ASANFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

build/opt/tests/%: build/opt/tests/%.o build/opt/libclreg.a
	$(CC) $(OPTFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

build/asan/tests/%: build/asan/tests/%.o build/asan/libclreg.a
	$(CC) $(ASANFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

build/opt/bench/%: build/opt/bench/%.o build/opt/libclreg.a
	$(CC) $(OPTFLAGS) -o $@ $^ $(LDLIBS)

# The main job on the default dataset: the quick grid on Fashion-MNIST.
run: deps clreg
	./clreg run experiments/quick.ini
	./clreg plot results/quick

# The figures of a results directory (default: the quick grid's).
RESULTS ?= results/quick
plots: deps clreg
	./clreg plot $(RESULTS)

# The suite twice: optimized (as users run it) and under AddressSanitizer + UndefinedBehaviorSanitizer,
# then every fuzz target briefly.
test: deps
	@$(MAKE) --no-print-directory test-opt test-asan fuzz-ci

test-opt: clreg $(TEST_NAMES:%=build/opt/tests/%)
	@tests/run_tests.sh build/opt ./clreg $(TEST_NAMES)

test-asan: build/asan/clreg $(TEST_NAMES:%=build/asan/tests/%)
	@tests/run_tests.sh build/asan build/asan/clreg $(TEST_NAMES)

# Fuzzing: each target for FUZZ_TIME seconds from its seeds, its earlier findings and the corpus it grew
# before (build/fuzz/corpus/); a finding fails the run and is left in build/fuzz/findings/TARGET/.
fuzz-build: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

fuzz: deps fuzz-build
	@tests/fuzz/run_fuzz.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-ci: fuzz-build
	@tests/fuzz/run_fuzz.sh $(FUZZ_CI_TIME) $(FUZZ_TARGETS)

# PyTorch, for the benchmarks that compare clreg with it (bench/torch/, run by Debian's /usr/bin/python3).
# Installed by `make bench` alone, the way deps installs its packages: the build and the tests never need
# it, and it is most of a gigabyte.
BENCH_PACKAGES := python3-torch

.PHONY: bench-deps
bench-deps:
	@missing=$$(for p in $(BENCH_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make bench: installing" $$missing; \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
	    { echo "make bench: apt-get failed for:" $$missing >&2; exit 1; }; \
	fi

# Every benchmark runs, one after the other (their timings must not share the cores), and a failing one does
# not hide the numbers of the rest; the target fails at the end if any did.
bench: deps bench-deps clreg $(BENCH_SRC:%.c=build/opt/%)
	@failed=; for b in $(BENCH_SRC:%.c=build/opt/%); do echo "== $$b"; $$b || failed="$$failed $${b##*/}"; done; \
	if [ -n "$$failed" ]; then echo "make bench: failed:$$failed" >&2; exit 1; fi

clean:
	rm -rf build clreg

.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
