"""Cost estimates on real tiered models of the 2026-08 feeds."""

from __future__ import annotations

import json
from datetime import time
from decimal import Decimal

import pytest
from conftest import fixture_path

from pipeline import cli
from pipeline.publishing import jsonio
from pipeline.records.model import Pricing
from pipeline.records.payloads import OpenRouterModel
from pipeline.stages.cost import CostError, estimate_cost
from pipeline.stages.normalize import normalize_openrouter

FEED = "openrouter-models-2026-08-19.json"
ALL = "openrouter-models-all-2026-08-19.json"


def pricing_of(model_id: str, name: str = FEED) -> Pricing:
    data = json.loads(fixture_path(name).read_bytes())["data"]
    raw = next(m for m in data if m["id"] == model_id)
    return normalize_openrouter(OpenRouterModel.model_validate(raw)).pricing


def usd(pricing: Pricing, **kw: int) -> Decimal:
    return estimate_cost(pricing, **kw).usd


def test_gpt_5_4_switches_to_the_long_context_price_at_272000_tokens():
    pricing = pricing_of("openai/gpt-5.4")
    below = estimate_cost(pricing, input_tokens=271_999, output_tokens=1_000)
    # Feed: prompt 0.0000025, completion 0.000015 per token.
    assert below.rule == "base"
    assert below.usd == Decimal("271999") * Decimal("2.5") / 10**6 + Decimal("0.015")
    at = estimate_cost(pricing, input_tokens=272_000, output_tokens=1_000)
    # Over the threshold the rule's prices apply to the whole request: 0.000005 / 0.0000225.
    assert at.rule == "minPromptTokens 272000"
    assert at.usd == Decimal("1.36") + Decimal("0.0225")


def test_gpt_5_4_cached_tokens_use_the_rule_cache_price():
    pricing = pricing_of("openai/gpt-5.4")
    small = usd(pricing, input_tokens=100_000, output_tokens=0, cached_tokens=40_000)
    assert (
        small
        == Decimal("60000") * Decimal("2.5") / 10**6 + Decimal("40000") * Decimal("0.25") / 10**6
    )
    large = usd(pricing, input_tokens=300_000, output_tokens=0, cached_tokens=100_000)
    assert large == Decimal("1.0") + Decimal("0.05")  # 200k × $5 + 100k × $0.50 per 1M


@pytest.mark.parametrize(
    ("prompt", "input_price", "output_price", "cache_price"),
    [
        # qwen/qwen3-max: base 0.78/3.9, ≥32000 1.56/7.8, ≥128000 1.95/9.75 (USD per 1M).
        (31_999, "0.78", "3.9", "0.156"),
        (32_000, "1.56", "7.8", "0.312"),
        (127_999, "1.56", "7.8", "0.312"),
        (128_000, "1.95", "9.75", "0.39"),
        (900_000, "1.95", "9.75", "0.39"),
    ],
)
def test_qwen3_max_takes_the_highest_threshold_reached(
    prompt, input_price, output_price, cache_price
):
    pricing = pricing_of("qwen/qwen3-max")
    estimate = estimate_cost(pricing, input_tokens=prompt, output_tokens=2_000, cached_tokens=1_000)
    expected = (
        (prompt - 1_000) * Decimal(input_price)
        + 1_000 * Decimal(cache_price)
        + 2_000 * Decimal(output_price)
    ) / 10**6
    assert estimate.usd == expected


def test_a_rule_keeps_the_base_prices_it_does_not_restate():
    # qwen/qwen3.6-plus has no cache-read price at all: cached tokens bill at the input price.
    pricing = pricing_of("qwen/qwen3.6-plus", ALL)
    estimate = estimate_cost(pricing, input_tokens=300_000, output_tokens=0, cached_tokens=1)
    assert estimate.rule == "minPromptTokens 256000"
    assert estimate.usd == Decimal(300_000) * Decimal("1.3") / 10**6
    assert any("cache-read" in note for note in estimate.notes)


@pytest.mark.parametrize(
    ("at", "input_price"),
    [
        (time(2, 0), "1.32"),  # 01:00-04:00 UTC window
        (time(4, 0), "0.66"),  # 04:00-06:00
        (time(7, 30), "1.32"),  # 06:00-10:00
        (time(23, 0), "0.66"),  # 10:00-01:00 wraps midnight
        (time(0, 59), "0.66"),
    ],
)
def test_deepseek_time_of_day_windows(at, input_price):
    pricing = pricing_of("deepseek/deepseek-v4-pro", ALL)
    estimate = estimate_cost(pricing, input_tokens=1_000_000, output_tokens=0, at=at)
    assert estimate.usd == Decimal(input_price)
    assert estimate.rule.startswith("utc ")


