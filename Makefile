# A thin driver over CMake.  `make demo` and `make test` are all a new
# machine needs: both install missing Debian packages first.

MAKEFLAGS += --no-print-directory

BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps configure build demo test bench sim asan fuzz format clean

all: build

deps:
	@./.ci/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) --log-level=WARNING

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@./tests/cli/demo.sh $(BUILD)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

bench: configure
	@cmake --build $(BUILD) -j $(JOBS) --target benches
	@for b in $(BUILD)/tests/bench/bench_*; do \
		case "$$b" in */bench_cluster) continue;; esac; [ -x "$$b" ] && "$$b"; done
	@bash tests/bench/bench_cluster.sh $(BUILD) .

# The cluster simulation over thousands of seeds (ctest runs 300), in two
# halves side by side.  SIM_SEEDS=N changes how many; a failure prints its
# seed, and SETTLE_SIM_SEED=N $(BUILD)/tests/sim_cluster replays it.
SIM_SEEDS ?= 4000
sim: build
	@half=$$(( $(SIM_SEEDS) / 2 )); \
	$(BUILD)/tests/sim_cluster 1 $$half & first=$$!; \
	$(BUILD)/tests/sim_cluster $$(( half + 1 )) $$(( $(SIM_SEEDS) - half )) & second=$$!; \
	status=0; wait $$first || status=1; wait $$second || status=1; exit $$status

# The unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer,
# then every golden adjudication through both builds: the same bytes from a
# release and a sanitizer build.
asan: configure
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSETTLE_SANITIZE=ON --log-level=WARNING
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS) -L unit --timeout 600
	@cmake --build $(BUILD) -j $(JOBS) --target settle
	@sh tests/golden/run_golden.sh $(BUILD)/engine/settle tests/golden build-asan/engine/settle

# libFuzzer binaries (clang); run one with build-fuzz/tests/fuzz/fuzz_NAME CORPUS_DIR.
fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSETTLE_FUZZ=ON --log-level=WARNING
	@cmake --build build-fuzz -j $(JOBS)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	@rm -rf $(BUILD) build-asan build-fuzz
