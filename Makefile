# Every target bootstraps its own virtualenv, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: sync test lint types check bench chaos fallback schemas k8s clean

# checkov (tests/test_infra.py) pins boto3==1.35.49, packaging<24 and networkx<2.7: in the
# project's virtualenv it would downgrade the boto3 the stores run on. It gets a virtualenv of
# its own inside $(VENV), so `make clean` removes both.
CHECKOV_VENV  := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# Directories that exist (bench/ and jobs/ arrive with other issues).
LINT_PATHS    := $(wildcard pipeline tests jobs bench infra)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CHECKOV_STAMP): infra/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r infra/requirements-checkov.txt
	touch $(CHECKOV_STAMP)

## Quick start 1: sync the OpenRouter catalog into ./catalog-data and print a summary.
sync: $(STAMP)
	$(BIN)/syncmodels all

## Quick start 2: the whole suite — lint, types, tests.
test: $(STAMP) $(CHECKOV_STAMP) lint types
	CATALOG_REQUIRE_INFRA_TOOLS=1 $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

types: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

## 200 randomized faulted syncs (kills, hostile bodies and files); prints invariant counts.
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos --runs $(or $(RUNS),200)

## Rebuild the embedded offline catalog from a recorded payload: make fallback FROM=path.json
fallback: $(STAMP)
	$(BIN)/catalog build-fallback --from-file $(FROM)

## Regenerate the committed JSON Schemas after changing pipeline/records.py.
schemas: $(STAMP)
	$(BIN)/catalog schemas --write

## Regenerate infra/k8s/cronjobs.yaml after changing jobs/schedule.yaml.
k8s: $(STAMP)
	$(BIN)/python infra/k8s/render_cronjobs.py

clean:
	rm -rf $(VENV) catalog-data .pytest_cache .mypy_cache .ruff_cache
