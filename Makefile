# loraharness: the two commands a newcomer runs are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/loraharness

.PHONY: all deps build test demo bench clean fuzz-build fuzz fuzz-smoke screenshots slurm-test

all: build

deps:
	@bash scripts/deps.sh

build: deps
	$(SWIFT) build

# Every test: the C firmware (gcc, clang, sanitizers), the JavaScript codec (node), then the Swift package.
test: deps
	$(MAKE) -C hardware/firmware test
	node hardware/codec/test/run.js
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) slurm-test
	$(MAKE) fuzz-smoke

# Fleet shards under a real Slurm (a one-node cluster started here, sbatch --array), merged and compared with the
# unsharded run byte for byte (README, "Beyond one machine").
slurm-test:
	bash scripts/slurm-shards.sh
	@! LORAHARNESS_SLURM_TAMPER=1 bash scripts/slurm-shards.sh >/dev/null 2>&1 || { echo "slurm-test: a tampered shard was not caught" >&2; exit 1; }
	@echo "slurm-test: a tampered shard fails the comparison, as it must"

# Fuzzing (README, "Reliability"): every parser under libFuzzer with the address sanitizer (Swift targets in Fuzz/, a package of
# their own; the C codec and firmware console with clang's fuzzer, address and undefined-behaviour sanitizers).
# `make fuzz FUZZ_TIME=600` runs each target that long; `make test` runs each briefly and replays every kept crash.
FUZZ_TIME ?= 180
FUZZ_SMOKE_TIME ?= 15
# swiftc keeps only the last -sanitize= it is given, and SwiftPM passes its two in no fixed order: the combined
# flag, given last, keeps coverage (fuzzer) and the address sanitizer both. scripts/fuzz.sh fails a target that
# runs without coverage.
fuzz-build:
	cd Fuzz && $(SWIFT) build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address
	$(MAKE) -C hardware/firmware fuzz-build

fuzz: fuzz-build
	bash scripts/fuzz.sh $(FUZZ_TIME)
	$(MAKE) -C hardware/firmware fuzz FUZZ_TIME=$(FUZZ_TIME)

fuzz-smoke: fuzz-build
	bash scripts/fuzz.sh $(FUZZ_SMOKE_TIME)
	$(MAKE) -C hardware/firmware fuzz-smoke

# The main job on bundled defaults: a week of the Lorient-like fleet (Fixtures/scenarios/lorient.yaml).
demo: build
	$(BIN) simulate Fixtures/scenarios/lorient.yaml

# The README's screenshots of the HTML reports (docs/report-*.png), rendered by headless Chromium.
screenshots: build
	bash scripts/screenshots.sh

# Benchmarks (release build of the loraharness-bench target); figures go in the README.
bench: deps
	$(SWIFT) build -c release --product loraharness-bench
	.build/release/loraharness-bench $(FILTER)

clean:
	rm -rf .build Fuzz/.build .build-fuzz-runs