def test_deepseek_without_a_time_uses_the_base_price_and_says_so():
    pricing = pricing_of("deepseek/deepseek-v4-pro", ALL)
    estimate = estimate_cost(pricing, input_tokens=1_000_000, output_tokens=1_000_000)
    assert estimate.usd == Decimal("0.66") + Decimal("1.98")
    assert estimate.rule == "base"
    assert any("time of day" in note for note in estimate.notes)


def test_routers_and_bad_counts_are_errors():
    with pytest.raises(CostError, match="dynamically priced"):
        estimate_cost(pricing_of("openrouter/auto", ALL), input_tokens=1, output_tokens=1)
    with pytest.raises(CostError, match="part of the prompt"):
        estimate_cost(
            pricing_of("openai/gpt-5.4"), input_tokens=10, output_tokens=0, cached_tokens=11
        )


def test_catalog_cost_cli_by_alias(sync_file, store, capsys):
    assert sync_file(fixture_path(FEED)).published
    current = jsonio.loads(store.get("models/openrouter/current.json").data)
    alias = next(m["alias"] for m in current["models"] if m["id"] == "openai/gpt-5.4")
    argv = ["cost", alias, "--input", "300000", "--output", "1000", "--store", str(store.root)]
    assert cli.main([*argv, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["model"] == "openai/gpt-5.4"
    assert Decimal(str(document["usd"])) == Decimal("1.5") + Decimal("0.0225")
    assert document["rule"] == "minPromptTokens 272000"
    assert cli.main(argv) == 0
    assert "$1.522500" in capsys.readouterr().out
    assert (
        cli.main(
            ["cost", "no/such-model", "--input", "1", "--output", "1", "--store", str(store.root)]
        )
        == 4  # unknown model: the same code in every command
    )


# -- issue 26: a model not billed per token has no token price ---------------------------------


def test_models_not_billed_per_token_publish_no_token_price_and_refuse_a_cost(
    sync_file, store, capsys
):
    """2026-08-19 "all": 60 video, image, rerank and music models list prompt = completion =
    "0" although they are paid; before issue 26 they were published at $0/$0 with
    `isFree: false`, sorted cheapest and costed at $0."""
    raw = {m["id"]: m for m in json.loads(fixture_path(ALL).read_bytes())["data"]}
    assert sync_file(fixture_path(ALL)).published
    current = jsonio.loads(store.get("models/openrouter/current.json").data)
    models = {m["id"]: m for m in current["models"]}
    zero_but_paid = [
        m["id"]
        for m in models.values()
        if m["pricing"].get("input") == 0 and m["pricing"].get("output") == 0 and not m["isFree"]
    ]
    assert zero_but_paid == []
    listed_at_zero = [
        i
        for i, m in raw.items()
        if m["pricing"].get("prompt") == m["pricing"].get("completion") == "0"
        and not models[i]["isFree"]
    ]
    assert len(listed_at_zero) == 60
    for model_id in listed_at_zero:
        pricing = models[model_id]["pricing"]
        assert "input" not in pricing and "output" not in pricing, model_id
        assert models[model_id]["priceTier"] == "unknown", model_id
        # The unit is stated where no other figure says how a call is billed.
        assert pricing.get("unit") == "unstated" or pricing.get("imageOutput"), model_id
    assert models["alibaba/happyhorse-1.0"]["pricing"]["unit"] == "unstated"
    assert models["black-forest-labs/flux.2-max"]["cost"] == "$17.09 per 1M image tokens"
    # A `:free` video or rerank id is free at 0 and keeps its prices.
    free = models["nvidia/llama-nemotron-rerank-vl-1b-v2:free"]
    assert (free["pricing"]["input"], free["pricing"]["output"], free["isFree"]) == (0, 0, True)

    root = str(store.root)
    for model_id in ("alibaba/happyhorse-1.0", "alibaba/wan-2.6", "black-forest-labs/flux.2-max"):
        argv = ["cost", model_id, "--input", "1000", "--output", "1000", "--store", root]
        assert cli.main(argv) == 1, model_id
        captured = capsys.readouterr()
        assert "$0.000000" not in captured.out
        assert "cannot be computed from token counts" in captured.err or (
            "no per-token input/output price" in captured.err
        ), captured.err
    # Tables put them after every priced model, never first as the cheapest.
    assert cli.main(["list", "--sort", "input", "--store", root, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    rows = rows["data"]
    order = [r["id"] for r in rows]
    priced = [i for i in order if models[i]["pricing"].get("input") is not None]
    assert set(order[: len(priced)]) == set(priced)
    assert order.index("alibaba/happyhorse-1.0") >= len(priced)
