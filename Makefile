# RocketMQ in Rust: build, test, run.
CARGO ?= cargo

.PHONY: build test lint run bench fmt

build:
	$(CARGO) build --workspace --all-targets

## The whole test suite (what CI runs, after lint).
test:
	$(CARGO) test --workspace --no-fail-fast

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## A local cluster on ./.data (name server on 9876, broker on 10911 once built).
run:
	./scripts/local-cluster.sh

bench:
	$(CARGO) bench -p rocketmq-namesrv
