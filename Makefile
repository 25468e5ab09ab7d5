# loraharness: the two commands a newcomer runs are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/loraharness

.PHONY: all deps build test demo bench clean

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

# The main job on bundled defaults: a week of the Lorient-like fleet (Fixtures/scenarios/lorient.yaml).
demo: build
	$(BIN) simulate Fixtures/scenarios/lorient.yaml

# Benchmarks (release build of the loraharness-bench target); figures go in the README.
bench: deps
	$(SWIFT) build -c release --product loraharness-bench
	.build/release/loraharness-bench $(FILTER)

clean:
	rm -rf .build
