# Two commands on a fresh clone: `make demo` and `make test`. Everything else is installed here.
SHELL := /bin/bash
PY312 ?= $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12; do $$p -c 'import sys' >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
export PATH := $(dir $(PY312)):$(PATH)

.PHONY: demo test soak up build deploy lint clean bench burst

$(BIN)/etl-local: pyproject.toml
	test -n "$(PY312)" || { echo "python3.12 is needed (the Lambda runtime's Python)"; exit 1; }
	$(PY312) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(SAM_VENV)/bin/sam:
	$(PY312) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli==1.170.0' 'awscli>=1.36'
	touch $@

# checkov pins an old boto3 that breaks aws-sam-cli: it gets a virtual environment of its own.
$(CHECKOV_VENV)/bin/checkov:
	$(PY312) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==3.3.30'
	touch $@

node_modules/.bin/asl-validator: package.json
	npm install --no-audit --no-fund --silent
	touch $@

demo: $(BIN)/etl-local
	$(BIN)/etl-local demo

test: $(BIN)/etl-local $(SAM_VENV)/bin/sam $(CHECKOV_VENV)/bin/checkov node_modules/.bin/asl-validator
	SAM_CLI=$(abspath $(SAM_VENV)/bin/sam) CHECKOV=$(abspath $(CHECKOV_VENV)/bin/checkov) $(BIN)/python -m pytest -q

# The property tests with many more examples than `make test` runs: random upload/fault sequences
# (EXAMPLES, default 50) and generated uploads through the validator and the Glue job (ONE_READING, default 200).
soak: $(BIN)/etl-local
	SOAK_EXAMPLES=$(or $(EXAMPLES),50) ONE_READING_EXAMPLES=$(or $(ONE_READING),200) \
	  $(BIN)/python -m pytest -q tests/workflow/test_property.py tests/integration/test_one_reading.py

# Validator throughput and memory vs pandas+pandera and DuckDB (docs/performance.md); not part of test.
# BENCH_SIZES=0.1 for a quick run (GB, comma-separated; default 1,4), BENCH_REPEATS (default 3).
# Its own environment: pandas (and numpy) must never be importable by the tests of the Lambda code.
bench:
	$(PY312) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --upgrade pip
	.venv-bench/bin/pip install --quiet -e '.[dev]' 'pandas==3.1.1' 'duckdb==2.0.0' 'psutil==7.2.2'
	.venv-bench/bin/python -m bench.run

# A burst of FILES uploads at once on the local stack with AWS timing (--latency aws, time scale 60);
# prints outcomes, batches, crawls, job runs and transitions per file. Not part of test.
burst: $(BIN)/etl-local
	mkdir -p .local && $(BIN)/python -m bench.burst --files $(or $(FILES),1000) --counts .local/burst-counts.jsonl

up: $(BIN)/etl-local
	$(BIN)/etl-local up --port 4566

build: $(SAM_VENV)/bin/sam
	$(SAM_VENV)/bin/sam build

deploy: build
	$(SAM_VENV)/bin/sam deploy --guided

lint: $(BIN)/etl-local $(SAM_VENV)/bin/sam $(CHECKOV_VENV)/bin/checkov node_modules/.bin/asl-validator
	$(BIN)/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download
	# asl-validator on each definition with its number placeholders substituted (tests/infra)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/infra/test_template.py -k asl_validator

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .venv-bench node_modules .aws-sam
