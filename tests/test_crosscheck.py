"""`catalog crosscheck`: the published lists of 2026-08-17 against the models.dev snapshot."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture_path
from published_lists import publish_all

from pipeline.cli import main
from pipeline.crosscheck import load_reference, run_crosscheck
from pipeline.publishing.store import LocalStore

MODELSDEV = "modelsdev-api-2026-06-13.json"
HOSTS = ("cerebras", "groq", "together", "baseten")


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crosscheck") / "store"
    publish_all(LocalStore(root))
    return root


def run_json(store_dir: Path, reference: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    code = main(["crosscheck", str(reference), "--store", str(store_dir), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_json_report_per_field_with_both_values_and_evidence(store_dir, capsys):
    report = run_json(store_dir, fixture_path(MODELSDEV), capsys)
    assert report["format"] == "models.dev"
    sources = {s["source"]: s for s in report["sources"]}
    assert sources["gemini"]["referenceProvider"] == "google"
    assert sources["together"]["referenceProvider"] == "togetherai"
    # 341 matched before `:batch` variants stopped matching their base model's entry.
    assert 290 < sources["openrouter"]["matched"] < 341
    fields = report["fields"]["providers"]
    assert set(fields) == {
        "input",
        "output",
        "cacheRead",
        "cacheWrite",
        "maxContext",
        "maxOutput",
        "supportsVision",
        "supportsTools",
        "reasoning",
        "structuredOutput",
    }
    for counts in fields.values():
        assert counts["agree"] + counts["disagree"] == counts["overlap"]
    # Flags nothing states are unknown in provider lists: counted apart, never a disagreement.
    assert fields["supportsTools"]["unknown"] > 40
    assert "default" not in report["byOrigin"]["providers"]
    # A native figure that disagrees upstream (Cohere counts the output in its context).
    cohere = [
        d
        for d in report["disagreementList"]
        if (d["source"], d["id"], d["field"]) == ("cohere", "command-a-03-2025", "maxContext")
    ]
    assert cohere == [
        {
            "source": "cohere",
            "id": "command-a-03-2025",
            "referenceId": "cohere/command-a-03-2025",
            "field": "maxContext",
            "ours": 288000,
            "theirs": 256000,
            "ourEvidence": "native",
            "theirEvidence": {"limit.context": 256000},
            "origin": "native",
            "match": "exact",
        }
    ]


def test_no_disagreement_comes_from_another_hosts_figure(store_dir):
    result = run_crosscheck(LocalStore(store_dir), str(fixture_path(MODELSDEV)))
    for d in result.disagreements:
        if d.source in HOSTS and d.field in ("input", "output", "maxContext", "maxOutput"):
            assert d.origin == "native", d
    keys = {(d.source, d.id, d.field) for d in result.disagreements}
    # The issue's examples: Cerebras' gpt-oss-120b no longer carries OpenRouter's
    # cheapest-host $0.03/$0.17 and 131072 cap; DashScope's qwen3-32b no longer $0.08/$0.28.
    for example in [
        ("cerebras", "gpt-oss-120b", "input"),
        ("cerebras", "gpt-oss-120b", "maxOutput"),
        ("dashscope", "qwen3-32b", "input"),
        ("deepseek", "deepseek-v4-pro", "input"),
        ("together", "google/gemma-4-31B-it", "supportsVision"),
        ("together", "moonshotai/Kimi-K2.6", "supportsVision"),
        ("openai", "o3-deep-research", "reasoning"),
    ]:
        assert example not in keys, example


def test_openrouter_variants_match_only_their_own_reference_entry(store_dir):
    """`openai/gpt-4o:batch` is half price by design: comparing it with models.dev's
    `openai/gpt-4o` would be a disagreement of our making."""
    result = run_crosscheck(LocalStore(store_dir), str(fixture_path(MODELSDEV)))
    for d in result.disagreements:
        if ":" in d.id:
            assert d.reference_id.endswith(d.id), d
    assert not any(d.id.endswith(":batch") for d in result.disagreements)


def test_text_report_lists_table_and_disagreements(store_dir, capsys):
    code = main(["crosscheck", str(fixture_path(MODELSDEV)), "--store", str(store_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "field" in out and "providers agree/overlap" in out
    assert "cohere:command-a-03-2025 maxContext: ours 288000 (native)" in out


def test_litellm_format(store_dir, tmp_path, capsys):
    # LiteLLM's model_prices_and_context_window.json shape (per-token prices, provider
    # prefixes on every key but OpenAI's); no copy of it is stored (SOURCES.md), so these
    # entries are transcribed in that shape.
    reference = tmp_path / "model_prices_and_context_window.json"
    reference.write_text(
        json.dumps(
            {
                "sample_spec": {
                    "litellm_provider": "one of https://docs.litellm.ai/docs/providers"
                },
                "gpt-4o": {
                    "litellm_provider": "openai",
                    "input_cost_per_token": 2.5e-06,
                    "output_cost_per_token": 1e-05,
                    "max_input_tokens": 128000,
                    "max_output_tokens": 16384,
                    "supports_vision": True,
                    "supports_function_calling": True,
                    "supports_response_schema": True,
                },
                "cerebras/gpt-oss-120b": {
                    "litellm_provider": "cerebras",
                    "input_cost_per_token": 2.5e-07,
                    "output_cost_per_token": 6.9e-07,
                    "max_input_tokens": 131072,
                    "max_output_tokens": 32768,
                    "supports_function_calling": True,
                    "supports_reasoning": True,
                },
            }
        )
    )
    parsed = load_reference(reference)
    assert parsed.format == "litellm"
    assert parsed.providers["openai"]["gpt-4o"].fields["input"] == Decimal("2.500000")
    report = run_json(store_dir, reference, capsys)
    sources = {s["source"]: s for s in report["sources"]}
    # gpt-4o and its dated snapshots (date tags meet an undated reference id).
    assert sources["openai"]["matched"] == 4 and sources["cerebras"]["matched"] == 1
    assert report["fields"]["providers"]["input"]["agree"] >= 1  # gpt-4o at $2.50
    cerebras = [d for d in report["disagreementList"] if d["source"] == "cerebras"]
    # Cerebras states no prices or limits and none are borrowed: nothing to compare there.
    assert all(d["field"] not in ("input", "output", "maxOutput") for d in cerebras)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read"), ("{not json", "not valid JSON"), ('{"a": 1}', "neither models.dev")],
)
def test_unreadable_reference_exits_1_naming_the_file(
    store_dir, tmp_path, capsys, content, problem
):
    path = tmp_path / "ref.json"
    if content is not None:
        path.write_text(content)
    code = main(["crosscheck", str(path), "--store", str(store_dir)])
    err = capsys.readouterr().err
    assert code == 1
    assert str(path) in err and problem in err


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[" * 200_000 + "]" * 200_000, "nests deeper than 32 levels"),  # RecursionError before
        ('{"p": {"models": {"m": {"limit": {"context": ' + "9" * 5000 + "}}}}}", "not valid JSON"),
    ],
)
def test_hostile_reference_is_refused_with_a_clear_error(
    store_dir, tmp_path, capsys, content, problem
):
    path = tmp_path / "ref.json"
    path.write_text(content)
    code = main(["crosscheck", str(path), "--store", str(store_dir)])
    err = capsys.readouterr().err
    assert code == 1
    assert str(path) in err and problem in err


def test_oversized_reference_is_refused_unread(store_dir, tmp_path, capsys):
    from pipeline.crosscheck.reference import MAX_REFERENCE_BYTES

    path = tmp_path / "huge.json"
    with path.open("wb") as handle:  # sparse: no disk or memory spent on the test's side
        handle.truncate(MAX_REFERENCE_BYTES + 10)
    code = main(["crosscheck", str(path), "--store", str(store_dir)])
    assert code == 1
    assert "larger than 64 MiB" in capsys.readouterr().err


def test_infinite_figures_in_the_reference_are_no_figures(store_dir, tmp_path, capsys):
    path = tmp_path / "ref.json"
    path.write_text(
        # 1e999 parses to an infinite float (int() of it would raise); a negative price is
        # no price. (`Infinity`/`NaN` literals are not JSON: refused as such.)
        '{"openai": {"models": {"gpt-4o": {"limit": {"context": 1e999, "output": 1e999},'
        ' "cost": {"input": -5, "output": 10}}}}}'
    )
    report = run_json(store_dir, path, capsys)
    fields = report["fields"]["providers"]
    assert fields["maxContext"]["overlap"] == 0 and fields["maxOutput"]["overlap"] == 0
    assert fields["input"]["overlap"] == 0
    assert report["matched"]["openai"] >= 1


def test_empty_store_exits_1(tmp_path, capsys):
    code = main(["crosscheck", str(fixture_path(MODELSDEV)), "--store", str(tmp_path / "none")])
    assert code == 1
    assert "nothing published" in capsys.readouterr().err


def test_full_refresh_records_the_crosscheck_summary(tmp_path, capsys):
    """With `crosscheck.reference_file` configured, `syncmodels all` ends with a crosscheck
    whose summary is in the run report and status.json (job `crosscheck`)."""
    from conftest import read_json

    from pipeline.config import CatalogConfig, CrosscheckConfig
    from pipeline.publishing import keys
    from pipeline.runs.jobs import run_job
    from pipeline.timeutil import parse_iso

    store = LocalStore(tmp_path / "store")
    config = CatalogConfig(crosscheck=CrosscheckConfig(reference_file=str(fixture_path(MODELSDEV))))
    result = run_job(
        "full_refresh",
        store,
        config,
        now=parse_iso("2026-08-17T12:00:00Z"),
        from_file=fixture_path("openrouter-models-2026-08-17.json"),
    )
    assert result.exit_code == 0
    assert "crosscheck: " in result.summary and "disagreements" in result.summary
    entry = read_json(store, keys.STATUS)["jobs"]["crosscheck"]
    assert entry["outcome"] == "ok"
    assert entry["sources"]["openrouter"]["matched"] > 290
    assert entry["counts"]["disagreements"] == entry["sources"]["openrouter"]["disagreements"]
    report = read_json(store, keys.run_report(entry["runId"]))
    assert report["details"]["crosscheck"]["fields"]["openrouter"]["input"]["overlap"] > 280
    # An unreadable reference is a failed check, never a failed refresh.
    bad = CatalogConfig(crosscheck=CrosscheckConfig(reference_file=str(tmp_path / "missing")))
    again = run_job(
        "full_refresh",
        store,
        bad,
        now=parse_iso("2026-08-17T13:00:00Z"),
        from_file=fixture_path("openrouter-models-2026-08-17.json"),
    )
    assert again.exit_code == 0
    failed = read_json(store, keys.STATUS)["jobs"]["crosscheck"]
    assert failed["outcome"] == "failed" and "cannot read" in failed["error"]


# -- issue 26: matching that neither invents nor misses; the third reference format ----------

LITELLM = "litellm-model-prices-2026-07-24.json"
GENAI = "genai-prices-data-2026-08-19.json"


def test_a_paid_model_is_never_paired_with_the_references_free_variant(store_dir):
    """models.dev lists only `cognitivecomputations/dolphin-mistral-24b-venice-edition:free`
    for OpenRouter; the paid id was paired with it through the stripped key."""
    reference = load_reference(fixture_path(MODELSDEV))
    assert (
        "cognitivecomputations/dolphin-mistral-24b-venice-edition:free"
        in (reference.providers["openrouter"])
    )
    result = run_crosscheck(LocalStore(store_dir), str(fixture_path(MODELSDEV)))
    for d in result.disagreements:
        assert d.reference_id.endswith(":free") == d.id.endswith(":free"), d
    paid = crosscheck_pairs(store_dir, MODELSDEV)
    assert "cognitivecomputations/dolphin-mistral-24b-venice-edition" not in paid["openrouter"]


def crosscheck_pairs(store_dir: Path, reference_name: str) -> dict[str, dict[str, str]]:
    """Source → our id → the reference entry it was paired with."""
    from pipeline.crosscheck import published_lists
    from pipeline.crosscheck.compare import _Matcher

    reference = load_reference(fixture_path(reference_name))
    out: dict[str, dict[str, str]] = {}
    for listed in published_lists(LocalStore(store_dir)):
        pool: dict[str, Any] = {}
        for provider in reference.providers_for(listed.source, listed.source_type):
            pool.update({k: v for k, v in reference.providers[provider].items() if k not in pool})
        matcher = _Matcher(pool)
        out[listed.source] = {}
        for record in listed.models:
            found, _how, _ambiguous = matcher.match(record.id)
            if found is not None:
                out[listed.source][record.id] = f"{found.provider}/{found.id}"
    return out


def test_litellm_cohere_embeddings_and_case_duplicates_are_compared(store_dir):
    pairs = crosscheck_pairs(store_dir, LITELLM)
    # Cohere's embedding and rerank models are LiteLLM's `cohere`, its chat models
    # `cohere_chat`: both are Cohere's (before: 4 matched, the embedders never compared).
    embedders = {i: r for i, r in pairs["cohere"].items() if r.startswith("cohere/")}
    assert len(embedders) >= 5 and "embed-v4.0" in embedders
    assert len(pairs["cohere"]) == 12
    # LiteLLM lists together_ai/baai/bge-base-en-v1.5 and together_ai/BAAI/... twice:
    # the entry spelled like Together's id is the one compared.
    assert pairs["together"]["BAAI/bge-base-en-v1.5"] == "together_ai/BAAI/bge-base-en-v1.5"


def test_dated_snapshots_paired_with_an_undated_entry_say_so(store_dir, capsys):
    result = run_crosscheck(LocalStore(store_dir), str(fixture_path(MODELSDEV)))
    undated = [d for d in result.disagreements if d.match == "undated"]
    # 2026-08-17 lists against models.dev 2026-06-13: 47 of 144 provider disagreements
    # before, none marked; 27 now (the 20 others were DashScope's US region, no longer
    # compared with international prices).
    assert len(undated) == 27 and result.by_match()["undated"] == 27
    assert all(d.source != "openrouter" for d in undated)
    assert ("dashscope", "qwen-plus-2025-01-25") in {(d.source, d.id) for d in undated}
    code = main(["crosscheck", str(fixture_path(MODELSDEV)), "--store", str(store_dir)])
    out = capsys.readouterr().out
    assert code == 0 and "(dated id vs undated entry)" in out
    assert "paired by: " in out and "27 undated" in out


def test_dashscope_us_is_not_compared_with_international_prices(store_dir):
    for name in (MODELSDEV, LITELLM, GENAI):
        result = run_crosscheck(LocalStore(store_dir), str(fixture_path(name)))
        us = next(s for s in result.sources if s.source == "dashscope-us")
        assert (us.reference_provider, us.matched) == (None, 0), name
        assert not any(d.source == "dashscope-us" for d in result.disagreements)


def test_genai_prices_data_is_a_third_reference_format(store_dir, capsys):
    reference = load_reference(fixture_path(GENAI))
    assert reference.format == "genai-prices" and len(reference.providers) == 34
    sonnet = reference.providers["openrouter"]["anthropic/claude-sonnet-5"]
    # A price list under constraints: the set without one (from 2026-09-01 it changes).
    assert (sonnet.fields["input"], sonnet.fields["output"]) == (Decimal(2), Decimal(10))
    assert sonnet.fields["maxContext"] == 1_000_000
    # A tiered price: its base.
    assert reference.providers["openrouter"]["x-ai/grok-4-fast"].fields["input"] == Decimal("0.2")
    document = run_json(store_dir, fixture_path(GENAI), capsys)
    assert document["format"] == "genai-prices"
    assert document["matched"]["openrouter"] > 250 and document["matched"]["anthropic"] >= 8
    # Its own match rules pair provider ids (claude-*-2025… with starts_with rules).
    assert document["byMatch"].get("rule", 0) > 0
    rules = [d for d in document["disagreementList"] if d["match"] == "rule"]
    assert all(d["source"] != "openrouter" or ":" not in d["id"] for d in rules)
    for d in document["disagreementList"]:
        assert d["field"] in ("input", "output", "cacheRead", "cacheWrite", "maxContext"), d
        assert next(iter(d["theirEvidence"])).startswith(("prices.", "context_window")), d
