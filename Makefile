# The two commands a fresh machine needs: `make run` and `make test`. Each installs what it needs.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python

.PHONY: run test test-clock reliability lint openapi bench build deploy validate bootstrap bootstrap-sam bootstrap-test clean

bootstrap:
	@bash scripts/bootstrap.sh

bootstrap-sam:
	@WITH_SAM=1 bash scripts/bootstrap.sh

# what `make test` needs on top: SAM's venv, and headless Chromium with CJK fonts (apt-get, when missing)
bootstrap-test:
	@WITH_SAM=1 WITH_BROWSER=1 bash scripts/bootstrap.sh

## run: the whole gateway locally (DynamoDB Local, moto, both sandboxes, the API); Ctrl-C stops it
run: bootstrap
	$(PY) -m paygate_local

## test: every test (unit, integration, end to end, template lint); files spread over 3 workers;
## prints line coverage of the test processes (files below 100 %), also in .local/coverage/coverage.json
## (the suite mostly waits on sockets and sandboxes, so 3 workers help even on 2 cores)
test: bootstrap-test
	@mkdir -p .local/coverage
	$(PY) -m pytest -n 3 --dist loadfile --cov --cov-report=term --cov-report=json:.local/coverage/coverage.json $(PYTEST_ARGS)

## test-clock: the date-sensitive tests (marker `clock`: refund_no dates, China/IST days, the e2e bill
## and refund flow) under a shifted clock, once per instant below: 23:59:50 and 00:00:10 China time
## (15:59:50 / 16:00:10 UTC), the eve of 1 March 2028 (29 February), a month end and a year end,
## each with another host zone (TZ). libfaketime (Debian's `faketime`, installed with apt-get if
## missing) shifts the wall clock by a relative offset, so it keeps running and every process of
## the stack (pytest, moto, the function workers, the sandboxes) reads the same shifted time.
## The monotonic clock stays real (FAKETIME_DONT_FAKE_MONOTONIC=1: with it shifted, Python's timed
## lock waits hang); tests/support/faketime_sleep_fix.c, loaded first, passes Python's monotonic
## sleeps to the kernel (libfaketime 0.9.10 fails them with EINVAL). DynamoDB Local's JVM hangs at
## start under libfaketime, so it keeps the real clock (FAKETIME_SKIP_CMDS=java): it only stores
## the times paygate writes. About 8 minutes. `make test` never uses faketime.
CLOCK_INSTANTS := 2027-03-15T15:59:50@UTC 2027-03-15T16:00:10@America/Los_Angeles \
	2028-02-29T15:59:50@Asia/Shanghai 2027-04-30T15:59:50@Asia/Kolkata 2027-12-31T15:59:50@America/New_York
test-clock: bootstrap
	@if ! ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || ! command -v cc >/dev/null; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y faketime gcc || { apt-get update && apt-get install -y faketime gcc; }; fi
	@mkdir -p .local/faketime
	cc -O2 -shared -fPIC -o .local/faketime/sleep_fix.so tests/support/faketime_sleep_fix.c -ldl
	@set -e; lib=$$(ls /usr/lib/*/faketime/libfaketime.so.1 | head -1); \
	for run in $(CLOCK_INSTANTS); do \
	  utc=$${run%@*}; zone=$${run#*@}; \
	  offset=$$(printf '%+d' $$(( $$(date -u -d "$${utc/T/ }" +%s) - $$(date -u +%s) ))); \
	  echo "== clock starts at $$utc UTC ($$(TZ=Asia/Shanghai date -d "@$$(( $$(date +%s) + offset ))" '+%F %T') China), TZ=$$zone"; \
	  TZ=$$zone LD_PRELOAD="$(CURDIR)/.local/faketime/sleep_fix.so:$$lib" FAKETIME="$$offset" \
	    FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_SKIP_CMDS=java \
	    $(PY) -m pytest -m clock -n 2 --dist loadfile -q -p no:cacheprovider $(PYTEST_ARGS); \
	done

## reliability: races, duplicate/forged callbacks, provider and storage faults, fuzzing, leaks; prints the figures
reliability: bootstrap
	$(PY) -m pytest tests/reliability -q $(PYTEST_ARGS)

## openapi: regenerate docs/openapi.json from the functions' routes and models
openapi: bootstrap
	PYTHONPATH=.:layers/paygate $(PY) -m scripts.openapi

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/paygate/paygate sandbox paygate_local scripts bench clients/python/paygate_client
	for f in functions/*/app.py; do $(VENV)/bin/mypy $$f || exit 1; done
	PYTHONPATH=layers/paygate:. $(VENV)/bin/lint-imports

validate: bootstrap-sam
	$(VENV)/bin/cfn-lint template.yaml
	PYENV_VERSION=$$(ls $${PYENV_ROOT:-$$HOME/.pyenv}/versions | grep '^3\.13' | head -1) \
	  AWS_DEFAULT_REGION=us-east-1 .venv-sam/bin/sam validate --lint

## build: sam build for python3.13, then ship .pyc (Lambda's code directory is read-only)
build: bootstrap-sam
	PATH="$$(dirname $$(readlink -f $(PY))):$$PATH" .venv-sam/bin/sam build
	$(PY) scripts/compile_build.py .aws-sam/build

## bench: cold init, warm latency and calls per operation, local throughput and memory, cost model
## (scripts that print figures; JSON copies in .local/bench/; see docs/performance.md)
BENCH := PYTHONPATH=.:layers/paygate $(PY) -m
bench: bootstrap
	@mkdir -p .local/bench
	$(BENCH) bench.cold --runs 7 --json .local/bench/cold.json
	$(BENCH) bench.warm --json .local/bench/warm.json
	$(BENCH) bench.load --json .local/bench/load.json
	$(BENCH) bench.cost --warm .local/bench/warm.json --json .local/bench/cost.json

## deploy: sam deploy with samconfig.toml (needs real AWS credentials)
deploy: build
	.venv-sam/bin/sam deploy

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
