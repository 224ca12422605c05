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
LDLIBS  := -L$(OPENBLAS_LIB) -Wl,-rpath,$(OPENBLAS_LIB) -lopenblas -lcsv -linih -lz -lm -fopenmp

# Every Debian package the project uses. `make deps` installs what is missing and is silent otherwise.
DEB_PACKAGES := build-essential pkg-config libopenblas-openmp-dev libcsv-dev libinih-dev zlib1g-dev \
                gnuplot-nox dataset-fashion-mnist libcmocka-dev

LIB_SRC := $(wildcard core/*.c datasets/*.c models/*.c regularizers/*.c experiments/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_NAMES := $(notdir $(TEST_SRC:.c=))
BENCH_SRC := $(wildcard bench/*.c)

OPT_OBJ  := $(LIB_SRC:%.c=build/opt/%.o)
ASAN_OBJ := $(LIB_SRC:%.c=build/asan/%.o)

.PHONY: all deps run plots test test-opt test-asan bench clean help
.DEFAULT_GOAL := all

all: clreg

help:
	@echo "make            build ./clreg (optimized)"
	@echo "make deps       install missing Debian packages (apt-get); silent when all are present"
	@echo "make run        deps + build + experiments/quick.ini on Fashion-MNIST, and its figures (results/quick/)"
	@echo "make plots      the figures of RESULTS (default results/quick) into RESULTS/plots/"
	@echo "make test       deps + build + the test suite, optimized and under ASan+UBSan"
	@echo "make bench      deps + build + benchmarks (throughput against the BLAS ceiling, memory)"
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

# The suite twice: optimized (as users run it) and under AddressSanitizer + UndefinedBehaviorSanitizer.
test: deps
	@$(MAKE) --no-print-directory test-opt test-asan

test-opt: clreg $(TEST_NAMES:%=build/opt/tests/%)
	@tests/run_tests.sh build/opt ./clreg $(TEST_NAMES)

test-asan: build/asan/clreg $(TEST_NAMES:%=build/asan/tests/%)
	@tests/run_tests.sh build/asan build/asan/clreg $(TEST_NAMES)

bench: deps clreg $(BENCH_SRC:%.c=build/opt/%)
	@for b in $(BENCH_SRC:%.c=build/opt/%); do echo "== $$b"; $$b || exit 1; done

clean:
	rm -rf build clreg

.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
