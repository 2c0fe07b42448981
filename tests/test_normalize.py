"""Normalization of real OpenRouter records: prices, quirks of every schema generation."""

from __future__ import annotations

from decimal import Decimal

import pytest
import simplejson
from conftest import fixture_path, read_json

from pipeline.publishing import keys
from pipeline.records.base import trusted
from pipeline.records.model import ModelRecord, Pricing
from pipeline.records.payloads import OpenRouterModel
from pipeline.sources import openrouter
from pipeline.sources.openrouter import extract_items
from pipeline.stages.normalize import NormalizeError, normalize_openrouter, normalize_pricing

PER_TOKEN_KEYS = {
    "prompt": "input",
    "completion": "output",
    "input_cache_read": "cacheRead",
    "input_cache_write": "cacheWrite",
}


def load_items(name: str) -> list[dict]:
    return extract_items(fixture_path(name).read_bytes())


def test_prices_are_exact_per_million_for_every_priced_model(sync_file, store):
    """2026-08-19: published price = upstream per-token decimal × 1,000,000, exactly."""
    name = "openrouter-models-2026-08-19.json"
    upstream = {m["id"]: m["pricing"] for m in load_items(name)}
    sync_file(fixture_path(name))
    published = {m["id"]: m for m in read_json(store, keys.CURRENT)["models"]}
    checked = 0
    for model_id, prices in upstream.items():
        record = published[model_id]["pricing"]
        if prices.get("prompt") == "-1":
            assert record["variable"] is True
            assert "input" not in record and "output" not in record
            continue
        if set(record) >= {"unit"} and record["unit"] == "unstated":
            # Music models list prompt = completion = "0" but are billed per clip: no token
            # price is published for them (issue 26, tests/test_laws.py).
            assert "input" not in record and "output" not in record, model_id
            assert prices["prompt"] == prices["completion"] == "0", model_id
            continue
        for key, field in PER_TOKEN_KEYS.items():
            if key in prices:
                assert record[field] == Decimal(prices[key]) * 1_000_000, (model_id, key)
                assert type(record[field]) in (int, Decimal)  # a JSON number, not a string
                checked += 1
            else:
                assert field not in record, f"{model_id}: missing {key} must stay absent"
    assert checked > 800


def test_long_decimals_survive_to_the_published_bytes(sync_file, store):
    sync_file(fixture_path("openrouter-models-all-2026-08-19.json"))
    text = store.get(keys.CURRENT).data.decode()
    # google/gemini-2.5-flash-image input_cache_write "0.0000000833333333333333" per token
    assert '"cacheWrite": 0.0833333333333333' in text
    models = {m["id"]: m for m in simplejson.loads(text, use_decimal=True)["models"]}
    pricing = models["google/gemini-2.5-flash-image"]["pricing"]
    assert pricing["cacheWrite"] == Decimal("0.0000000833333333333333") * 10**6


def test_dynamic_router_price_is_variable_never_zero():
    items = {m["id"]: m for m in load_items("openrouter-models-all-2026-08-19.json")}
    pricing = normalize_pricing(items["openrouter/auto"]["pricing"])
    assert pricing.variable
    assert pricing.input is None and pricing.output is None


def test_sparse_pricing_keys_stay_absent():
    """From late January 2026 zero-valued keys are dropped; absent is 'not priced', not 0."""
    before = {m["id"]: m for m in load_items("openrouter-models-2026-01-14T1827Z.json")}
    after = {m["id"]: m for m in load_items("openrouter-models-2026-01-29T0404Z.json")}
    model_id = next(
        i
        for i in sorted(before.keys() & after.keys())
        if before[i]["pricing"].get("request") == "0" and "request" not in after[i]["pricing"]
    )
    assert normalize_pricing(before[model_id]["pricing"]).per_request == 0
    assert normalize_pricing(after[model_id]["pricing"]).per_request is None


def test_long_context_and_time_of_day_price_rules():
    items = {m["id"]: m for m in load_items("openrouter-models-all-2026-08-19.json")}
    qwen = normalize_pricing(items["qwen/qwen3-max"]["pricing"])
    assert [t.min_prompt_tokens for t in qwen.tiers] == [32000, 128000]
    assert qwen.tiers[1].input == Decimal("1.95")
    assert qwen.tiers[1].cache_write == Decimal("2.4375")
    deepseek = normalize_pricing(items["deepseek/deepseek-v4-pro"]["pricing"])
    assert [(t.utc_start, t.utc_end) for t in deepseek.tiers][:2] == [(1000, 100), (100, 400)]
    assert all(t.min_prompt_tokens is None for t in deepseek.tiers)


def test_2024_schema_without_created_slug_or_parameters():
    items = load_items("openrouter-models-2024-02-18.json")
    model = normalize_openrouter(OpenRouterModel.model_validate(items[0]))
    assert items[0]["architecture"] == {
        "modality": "text",
        "tokenizer": "Llama2",
        "instruct_type": "vicuna",
    }
    assert model.created is None and model.canonical_slug is None
    assert model.supported_parameters is None
    assert model.modalities.input == ["text"] and model.modalities.output == ["text"]
    multimodal = next(m for m in items if m["architecture"]["modality"] == "multimodal")
    parsed = normalize_openrouter(OpenRouterModel.model_validate(multimodal))
    assert "image" in parsed.modalities.input


