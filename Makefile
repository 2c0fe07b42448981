# Every target bootstraps its own virtualenv, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: sync test tools lint types check bench chaos fallback schemas k8s clean

# checkov (tests/test_infra.py) pins boto3==1.35.49, packaging<24 and networkx<2.7: in the
# project's virtualenv it would downgrade the boto3 the stores run on. It gets a virtualenv of
# its own inside $(VENV), so `make clean` removes both.
CHECKOV_VENV  := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# Directories that exist (bench/ and jobs/ arrive with other issues).
LINT_PATHS    := $(wildcard pipeline tests jobs bench infra)

# `make sync` installs the runtime dependencies only; `make test` (and lint, types, bench) add
# the development tools on top. README.md gives both footprints.
$(STAMP): pyproject.toml
	@echo "installing the runtime dependencies into $(VENV) (first run only, about a minute)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	rm -f $(DEV_STAMP)
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	@echo "installing the development tools into $(VENV) (first run only)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

# The peers the benchmarks compare with (LiteLLM, genai-prices): `make bench` only.
$(BENCH_STAMP): $(DEV_STAMP)
	@echo "installing the benchmark peers (LiteLLM, genai-prices) into $(VENV) (first run only)"
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]' || echo "peers not installed: bench/peers.py says so and skips them"
	@# wrk drives the HTTP lines in C: the httpx fallback's clients take the same two cores as
	@# the server they measure. Installed when root on a Debian-like machine, else named.
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; } \
		|| echo "wrk not installed (apt-get install wrk): bench/reader.py falls back to httpx clients"
	touch $(BENCH_STAMP)

$(CHECKOV_STAMP): infra/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r infra/requirements-checkov.txt
	touch $(CHECKOV_STAMP)

## Quick start 1: sync the OpenRouter catalog into ./catalog-data and print a summary.
# --offline-ok: a rerun that cannot reach OpenRouter keeps the published catalog and says so
# once, with its age, instead of ending in a make error. Schedulers (cron, k8s, `catalog
# schedule`) run without it: there the same run exits 1 and status.json records `degraded`.
sync: $(STAMP)
	@$(BIN)/syncmodels all --offline-ok
	@echo "data: ./catalog-data/models/openrouter/current.json; look at it with: $(BIN)/catalog status"
	@echo "commands on PATH for this shell: export PATH=\"$$PWD/$(BIN):\$$PATH\""

## Quick start 2: the whole suite — lint, types, tests. `tools` comes first: on a machine without
## Chromium (or curl, jq, openssl) it installs them as root with apt-get, or stops at once
## with the command to run, before the virtualenvs are built.
test: tools $(DEV_STAMP) $(CHECKOV_STAMP) lint types
	CATALOG_REQUIRE_INFRA_TOOLS=1 CATALOG_REQUIRE_BROWSER=1 $(BIN)/pytest

tools:
	@sh tests/system-tools.sh

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

types: $(DEV_STAMP)
	$(BIN)/mypy

## Benchmarks: the machine, every figure, then a table of targets with ok/MISSED and the change
## against bench/baseline.json; exit 1 when a target missed or a line is > 20% worse than its
## baseline (`python -m bench --check`). Record a new baseline on purpose, in its own commit:
## `$(BIN)/python -m bench --update-baseline` (bench/targets.py).
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench --check

## 200 randomized faulted syncs (kills, hostile bodies and files); prints invariant counts.
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos --runs $(or $(RUNS),200)

## Rebuild the embedded offline catalog from a recorded payload (make fallback FROM=path.json),
## and its history from every payload of that folder up to the payload's date.
FROM ?= ../shared/fixtures/real/openrouter-models-all-2026-08-19.json
fallback: $(STAMP)
	$(BIN)/catalog build-fallback --from-file $(FROM)

## Regenerate the committed JSON Schemas after changing pipeline/records/.
schemas: $(STAMP)
	$(BIN)/catalog schemas --write

## Regenerate infra/k8s/cronjobs.yaml after changing jobs/schedule.yaml.
k8s: $(STAMP)
	$(BIN)/python infra/k8s/render_cronjobs.py

clean:
	rm -rf $(VENV) catalog-data .pytest_cache .mypy_cache .ruff_cache
