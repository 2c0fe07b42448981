"""Indexed search (pipeline/registry/search.py) answers exactly what a full scan answers.

The reference is the full scan the reader ran before the indexes (kept here, verbatim in its
rules): every filter, every combination drawn at random over the real catalogs and over
synthetic ones made from real records with varied states, tiers, weights, cutoffs, offers and
names, compared model for model and in order, whole and page by page.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Collection, Iterable
from typing import Any

import pytest
from conftest import fixture_path, read_json

from pipeline.publishing import keys
from pipeline.registry import QueryError, Registry
from pipeline.registry.core import Snapshot
from pipeline.registry.filters import (
    BUCKETS,
    CAPABILITIES,
    KINDS,
    STATES,
    TIERS,
    cutoff_after,
    has_open_weights,
    offer_filter,
    state_of,
    values_of,
)
from pipeline.registry.loader import CatalogSet

PAYLOADS = ["openrouter-models-2026-08-19.json", "openrouter-models-all-2026-08-19.json"]


def full_scan(
    snapshot: Snapshot,
    *,
    capability: str | Iterable[str] | None = None,
    tier: str | Iterable[str] | None = None,
    bucket: str | None = None,
    state: str | Iterable[str] | None = None,
    provider: str | None = None,
    q: str | None = None,
    served_by: str | None = None,
    max_offer_price: float | None = None,
    quantization: str | None = None,
    open_weights: bool | None = None,
    knowledge_cutoff_after: str | None = None,
    kind: str | Iterable[str] | None = None,
    served: Collection[str] = (),
) -> list[dict[str, Any]]:
    """The search as a scan over every model (the reader's search before the indexes)."""
    offers_ok = offer_filter(served_by, max_offer_price, quantization)
    capabilities = values_of("capability", capability, CAPABILITIES)
    cutoff = cutoff_after(knowledge_cutoff_after)
    tiers = values_of("tier", tier, TIERS)
    states = values_of("state", state, STATES)
    kinds = values_of("kind", kind, KINDS)
    members: set[str] | None = None
    if bucket:
        values_of("bucket", bucket, BUCKETS)
        members = {str(e["id"]) for e in snapshot.buckets.get(bucket, [])}
    wanted_provider = provider.strip().lower() if provider else None
    needle = q.strip().lower() if q else None
    checks = [CAPABILITIES[c] for c in sorted(capabilities)]
    out = []
    for model in snapshot.models:
        if members is not None and model["id"] not in members:
            continue
        if states and state_of(model) not in states:
            continue
        if tiers and model.get("priceTier") not in tiers:
            continue
        if kinds and model.get("kind") not in kinds:
            continue
        if (
            wanted_provider
            and wanted_provider
            not in (str(model.get("provider", "")).lower(), str(model.get("family", "")).lower())
            and model["id"] not in served
        ):
            continue
        if needle and not any(
            needle in str(model.get(f, "")).lower() for f in ("id", "alias", "name")
        ):
            continue
        if not all(check(model) for check in checks):
            continue
        if offers_ok is not None and not offers_ok(model):
            continue
        if open_weights is not None and has_open_weights(model) != open_weights:
            continue
        if cutoff is not None and not (str(model.get("knowledgeCutoff") or "")[:10] > cutoff):
            continue
        out.append(model)
    return out


def snapshot_of(current: dict[str, Any], curated: dict[str, Any] | None) -> Snapshot:
    return Snapshot(CatalogSet(current, {}, curated, None, "test"), 0.0)


@pytest.fixture(scope="module")
def real_sets(tmp_path_factory) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(current.json, curated.json) of a real sync of each real payload."""
    from pipeline.config import CatalogConfig
    from pipeline.publishing.store import LocalStore
    from pipeline.runs.sync import SyncRequest, sync_openrouter
    from pipeline.timeutil import parse_iso

    sets = []
    for name in PAYLOADS:
        store = LocalStore(tmp_path_factory.mktemp("search") / "store")
        request = SyncRequest(now=parse_iso("2026-08-19T06:00:00Z"), from_file=fixture_path(name))
        result = sync_openrouter(store, CatalogConfig(), request)
        assert result.published, result.error
        sets.append((read_json(store, keys.CURRENT), read_json(store, keys.CURATED)))
    return sets


OFFER_HOSTS = ["DeepInfra", "Together", "Fireworks", "Groq"]


def varied(base: dict[str, Any], size: int, seed: int) -> dict[str, Any]:
    """``size`` real records under new ids, with states, tiers, kinds, weights, cutoffs,
    offers, providers and names drawn at random (case and accents included)."""
    rng = random.Random(seed)
    real = base["models"]
    models = []
    for i in range(size):
        record = copy.deepcopy(real[rng.randrange(len(real))])
        record["id"] = f"{record['id']}-v{i:05d}"
        record["alias"] = rng.choice([f"{record['alias']}-v{i}", "", "Ünïcode-ΣΑΣ"])
        record["name"] = rng.choice([record.get("name", ""), "GPT Vision Ω", "claude-β"])
        record["lifecycle"] = {**record.get("lifecycle", {}), "state": rng.choice(STATES)}
        record["priceTier"] = rng.choice(TIERS)
        record["kind"] = rng.choice(KINDS)
        record["provider"] = rng.choice([record.get("provider", ""), "OpenAI", "Mistral"])
        record["supportsVision"] = rng.random() < 0.4
        record["supportsTools"] = rng.random() < 0.5
        if rng.random() < 0.3:
            record["openWeights"] = {"license": "apache-2.0"}
        else:
            record.pop("openWeights", None)
        if rng.random() < 0.6:
            record["knowledgeCutoff"] = f"202{rng.randrange(3, 7)}-{rng.randrange(1, 13):02d}-01"
        else:
            record.pop("knowledgeCutoff", None)
        record["offers"] = [
            {
                "provider": host,
                "tag": f"{host.lower()}/{quant}",
                "quantization": quant,
                "pricing": {"input": round(rng.uniform(0.05, 5), 2)},
            }
            for host in rng.sample(OFFER_HOSTS, rng.randrange(0, 3))
            for quant in [rng.choice(["fp8", "bf16", "fp4"])]
        ]
        models.append(record)
    models.sort(key=lambda m: m["id"])
    return {**base, "count": size, "models": models}


def random_query(rng: random.Random, snapshot: Snapshot) -> dict[str, Any]:
    """A random combination of filters, drawn from the values the catalog holds."""
    models = snapshot.models
    query: dict[str, Any] = {}
    if rng.random() < 0.4:
        query["capability"] = rng.sample(list(CAPABILITIES), rng.randrange(1, 3))
    if rng.random() < 0.3:
        query["tier"] = ",".join(rng.sample(TIERS, rng.randrange(1, 3)))
    if rng.random() < 0.4:
        query["state"] = rng.sample(STATES, rng.randrange(1, 3))
    if rng.random() < 0.2:
        query["kind"] = rng.choice(KINDS)
    if rng.random() < 0.2:
        query["bucket"] = rng.choice(BUCKETS)
    if rng.random() < 0.3:
        model = rng.choice(models)
        name = str(model.get(rng.choice(["provider", "family"]), "")) or "nobody"
        query["provider"] = rng.choice([name, f" {name.upper()} ", "nobody"])
        if rng.random() < 0.5:
            query["served"] = {str(m["id"]) for m in rng.sample(models, min(20, len(models)))}
    if rng.random() < 0.4:
        model = rng.choice(models)
        text = str(model.get(rng.choice(["id", "alias", "name"]), ""))
        start = rng.randrange(len(text) + 1)
        piece = text[start : start + rng.randrange(1, 8)]
        query["q"] = rng.choice([piece, piece.upper(), f"  {piece} ", "zz-none", "\x00", "σ", ""])
    if rng.random() < 0.2:
        query["open_weights"] = rng.choice([True, False])
    if rng.random() < 0.2:
        query["knowledge_cutoff_after"] = rng.choice(["2024-01", "2025-06-01", "2023-12-31"])
    if rng.random() < 0.15:
        query["served_by"] = rng.choice([*OFFER_HOSTS, "deepinfra/fp8", "nobody"])
    if rng.random() < 0.1:
        query["max_offer_price"] = rng.choice([0.0, 0.5, 2.5])
    if rng.random() < 0.1:
        query["quantization"] = rng.choice(["FP8", "bf16"])
    return query


def assert_same(snapshot: Snapshot, query: dict[str, Any]) -> None:
    expected = [m["id"] for m in full_scan(snapshot, **query)]
    found = snapshot.select(**query)
    assert [m["id"] for m in snapshot.search(**query)] == expected, query
    assert found.total == len(expected), query
    # Page by page with the last id as the cursor: the same models, in the same order.
    limit = random.Random(len(expected)).choice([1, 3, 50])
    paged: list[str] = []
    after = None
    while True:
        page = [m["id"] for m in snapshot.search(**query, after=after, limit=limit)]
        paged.extend(page)
        if len(page) < limit:
            break
        after = page[-1]
    assert paged == expected, query


def test_indexed_search_equals_the_full_scan_on_real_catalogs(real_sets):
    rng = random.Random(29)
    for current, curated in real_sets:
        snapshot = snapshot_of(current, curated)
        assert [m["id"] for m in snapshot.search()] == [m["id"] for m in snapshot.models]
        for _ in range(400):
            assert_same(snapshot, random_query(rng, snapshot))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_indexed_search_equals_the_full_scan_on_varied_catalogs(real_sets, seed):
    current, curated = real_sets[seed % len(real_sets)]
    snapshot = snapshot_of(varied(current, 1_500, seed), curated)
    rng = random.Random(seed)
    for _ in range(400):
        assert_same(snapshot, random_query(rng, snapshot))


def test_a_page_starts_after_its_cursor_even_when_the_cursor_is_no_id(real_sets):
    current, curated = real_sets[0]
    snapshot = snapshot_of(current, curated)
    vision = [m["id"] for m in full_scan(snapshot, capability="vision")]
    cursor = vision[10][:-1] + "~"  # sorts after vision[10], before vision[11]
    page = snapshot.search(capability="vision", after=cursor, limit=5)
    assert [m["id"] for m in page] == [i for i in vision if i > cursor][:5]
    assert snapshot.search(capability="vision", limit=0) == []


def test_bad_values_are_refused_before_any_index_is_read(real_sets):
    current, curated = real_sets[0]
    snapshot = snapshot_of(current, curated)
    with pytest.raises(QueryError, match="capability"):
        snapshot.search(capability="telepathy", limit=5)
    with pytest.raises(QueryError, match="bucket"):
        snapshot.select(bucket="poetry")
    with pytest.raises(QueryError, match="knowledge_cutoff_after"):
        snapshot.select(knowledge_cutoff_after="soon")


def test_registry_search_pages(store, sync_file):
    result = sync_file(fixture_path(PAYLOADS[0]))
    assert result.published, result.error
    registry = Registry.open(store)
    every = [m["id"] for m in registry.search(state="active")]
    first = registry.search(state="active", limit=50)
    second = registry.search(state="active", after=first[-1]["id"], limit=50)
    assert [m["id"] for m in first + second] == every[:100]