def test_alias_ids_keep_their_target():
    items = {m["id"]: m for m in load_items("openrouter-models-all-2026-08-19.json")}
    model = normalize_openrouter(
        OpenRouterModel.model_validate(items["~deepseek/deepseek-v4-flash-latest"])
    )
    assert model.alias_target == "deepseek/deepseek-v4-flash-0731"
    assert model.family == "deepseek"


def test_unknown_new_fields_are_ignored():
    item = dict(load_items("openrouter-models-2026-08-19.json")[0])
    item["brand_new_field"] = {"nested": [1, 2, 3]}
    item["architecture"] = {**item["architecture"], "new_arch_key": "x"}
    assert normalize_openrouter(OpenRouterModel.model_validate(item)).id == item["id"]


@pytest.mark.parametrize(
    ("pricing", "message"),
    [
        ({"prompt": "abc", "completion": "0"}, "pricing.prompt is not a number"),
        ({"prompt": True, "completion": "0"}, "pricing.prompt is bool"),
        ({"prompt": "NaN", "completion": "0"}, "not a finite number"),
        ({"prompt": "0", "completion": "0", "overrides": [{"prompt": "1"}]}, "has no condition"),
    ],
)
def test_bad_prices_name_the_field(pricing, message):
    with pytest.raises(NormalizeError, match=message):
        normalize_pricing(pricing)


def test_a_bad_price_names_its_field_every_time_it_occurs():
    """Prices are parsed once per distinct string (issue 29): the same bad string in another
    field, or in a rule, is still reported with that field."""
    with pytest.raises(NormalizeError, match=r"^pricing.prompt is not a number"):
        normalize_pricing({"prompt": "1e-3x"})
    with pytest.raises(NormalizeError, match=r"^pricing.completion is not a number"):
        normalize_pricing({"prompt": "0", "completion": "1e-3x"})
    rule = {"min_prompt_tokens": 1, "prompt": "1e-3x"}
    with pytest.raises(NormalizeError, match=r"^pricing.overrides\[0\].prompt is not a number"):
        normalize_pricing({"prompt": "0", "overrides": [rule]})


@pytest.mark.parametrize(
    "name", ["openrouter-models-2024-02-18.json", "openrouter-models-all-2026-08-19.json"]
)
def test_records_are_built_as_pydantic_would_validate_them(name):
    """The stages build their records without validating them again (issue 29): each is what
    validation of its own dump gives, field for field and in field order."""
    checked = 0
    for item in load_items(name):
        model = normalize_openrouter(OpenRouterModel.model_validate(item))
        parts = [model.pricing, *model.pricing.tiers, model.modalities, *model.sources]
        parts += [model.benchmarks, model.open_weights, model.per_request_limits]
        for part in filter(None, parts):
            again = type(part).model_validate(part.model_dump())
            assert part == again, model.id
            assert list(vars(part)) == list(vars(again)) == list(type(part).model_fields)
            checked += 1
    assert checked > 200


def test_trusted_matches_model_construct():
    values = {"id": "acme/m", "alias": "m", "kind": "chat", "pricing": Pricing(input=1)}
    made = trusted(ModelRecord, values)
    reference = ModelRecord.model_construct(**values)
    assert vars(made) == vars(reference) and list(vars(made)) == list(vars(reference))
    assert made.model_fields_set == reference.model_fields_set == set(values)
    again = trusted(ModelRecord, values)
    assert made.evidence == {} and made.evidence is not again.evidence  # a factory per instance
    # One fields-set per combination of names, not one per instance (memory at 100k models).
    assert made.model_fields_set is again.model_fields_set
    with pytest.raises(TypeError, match="ModelRecord has no field maxContext"):
        trusted(ModelRecord, {**values, "maxContext": 1})  # names, never aliases


@pytest.mark.parametrize(
    "name",
    [
        "openrouter-models-2025-10-01.json",
        "openrouter-models-2026-03-10.json",
        "openrouter-models-2026-08-19.json",
    ],
)
def test_three_envelopes_unwrap(name):
    """{timestamp, models} wrapper, bare list, and the API's {data} envelope."""
    raw = fixture_path(name).read_bytes()
    items = extract_items(raw)
    document = simplejson.loads(raw)
    expected = (
        document if isinstance(document, list) else (document.get("data") or document.get("models"))
    )
    assert len(items) == len(expected) > 300


