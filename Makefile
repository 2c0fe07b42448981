# Every target bootstraps its own virtualenv, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: sync test lint types check bench fallback schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Quick start 1: sync the OpenRouter catalog into ./catalog-data and print a summary.
sync: $(STAMP)
	$(BIN)/syncmodels all

## Quick start 2: the whole suite — lint, types, tests.
test: $(STAMP) lint types
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests jobs bench
	$(BIN)/ruff format --check pipeline tests jobs bench

types: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

## Rebuild the embedded offline catalog from a recorded payload: make fallback FROM=path.json
fallback: $(STAMP)
	$(BIN)/catalog build-fallback --from-file $(FROM)

## Regenerate the committed JSON Schemas after changing pipeline/records.py.
schemas: $(STAMP)
	$(BIN)/catalog schemas --write

clean:
	rm -rf $(VENV) catalog-data .pytest_cache .mypy_cache .ruff_cache
