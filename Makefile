# tinymlaas - the two quick-start commands and a few more. Every target installs what it
# needs first (scripts/install-deps.sh is idempotent), so each works on a fresh Debian machine.
#
#   make demo     build, then run the product end to end on its embedded defaults
#   make test     build and run every test (ctest)
#   make asan     the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz     build the libFuzzer targets and run each for FUZZ_SECONDS
#   make bench    run the benchmarks and print their tables

BUILD        ?= build
JOBS         ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps build test demo asan fuzz bench clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	@./scripts/demo.sh $(BUILD)

asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DTML_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DTML_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@./scripts/run-fuzzers.sh build-fuzz $(FUZZ_SECONDS)

bench: build
	@./bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
