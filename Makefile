# The two commands a fresh machine needs: `make run` and `make test`. Each installs what it needs.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python

.PHONY: run test reliability lint openapi bench build deploy validate bootstrap bootstrap-sam clean

bootstrap:
	@bash scripts/bootstrap.sh

bootstrap-sam:
	@WITH_SAM=1 bash scripts/bootstrap.sh

## run: the whole gateway locally (DynamoDB Local, moto, both sandboxes, the API); Ctrl-C stops it
run: bootstrap
	$(PY) -m paygate_local

## test: every test (unit, integration, end to end, template lint); files spread over 3 workers
## (the suite mostly waits on sockets and sandboxes, so 3 workers help even on 2 cores)
test: bootstrap-sam
	$(PY) -m pytest -n 3 --dist loadfile $(PYTEST_ARGS)

## reliability: races, duplicate/forged callbacks, provider and storage faults, fuzzing, leaks; prints the figures
reliability: bootstrap
	$(PY) -m pytest tests/reliability -q $(PYTEST_ARGS)

## openapi: regenerate docs/openapi.json from the functions' routes and models
openapi: bootstrap
	PYTHONPATH=.:layers/paygate $(PY) -m scripts.openapi

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/paygate/paygate sandbox paygate_local scripts clients/python/paygate_client
	for f in functions/*/app.py; do $(VENV)/bin/mypy $$f || exit 1; done

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
	$(BENCH) scripts.bench_cold --runs 7 --json .local/bench/cold.json
	$(BENCH) scripts.bench_warm --json .local/bench/warm.json
	$(BENCH) scripts.bench_load --json .local/bench/load.json
	$(BENCH) scripts.bench_cost --warm .local/bench/warm.json --json .local/bench/cost.json

## deploy: sam deploy with samconfig.toml (needs real AWS credentials)
deploy: build
	.venv-sam/bin/sam deploy

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
