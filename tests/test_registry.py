"""The reader library over stores filled by real syncs of real payloads."""

from __future__ import annotations

import copy
import hashlib
import subprocess
import sys
from decimal import Decimal
from typing import Any

import boto3
import pytest
from conftest import commit, fixture_path, read_json
from moto import mock_aws

from pipeline.publishing import jsonio, keys
from pipeline.publishing.store import Blob, LocalStore, Store, StoreError, open_store
from pipeline.registry import (
    CatalogUnavailable,
    CostUnavailable,
    ModelNotFound,
    QueryError,
    Registry,
    estimate_cost,
)

PAYLOAD = "openrouter-models-2026-08-19.json"
LATER = "openrouter-models-all-2026-08-19.json"


def put_json(store: Store, key: str, document: Any) -> bytes:
    data = jsonio.dumps(document)
    store.put(key, data)
    return data


def publish_manifest(store: Store, run_id: str, documents: dict[str, Any]) -> dict[str, Any]:
    """Commit ``documents`` (artifact name → dict) the way the publish stage does: immutable
    per-run copies, then the manifest naming them with their sha256."""
    artifacts = {}
    for name, document in documents.items():
        key = keys.openrouter_run_copy(run_id, name)
        data = put_json(store, key, document)
        artifacts[name] = {"key": key, "sha256": hashlib.sha256(data).hexdigest(), "runId": run_id}
    manifest = {
        "schemaVersion": 1,
        "generatedAt": "2026-08-19T00:00:00Z",
        "runId": run_id,
        "artifacts": artifacts,
    }
    put_json(store, keys.MANIFEST, manifest)
    return manifest


def retired_copy(record: dict[str, Any], new_id: str, alias: str) -> dict[str, Any]:
    """A real record under another id, as the tombstone of a removed model."""
    tomb = copy.deepcopy(record)
    tomb["id"], tomb["alias"], tomb["canonicalSlug"] = new_id, alias, new_id
    tomb["lifecycle"] = {**tomb["lifecycle"], "state": "removed"}
    return tomb


def deprecations_for(current: dict[str, Any]) -> dict[str, Any]:
    gpt4o = next(m for m in current["models"] if m["id"] == "openai/gpt-4o")
    return {
        "schemaVersion": 1,
        "generatedAt": current["generatedAt"],
        "runId": current["runId"],
        "redirects": [
            {
                "from": "openai/gpt-4o-retired",
                "to": "openai/gpt-4o",
                "reason": "rename",
                "since": "2026-08-01T00:00:00Z",
            }
        ],
        "tombstones": [
            {
                "id": "openai/gpt-4o-retired",
                "alias": "gpt-4o-retired",
                "removedAt": "2026-08-10T00:00:00Z",
                "record": retired_copy(gpt4o, "openai/gpt-4o-retired", "gpt-4o-retired"),
            }
        ],
        "aliasHistory": [
            {
                "oldAlias": "omni",
                "newAlias": "gpt-4o",
                "modelId": "openai/gpt-4o",
                "since": "2026-08-02T00:00:00Z",
            }
        ],
    }


@pytest.fixture
def synced(sync_file, store):
    result = sync_file(fixture_path(PAYLOAD))
    assert result.published, result.error
    return store