def _exactly(a: object, b: object) -> bool:
    """Equal, with the same types all the way down (1 == 1.0 and Decimal("2.5") == 2.5 are
    not the same parse) and floats to the last bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_exactly(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_exactly(x, y) for x, y in zip(a, b, strict=True))
    return repr(a) == repr(b)


def _items_or_error(raw: bytes) -> list[object]:
    out: list[object] = []
    try:
        out.extend(extract_items(raw))
    except openrouter.PayloadError as exc:
        out.append(("error", str(exc)))
    return out


@pytest.mark.parametrize(
    "raw",
    [
        fixture_path(name).read_bytes()
        for name in (
            "openrouter-models-2024-02-18.json",
            "openrouter-models-2025-10-01.json",
            "openrouter-models-2026-03-10.json",
            "openrouter-models-all-2026-08-19.json",
        )
    ]
    + [
        # ijson re-reads exactly after an overflow: big integers whole, later floats Decimal.
        b'{"data":[{"id":"a","x":123456789012345678901234,"y":1.5}]}',
        b'[{"id":"a","x":-9223372036854775809},{"id":"b","y":0.1}]',
        b'[{"id":"a","p":1e400},{"q":2.5}]',
        # The list's key twice (ijson streams both lists), or spelled with an escape.
        b'{"data":[{"id":"a"}],"data":[{"id":"b"}]}',
        b'{"d\\u0061ta":[{"id":"a"}],"data":[{"id":"b"}]}',
        b'{"data":[{"id":"a"}],"data":null}',
        # Cut off (the items before the cut, then the error), a lone surrogate, a status id.
        b'{"data":[{"id":"a"},{"id":',
        b'[{"id":"a","name":"\\ud800"}]',
        b'[{"id":"a","description":"x.com/s/1833758285167722836 and 1833758285167722836"}]',
        b'{"models":[{"id":"a"}],"data":[{"id":"b"}]}',
    ],
    ids=lambda raw: raw[:30].decode(errors="replace"),
)
def test_a_payload_parsed_in_one_piece_gives_the_streamed_items(raw, monkeypatch):
    """Up to WHOLE_PARSE_BYTES the list is parsed by orjson in one piece; wherever that could
    read differently from the stream (ijson), the stream is used: same items, same types,
    same error at the same place (issue 30)."""
    whole = _items_or_error(raw)
    monkeypatch.setattr(openrouter, "WHOLE_PARSE_BYTES", 0)
    streamed = _items_or_error(raw)
    assert _exactly(whole, streamed)


# -- the feed's facts (issue 20) ---------------------------------------------------------------


def test_feed_facts_reach_every_record_that_has_them(sync_file, store):
    """2026-08-19 "all": every raw entry with a description, default_parameters with values,
    a hugging_face_id, supported_voices or links carries the field in current.json; the
    others do not (absent, never null or empty)."""
    name = "openrouter-models-all-2026-08-19.json"
    raw = {m["id"]: m for m in load_items(name)}
    assert sync_file(fixture_path(name)).published
    published = {m["id"]: m for m in read_json(store, keys.CURRENT)["models"]}
    counts = dict.fromkeys(("description", "defaultParameters", "openWeights", "voices"), 0)
    for model_id, entry in raw.items():
        record = published[model_id]
        assert record.get("description") == (entry.get("description") or "").strip() or None
        counts["description"] += "description" in record
        with_values = {
            k: v for k, v in (entry.get("default_parameters") or {}).items() if v is not None
        }
        if with_values:
            got = {
                k: float(v) if isinstance(v, Decimal) else v
                for k, v in record["defaultParameters"].items()
            }
            assert got == with_values
            counts["defaultParameters"] += 1
        else:
            assert "defaultParameters" not in record
        if entry.get("hugging_face_id"):
            assert record["openWeights"] == {"huggingFaceId": entry["hugging_face_id"]}
            counts["openWeights"] += 1
        else:
            assert "openWeights" not in record
        if entry.get("supported_voices"):
            assert record["supportedVoices"] == entry["supported_voices"]
            counts["voices"] += 1
        assert record.get("links") == (entry.get("links") or None)
        assert "perRequestLimits" not in record  # null on every entry of this snapshot
    assert counts == {
        "description": 549,
        "defaultParameters": 83,
        "openWeights": 190,
        "voices": 12,
    }
    qwen = published["qwen/qwen3.8-27b"]
    assert qwen["defaultParameters"] == {"temperature": 1, "top_k": 20, "top_p": Decimal("0.95")}
    assert qwen["openWeights"] == {"huggingFaceId": "Qwen/Qwen3.8-27B"}


def test_odd_feed_facts_are_dropped_not_quarantined():
    """A broken fact loses that fact only; limits given as strings are read as numbers."""
    parsed = OpenRouterModel.model_validate(
        {
            "id": "acme/odd",
            "pricing": {"prompt": "0", "completion": "0"},
            "description": "  " + "x" * 20_000,
            "default_parameters": {"temperature": None, "top_p": float("nan"), "seed": [1]},
            "hugging_face_id": "",
            "per_request_limits": {"prompt_tokens": "128000", "completion_tokens": "oops"},
            "supported_voices": "alloy",
            "links": ["not", "a", "map"],
        }
    )
    model = normalize_openrouter(parsed)
    assert model.description is not None and len(model.description) == 8_000
    assert model.default_parameters is None
    assert model.open_weights is None
    assert model.per_request_limits is not None
    assert model.per_request_limits.model_dump(exclude_none=True) == {"prompt_tokens": 128000}
    assert model.supported_voices is None
    assert model.links is None