class FlakyStore:
    """A real store that can be made to fail every read (an outage, revoked credentials)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.uri = inner.uri
        self.down = False

    def _check(self, key: str) -> None:
        if self.down:
            raise StoreError(f"cannot read {key} from {self.uri}: connection refused")

    def get(self, key: str) -> Blob | None:
        self._check(key)
        return self.inner.get(key)

    def head(self, key: str) -> str | None:
        self._check(key)
        return self.inner.head(key)

    def put(self, key: str, data: bytes, **kw: Any) -> str:
        return self.inner.put(key, data, **kw)

    def delete(self, key: str, **kw: Any) -> None:
        self.inner.delete(key, **kw)

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)


# -- loading and lookups ---------------------------------------------------------------------


def test_open_get_and_resolve_over_a_real_sync(synced):
    registry = Registry.open(synced.uri)
    current = read_json(synced, keys.CURRENT)
    state = registry.state()
    assert state["runId"] == current["runId"]
    assert state["models"] == current["count"] == 414
    assert state["viaManifest"] is True  # the sync commits every set through manifest.json
    for record in current["models"][:50]:
        assert registry.get(record["id"])["id"] == record["id"]
        assert registry.get(record["alias"])["id"] == record["id"]
    by_alias = registry.resolve("gpt-4o")
    assert by_alias.model_id == "openai/gpt-4o"
    assert [h.step for h in by_alias.hops] == ["alias"]
    assert by_alias.notice is None
    assert registry.get("no-such/model") is None
    assert registry.resolve("no-such/model").model is None


def test_open_fails_clearly_on_an_empty_store(store):
    with pytest.raises(CatalogUnavailable, match="nothing published yet"):
        Registry.open(store)


def test_search_filters(synced):
    registry = Registry.open(synced)
    everything = registry.search()
    assert len(everything) == 414
    assert [m["id"] for m in everything] == sorted(m["id"] for m in everything)
    vision = registry.search(capability="vision")
    assert vision and all(m["supportsVision"] for m in vision)
    both = registry.search(capability="vision,tools")
    assert both and all(m["supportsVision"] and m["supportsTools"] for m in both)
    assert len(both) < len(vision)
    budget = registry.search(tier="budget")
    assert budget and {m["priceTier"] for m in budget} == {"budget"}
    anthropic = registry.search(provider="anthropic")
    assert anthropic and {m["family"] for m in anthropic} == {"anthropic"}
    claude = registry.search(q="Claude", state="active")
    assert claude and all("claude" in (m["id"] + m["name"]).lower() for m in claude)
    assert registry.search(state="deprecated") == []
    with pytest.raises(QueryError, match=r"capability: unknown value\(s\) 'telepathy'"):
        registry.search(capability="telepathy")
    with pytest.raises(QueryError, match="tier"):
        registry.search(tier="cheap")
    with pytest.raises(QueryError, match="bucket"):
        registry.search(bucket="poetry")


def test_cost_base_and_long_context_prices(synced):
    registry = Registry.open(synced)
    gpt4o = registry.get("openai/gpt-4o")
    p = gpt4o["pricing"]
    estimate = registry.cost("gpt-4o", input=12_000, output=800, cached=4_000)
    expected = (
        Decimal(repr(p["input"])) * 8_000
        + Decimal(repr(p["cacheRead"])) * 4_000
        + Decimal(repr(p["output"])) * 800
    ) / 1_000_000
    assert estimate.usd == expected
    assert estimate.min_prompt_tokens is None
    # A real long-context rule: Claude Sonnet 4 charges more from 200k prompt tokens.
    sonnet = registry.get("anthropic/claude-sonnet-4")
    rule = sonnet["pricing"]["tiers"][0]
    assert rule["minPromptTokens"] == 200_000
    short = registry.cost(sonnet, input=199_999, output=1_000)
    long = registry.cost(sonnet, input=200_000, output=1_000)
    assert short.min_prompt_tokens is None
    assert long.min_prompt_tokens == 200_000
    assert long.parts["input"] == Decimal(repr(rule["input"])) * 200_000 / 1_000_000
    assert long.parts["output"] == Decimal(repr(rule["output"])) * 1_000 / 1_000_000
    with pytest.raises(ModelNotFound):
        registry.cost("no-such/model", input=1)
    with pytest.raises(ValueError, match="cannot exceed"):
        registry.cost("gpt-4o", input=10, cached=11)
    with pytest.raises(CostUnavailable, match="dynamically"):
        estimate_cost({"id": "openrouter/auto", "pricing": {"variable": True}}, 10, 10)


# -- deprecations, curated, manifest ---------------------------------------------------------


def test_resolution_through_deprecations_and_curated_buckets(synced):
    current = read_json(synced, keys.CURRENT)
    commit(synced, {"deprecations": deprecations_for(current)})
    published = read_json(synced, keys.CURATED)  # the sync's own curated.json
    registry = Registry.open(synced)

    moved = registry.resolve("openai/gpt-4o-retired")
    assert moved.model_id == "openai/gpt-4o"
    assert [h.step for h in moved.hops] == ["redirect", "id"]
    assert moved.notice is not None and "retired on 2026-08-10" in moved.notice.text
    via_old_alias = registry.resolve("gpt-4o-retired")
    assert via_old_alias.model_id == "openai/gpt-4o"
    history = registry.resolve("omni")
    assert [h.step for h in history.hops] == ["alias-history", "id"]

    vision = registry.curated("vision")  # issue 15: the bucket's list itself
    ids = [e["id"] for e in vision]
    assert ids == [e["id"] for e in published["buckets"]["vision"]]
    assert len(ids) >= 4
    assert all(e["model"]["id"] == e["id"] and e["rank"] is not None for e in vision)
    every = registry.curated()
    assert set(every) == set(published["buckets"]) and every["vision"] == vision
    assert [m["id"] for m in registry.search(bucket="vision")] == sorted(ids)
    coding = {e["id"] for e in published["buckets"]["coding"]}
    assert {m["id"] for m in registry.search(bucket="coding")} == coding


def test_the_fast_path_of_cost_reaches_the_model_resolve_reaches(synced):
    current = read_json(synced, keys.CURRENT)
    deprecations = deprecations_for(current)
    # A listed model that is no longer active, with a redirect: resolve sends it on.
    stale = next(m for m in current["models"] if m["id"] != "openai/gpt-4o")
    stale["lifecycle"] = {**stale["lifecycle"], "state": "stale"}
    deprecations["redirects"].append(
        {"from": stale["id"], "to": "openai/gpt-4o", "reason": "rename", "since": "2026-08-01"}
    )
    commit(synced, {"current": current, "deprecations": deprecations})
    snapshot = Registry.open(synced).snapshot
    refs = [m["id"] for m in current["models"]] + [m["alias"] for m in current["models"]]
    refs += ["openai/gpt-4o-retired", "gpt-4o-retired", "omni", "no-such/model", stale["alias"]]
    for ref in refs:
        assert snapshot.resolved(ref) is snapshot.resolve(ref).model, ref
    assert snapshot.resolved(stale["id"])["id"] == "openai/gpt-4o"


def test_manifest_is_the_commit_point_and_hashes_are_checked(synced):
    current = read_json(synced, keys.CURRENT)
    manifest = publish_manifest(synced, current["runId"], {"current": current})
    registry = Registry.open(synced)
    assert registry.state()["viaManifest"] is True
    assert registry.state()["runId"] == manifest["runId"]
    served = registry.snapshot.version

    # The well-known file changes but the manifest does not: the reader keeps the committed set.
    put_json(synced, keys.CURRENT, {**current, "models": current["models"][:10], "count": 10})
    assert registry.refresh().changed is False
    assert len(registry.search()) == 414

    # A manifest whose hash does not match its artifact: refused, old set kept, error reported.
    broken = copy.deepcopy(manifest)
    broken["artifacts"]["current"]["sha256"] = "0" * 64
    broken["runId"] = "broken-run"
    put_json(synced, keys.MANIFEST, broken)
    result = registry.refresh()
    assert result.changed is False
    assert "does not match the manifest" in (result.error or "")
    assert registry.snapshot.version == served
    assert "does not match" in registry.state()["lastRefreshError"]["message"]


# -- refresh ---------------------------------------------------------------------------------


def test_refresh_swaps_a_new_real_snapshot_and_polls_cheaply(synced, sync_file):
    registry = Registry.open(synced)
    first = registry.state()["runId"]
    assert registry.refresh().changed is False
    result = sync_file(fixture_path(LATER), now="2026-08-19T06:00:00Z")
    assert result.published, result.error
    refreshed = registry.refresh()
    assert refreshed.changed is True and refreshed.error is None
    assert registry.state()["runId"] == result.run_id != first
    assert registry.state()["models"] == result.report.counts["published"]
    assert registry.refresh().changed is False


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"schemaVersion": 1, "generatedAt": "x", "runId": "r"}', "not valid against"),
        (b'{"schemaVersion": 99}', "schemaVersion 99 is not supported"),
    ],
)
def test_invalid_current_keeps_the_old_set_and_reports(synced, bad, message):
    registry = Registry.open(synced)
    before = registry.state()["runId"]
    good = synced.get(keys.CURRENT).data
    commit(synced, {"current": bad})
    result = registry.refresh()
    assert result.changed is False
    assert message in (result.error or "")
    assert registry.state()["runId"] == before
    assert registry.state()["error"] is not None
    assert registry.get("openai/gpt-4o") is not None
    # The same broken file is not reloaded on every poll; the error stays reported.
    assert registry.refresh().error == result.error
    commit(synced, {"current": good})
    assert registry.refresh().error is None
    assert registry.state()["error"] is None
    assert registry.state()["lastRefreshError"]["message"] == result.error


def test_a_document_checked_once_is_not_checked_again_until_its_bytes_change(
    synced, monkeypatch, tmp_path
):
    """The passes the reader keeps (in CATALOG_CACHE_DIR, never in the store): the same bytes
    under the same schema load without the validator; other bytes are checked again, and a
    document that fails is never kept."""
    from pipeline.registry import loader

    monkeypatch.setenv("CATALOG_CACHE_DIR", str(tmp_path / "cache"))
    checked: list[str] = []
    validator = loader._validator

    def counting(name: str) -> Any:
        checked.append(name)
        return validator(name)

    monkeypatch.setattr(loader, "_validator", counting)
    first = Registry.open(synced)
    assert {"current", "manifest"} <= set(checked)
    kept = sorted(p.name for p in (tmp_path / "cache" / "verdicts").iterdir())
    assert kept == [f"{name}.pass" for name in sorted(set(checked))]
    assert not [k for k in synced.list("") if "verdict" in k or k.endswith(".pass")]
    checked.clear()
    again = Registry.open(synced)
    assert checked == []
    assert again.state()["version"] == first.state()["version"]
    assert again.get("openai/gpt-4o") == first.get("openai/gpt-4o")
    # A pass kept under another schema or validator does not count.
    pass_file = tmp_path / "cache" / "verdicts" / "current.pass"
    pass_file.write_text("0" * 64 + pass_file.read_text()[64:], encoding="ascii")
    Registry.open(synced)
    assert checked == ["current"]
    good_pass = pass_file.read_text()
    assert not good_pass.startswith("0" * 64)
    # Other bytes are checked: an invalid current.json is refused, and not kept.
    commit(synced, {"current": b'{"schemaVersion": 1, "generatedAt": "x", "runId": "r"}'})
    for _ in range(2):
        with pytest.raises(CatalogUnavailable, match="not valid against"):
            Registry.open(synced)
        assert pass_file.read_text() == good_pass


def test_no_pass_is_kept_when_the_cache_dir_is_empty(synced, monkeypatch, tmp_path):
    monkeypatch.setenv("CATALOG_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    Registry.open(synced)
    Registry.open(synced)
    assert not (tmp_path / "xdg").exists()
    assert not (tmp_path / "home").exists()


def test_unreadable_store_keeps_serving(synced):
    flaky = FlakyStore(synced)
    registry = Registry.open(flaky)
    flaky.down = True
    result = registry.refresh()
    assert "connection refused" in (result.error or "")
    assert registry.get("gpt-4o") is not None
    assert registry.state()["failures"] == 1
    flaky.down = False
    assert registry.refresh().error is None


def test_registry_over_s3_polls_the_etag(aws_env, sync_file):
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="catalog")
        s3 = open_store("s3://catalog/prefix")
        assert sync_file(fixture_path(PAYLOAD), store=s3).published
        registry = Registry.open(s3)
        assert registry.get("gpt-4o") is not None
        assert registry.refresh().changed is False
        later = sync_file(fixture_path(LATER), store=s3, now="2026-08-19T06:00:00Z")
        assert registry.refresh().changed is True
        assert registry.state()["runId"] == later.run_id


def test_import_loads_no_boto3_pydantic_or_web_stack(tmp_path):
    code = (
        "import sys, pipeline.registry\n"
        "from pipeline.registry import Registry\n"
        f"Registry.open({str(tmp_path / 's')!r}) if False else None\n"
        "heavy = [m for m in ('boto3', 'botocore', 'pydantic', 'fastapi', 'starlette', "
        "'uvicorn', 'simplejson', 'jsonschema') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_local_store_is_polled_by_stat_not_by_reading(synced, monkeypatch):
    registry = Registry.open(synced)
    reads: list[str] = []
    original = LocalStore.get

    def counting_get(self: LocalStore, key: str) -> Blob | None:
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(LocalStore, "get", counting_get)
    for _ in range(5):
        assert registry.refresh().changed is False
    assert reads == []


# -- issue 15: native and dated ids, cost at a time of day, records into estimate_cost --------


def test_native_and_dated_ids_resolve_to_the_listed_model(store):
    from native_store import sync_with_native_ids

    sync_with_native_ids(store)
    registry = Registry.open(store)
    sonnet = registry.get("anthropic/claude-sonnet-4.5")
    assert sonnet is not None
    assert {"source": "anthropic", "nativeId": "claude-sonnet-4-5-20250929"} in sonnet["sources"]

    cases = {
        # Anthropic's own id, as listed in the record's sources
        "claude-sonnet-4-5-20250929": ["native-id", "id"],
        # OpenAI's own dated id (a listed model of its own in the catalog)
        "gpt-4o-2024-08-06": ["native-id", "id"],
        # OpenRouter's canonical (dated) slug
        "anthropic/claude-4.5-sonnet-20250929": ["native-id", "id"],
        # a date tag that strips to a listed alias, in each vendor's spelling
        "gpt-4o-2099-12-31": ["dated-id", "alias"],
        "claude-opus-4-1-20250805": ["dated-id", "alias"],
        "anthropic/claude-sonnet-4.5-20990101": ["dated-id", "id"],
        # Anthropic's undated alias with dashes
        "claude-sonnet-4-5": ["spelling", "alias"],
    }
    for ref, steps in cases.items():
        found = registry.resolve(ref)
        assert [h.step for h in found.hops] == steps, (ref, found.hops)
        assert found.notice is None, ref  # another spelling, not a retirement
    assert registry.resolve("claude-sonnet-4-5-20250929").model_id == sonnet["id"]
    assert registry.resolve("gpt-4o-2024-08-06").model_id == "openai/gpt-4o-2024-08-06"
    assert registry.resolve("claude-opus-4-1-20250805").model_id == "anthropic/claude-opus-4.1"
    assert registry.resolve("gpt-4o-2099-12-31").model_id == "openai/gpt-4o"
    assert registry.resolve("claude-sonnet-4-5-nonsense").model_id is None
    assert registry.get("claude-sonnet-4-5-20250929") is None  # get stays exact


def test_cost_at_a_time_of_day_gives_the_clis_prices_and_notes(sync_file, capsys, store):
    import json
    from datetime import UTC, datetime, time

    from pipeline.cli import main

    assert sync_file(fixture_path("openrouter-models-all-2026-08-19.json")).published
    registry = Registry.open(store)
    model = "deepseek/deepseek-v4-pro"
    for at, cli_at in (
        (None, None),
        (time(2, 0), "02:00"),
        ("23:00", "23:00"),
        (datetime(2026, 8, 19, 7, 30, tzinfo=UTC), "07:30"),
    ):
        estimate = registry.cost(model, input=1_000_000, output=1_000_000, cached=0, at=at)
        argv = ["cost", model, "--store", str(store.root), "--input", "1000000"]
        argv += ["--output", "1000000", "--json", *(["--at", cli_at] if cli_at else [])]
        assert main(argv) == 0
        cli = json.loads(capsys.readouterr().out)
        assert estimate.usd == Decimal(str(cli["usd"])), at
        assert estimate.notes == cli["notes"] and estimate.rule == cli["rule"], at
    base = registry.cost(model, input=1_000_000, output=1_000_000)
    assert "price varies by time of day" in base.notes[0]
    off_peak = registry.cost(model, input=1_000_000, output=0, at="02:00")
    assert off_peak.usd == Decimal("1.32") and off_peak.rule == "utc 01:00-04:00"


def test_estimate_cost_takes_a_record_as_the_registry_returns_it(synced):
    from pipeline.records.model import Pricing
    from pipeline.stages import cost

    registry = Registry.open(synced)
    record = registry.get("openai/gpt-4o")
    assert record is not None
    typed = cost.estimate_cost(
        Pricing.model_validate(record["pricing"]), input_tokens=12_000, output_tokens=800
    )
    whole = cost.estimate_cost(record, input_tokens=12_000, output_tokens=800)
    just_pricing = cost.estimate_cost(record["pricing"], input_tokens=12_000, output_tokens=800)
    assert whole.usd == just_pricing.usd == typed.usd == Decimal("0.038")
    assert whole.model_id == "openai/gpt-4o"
    assert registry.cost(record, 12_000, 800).usd == whole.usd
