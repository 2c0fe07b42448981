"""Runtime availability (issue 18) over a catalog synced from a real OpenRouter payload.

The counting rules are checked against a deliberately simple reference model (sets and dicts,
recomputed from scratch on every check) by Hypothesis, and by a thread hammer."""

from __future__ import annotations

import copy
import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import commit, fixture_path, read_json
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pipeline.config import CatalogConfig
from pipeline.publishing import keys
from pipeline.publishing.store import LocalStore
from pipeline.registry import Availability, AvailabilityError, AvailabilityEvent, Registry
from pipeline.registry.availability import DEFAULT_COOLDOWN_SECONDS, MAX_COOLDOWN_SECONDS
from pipeline.runs.sync import SyncRequest, sync_openrouter
from pipeline.timeutil import utcnow

PAYLOAD = "openrouter-models-2026-08-19.json"
REMOVED = "openai/gpt-4o-retired"  # a tombstone in every test catalog (see deprecations())
RENAMED = "openai/gpt-4o-old-name"  # renamed to openai/gpt-4o (a `rename` redirect)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """current.json of a real sync of the real payload."""
    store = LocalStore(tmp_path_factory.mktemp("availability-base"))
    request = SyncRequest(now=utcnow(), from_file=fixture_path(PAYLOAD))
    result = sync_openrouter(store, CatalogConfig(), request)
    assert result.published, result.error
    document: dict[str, Any] = read_json(store, keys.CURRENT)
    return document


def record(current: dict[str, Any], model_id: str) -> dict[str, Any]:
    return next(m for m in current["models"] if m["id"] == model_id)


def tombstone(current: dict[str, Any], model: dict[str, Any], new_id: str | None = None):
    tomb = copy.deepcopy(model)
    if new_id:
        tomb["id"] = new_id
        tomb["alias"] = new_id.split("/")[-1]
        tomb["canonicalSlug"] = new_id
    tomb["lifecycle"] = {**tomb["lifecycle"], "state": "removed"}
    return {
        "id": tomb["id"],
        "alias": tomb["alias"],
        "removedAt": "2026-08-10T00:00:00Z",
        "record": tomb,
    }


def deprecations(current: dict[str, Any], *, tombstones=(), redirects=()) -> dict[str, Any]:
    gpt4o = record(current, "openai/gpt-4o")
    return {
        "schemaVersion": 1,
        "generatedAt": current["generatedAt"],
        "runId": current["runId"],
        "redirects": [
            {
                "from": RENAMED,
                "to": "openai/gpt-4o",
                "reason": "rename",
                "since": "2026-08-01T00:00:00Z",
            },
            *redirects,
        ],
        "tombstones": [tombstone(current, gpt4o, REMOVED), *tombstones],
        "aliasHistory": [
            {
                "oldAlias": "omni",
                "newAlias": "gpt-4o",
                "modelId": "openai/gpt-4o",
                "since": "2026-08-02T00:00:00Z",
            }
        ],
    }


# What `enrich.link_direct_sources` adds after a providers sync: Anthropic's own id for the
# model, as the real Anthropic /v1/models payload lists it.
NATIVE = ("anthropic/claude-sonnet-4.5", "anthropic", "claude-sonnet-4-5-20250929")


def with_native_source(current: dict[str, Any]) -> dict[str, Any]:
    native = json.loads(fixture_path("provider-anthropic-models-2026-08-17.json").read_text())
    assert NATIVE[2] in {m["id"] for m in native["data"]}
    models = copy.deepcopy(current["models"])
    target = next(m for m in models if m["id"] == NATIVE[0])
    target["sources"].append({"source": NATIVE[1], "nativeId": NATIVE[2]})
    return {**current, "models": models}


def publish(store: LocalStore, current: dict[str, Any], **kw: Any) -> None:
    current = {**with_native_source(current), "count": len(current["models"])}
    commit(store, {"current": current, "deprecations": deprecations(current, **kw)})


@pytest.fixture
def catalog(base, tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "store")
    publish(store, base)
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def live(catalog, clock) -> Availability:
    return Availability(Registry.open(catalog), clock=clock)


# -- the two reported failures -----------------------------------------------------------------


def test_rate_limited_model_stays_listed_with_retry_at(live, clock):
    """CLIProxyAPI #5181: a model whose only client is rate limited vanished from the list
    with no reason or retry time. Here it stays listed, `cooling_down`, with `retryAt`."""
    live.register("team-key", "openai", ["gpt-4o"])
    retry = live.mark_quota("team-key", "gpt-4o", retry_after=120)
    assert retry == clock.now + 120

    state = live.state("openai/gpt-4o")
    assert (state.state, state.retry_at, state.available, state.cooling_down) == (
        "cooling_down",
        clock.now + 120,
        0,
        1,
    )
    listed = live.available_models("openai")["data"]
    assert [m["id"] for m in listed] == ["openai/gpt-4o"]
    badge = listed[0]["availability"]
    assert badge["state"] == "cooling_down"
    assert badge["retryAt"] == _iso(clock.now + 120)
    # The native shapes carry it too.
    anthropic = live.available_models("anthropic")["data"]
    assert anthropic[0]["availability"]["retryAt"] == badge["retryAt"]
    gemini = live.available_models("gemini")["models"]
    assert gemini[0]["name"] == "models/openai/gpt-4o" and gemini[0]["availability"] == badge
    assert live.first_available() is None  # nothing can serve *now*
    assert live.count("gpt-4o") == 0

    clock.now += 121  # no cleanup call: the next read sees the cooldown over
    assert live.state("gpt-4o").state == "available"
    assert live.available_models("openai")["data"][0]["availability"]["state"] == "available"
    assert live.first_available()["id"] == "openai/gpt-4o"


def test_removed_model_is_never_available_or_first_available(base, catalog, clock):
    """CLIProxyAPI #414: the registry fell back to a model that had been removed. Here a
    removed model counts for nothing: never listed, never first available, and a client that
    registers it gets a warning with the catalog's offered target, which is not used."""
    newest = max(
        (
            m
            for m in base["models"]
            if m["family"] == "openai" and m["lifecycle"]["state"] == "active"
        ),
        key=lambda m: (m.get("created") or 0, m["id"]),
    )
    registry = Registry.open(catalog)
    events: list[AvailabilityEvent] = []
    live = Availability(registry, clock=clock, on_event=events.append)
    live.register("key-a", "openai", [newest["id"], "openai/gpt-4o"])
    assert live.first_available("openai")["id"] == newest["id"]

    # The next catalog removes the newest model (a tombstone, as the lifecycle stage writes).
    reduced = {**base, "models": [m for m in base["models"] if m["id"] != newest["id"]]}
    publish(catalog, reduced, tombstones=[tombstone(base, newest)])
    assert registry.refresh().changed
    # The refreshing thread re-keyed the overlay (a request thread will not pay for it).
    assert [(e.kind, e.client_id, e.model_id) for e in events] == [
        ("removed_model", "key-a", newest["id"])
    ]
    offered = registry.resolve(newest["id"]).model_id
    assert offered is not None and offered != newest["id"]  # the catalog's family fallback

    assert live.first_available("openai")["id"] == "openai/gpt-4o"
    listed = [m["id"] for m in live.available_models("openai")["data"]]
    assert listed == ["openai/gpt-4o"]
    gone = live.state(newest["id"])
    assert (gone.state, gone.redirect_to, gone.clients) == ("removed", offered, 0)
    info = live.client_info("key-a")
    assert [m["modelId"] for m in info["models"]] == ["openai/gpt-4o"]
    assert info["removed"] == [{"ref": newest["id"], "reason": gone.reason, "redirectTo": offered}]
    assert "removed from the catalog on 2026-08-10" in (gone.reason or "")
    if offered != "openai/gpt-4o":
        assert live.state(offered).state == "no_clients"  # the offer is not a silent fallback

    # Registering a removed id directly: a warning naming it and the offer, nothing counted.
    result = live.register("key-b", "openai", [REMOVED])
    assert result.counted == {} and [r.ref for r in result.removed] == [REMOVED]
    assert result.removed[0].redirect_to == registry.resolve(REMOVED).model_id
    assert any(REMOVED in w for w in result.warnings)
    with pytest.raises(AvailabilityError, match="removed"):
        live.mark_quota("key-b", REMOVED)
    assert live.first_available("openai")["id"] == "openai/gpt-4o"


# -- joined with the catalog -------------------------------------------------------------------


def test_native_dated_and_old_ids_count_for_the_model_they_resolve_to(live):
    result = live.register(
        "k", "openai", ["gpt-4o", "openai/gpt-4o", "omni", RENAMED, "gpt-4o", "local-llama"]
    )
    assert set(result.counted.values()) == {"openai/gpt-4o"}
    assert result.unknown == ["local-llama"]
    assert any("renamed" in w for w in result.warnings)
    # Five refs, one model: counted once.
    assert live.state("openai/gpt-4o").clients == 1
    assert live.state("local-llama").in_catalog is False
    assert live.state("local-llama").state == "available"
    # Not in the catalog, so never in a catalog list.
    assert [m["id"] for m in live.available_models()["data"]] == ["openai/gpt-4o"]
    # Any of the refs addresses the model in a state change.
    live.mark_quota("k", "omni")
    assert live.state("gpt-4o").state == "cooling_down"
    # A provider-prefixed native id: `anthropic` + `claude-sonnet-4` → anthropic/claude-sonnet-4.
    live.register("c", "Anthropic", ["claude-sonnet-4"])
    assert live.state("anthropic/claude-sonnet-4").clients == 1


def test_provider_native_and_dated_ids(live):
    # Anthropic's native id, linked by the providers sync (`sources`), under its provider.
    result = live.register("anthropic-main", "anthropic", [NATIVE[2], "claude-sonnet-4-20250514"])
    assert result.counted == {
        NATIVE[2]: NATIVE[0],
        # A dated snapshot id of a model OpenRouter lists undated: counted for it, with a note.
        "claude-sonnet-4-20250514": "anthropic/claude-sonnet-4",
    }
    assert any("dated id" in w for w in result.warnings)
    # Queries accept the native id too (it belongs to one model only).
    assert live.state(NATIVE[2]).model_id == NATIVE[0]
    assert live.providers(NATIVE[0])[0].provider == "anthropic"
    # An OpenRouter-side dated id is a catalog id of its own, not its undated sibling.
    dated = live.register("o", "openai", ["gpt-4o-2024-08-06"])
    assert dated.counted == {"gpt-4o-2024-08-06": "openai/gpt-4o-2024-08-06"}


def test_refresh_keeps_state_and_moves_it_with_a_rename(base, catalog, clock):
    registry = Registry.open(catalog)
    live = Availability(registry, clock=clock)
    live.register("k1", "openai", ["openai/gpt-4o-mini", "openai/gpt-4o"])
    live.register("k2", "openai", ["openai/gpt-4o-mini"])
    live.mark_quota("k1", "openai/gpt-4o", retry_after=600)
    live.suspend("k2", "openai/gpt-4o-mini", "auth revoked")
    before = live.state("openai/gpt-4o-mini")

    # New set: gpt-4o-mini is renamed to gpt-4o-mini-2 (same model, new id).
    mini = record(base, "openai/gpt-4o-mini")
    renamed = {**copy.deepcopy(mini), "id": "openai/gpt-4o-mini-2", "alias": "gpt-4o-mini-2"}
    models = sorted(
        [*(m for m in base["models"] if m["id"] != mini["id"]), renamed], key=lambda m: m["id"]
    )
    rename = {
        "from": mini["id"],
        "to": renamed["id"],
        "reason": "rename",
        "since": "2026-08-20T00:00:00Z",
    }
    publish(catalog, {**base, "models": models}, redirects=[rename])
    assert registry.refresh().changed

    after = live.state("openai/gpt-4o-mini-2")
    assert (after.clients, after.available, after.suspended) == (before.clients, 1, 1)
    assert live.state("openai/gpt-4o").retry_at == clock.now + 600
    assert live.state(mini["id"]).model_id == "openai/gpt-4o-mini-2"  # the old id still resolves
    clock.now += 601
    assert live.state("openai/gpt-4o").state == "available"


# -- rules -------------------------------------------------------------------------------------


def test_suspension_reasons_quota_keeps_listed_others_hide(live, clock):
    live.register("a", "openai", ["gpt-4o"])
    live.register("b", "azure", ["gpt-4o"])
    live.suspend("a", "gpt-4o", "auth revoked")
    assert live.state("gpt-4o").state == "available"  # b still serves it
    live.suspend("b", "gpt-4o", "quota")
    state = live.state("gpt-4o")
    assert (state.state, state.retry_at) == ("cooling_down", None)  # listed, no known time
    assert [m["id"] for m in live.available_models()["data"]] == ["openai/gpt-4o"]
    live.suspend("b", "gpt-4o", "billing\x00 disabled")
    state = live.state("gpt-4o")
    assert (state.state, state.reason) == ("suspended", "auth revoked; billing  disabled")
    assert live.available_models()["data"] == []
    live.resume("a")
    assert live.state("gpt-4o").state == "available"
    assert live.available_clients("gpt-4o") == ["a"]
    assert [p.as_dict() for p in live.providers("gpt-4o")] == [
        {"provider": "openai", "available": 1, "clients": 1},
        {"provider": "azure", "available": 0, "clients": 1},
    ]


def test_retry_at_ignores_blocked_clients(live, clock):
    """A client suspended for a real reason will not come back at its quota time: the
    model's retryAt is the earliest return of the clients that will."""
    live.register("a", "openai", ["gpt-4o"])
    live.register("b", "openai", ["gpt-4o"])
    live.mark_quota("a", "gpt-4o", retry_after=10)
    live.suspend("a", "gpt-4o", "auth revoked")
    live.mark_quota("b", "gpt-4o", retry_after=50)
    assert (live.state("gpt-4o").state, live.state("gpt-4o").retry_at) == (
        "cooling_down",
        clock.now + 50,
    )
    clock.now += 50
    assert live.state("gpt-4o").state == "available"


def test_quota_times(live, clock):
    live.register("a", "openai", ["gpt-4o", "gpt-4o-mini"])
    assert live.mark_quota("a") == clock.now + DEFAULT_COOLDOWN_SECONDS  # every model
    assert live.state("gpt-4o-mini").state == "cooling_down"
    # A shorter mark does not shorten a longer one; a longer one extends it.
    live.mark_quota("a", "gpt-4o", retry_at=clock.now + 10)
    assert live.state("gpt-4o").retry_at == clock.now + DEFAULT_COOLDOWN_SECONDS
    live.mark_quota("a", "gpt-4o", retry_at=clock.now + 10**9)  # capped at a day
    assert live.state("gpt-4o").retry_at == clock.now + MAX_COOLDOWN_SECONDS
    live.clear_quota("a", "gpt-4o")
    assert live.state("gpt-4o").state == "available"
    with pytest.raises(ValueError, match="finite"):
        live.mark_quota("a", "gpt-4o", retry_at=float("nan"))
    with pytest.raises(AvailabilityError, match="'nobody'"):
        live.mark_quota("nobody", "gpt-4o")
    with pytest.raises(AvailabilityError, match="does not serve model 'openai/o3'"):
        live.suspend("a", "openai/o3", "x")


def test_repeated_marks_do_not_grow_memory(live, clock):
    live.register("a", "openai", ["gpt-4o"])
    for i in range(20_000):
        live.mark_quota("a", "gpt-4o", retry_at=clock.now + 1 + i)
    assert len(live._expiry) <= 4 * live.summary()["coolingEntries"] + 1025


def test_events_for_telemetry(live, clock):
    seen: list[AvailabilityEvent] = []
    live.on_event = seen.append
    live.register("a", "openai", ["gpt-4o", REMOVED])
    live.mark_quota("a", "gpt-4o", retry_after=5)
    live.suspend("a", "gpt-4o", "upstream 500s")
    live.resume("a", "gpt-4o")
    clock.now += 6
    live.state("gpt-4o")
    assert [(e.kind, e.model_id, e.telemetry) for e in seen] == [
        ("removed_model", REMOVED, None),
        ("quota_exceeded", "openai/gpt-4o", "rate_limited"),
        ("suspended", "openai/gpt-4o", "provider_error"),
        ("resumed", "openai/gpt-4o", None),
        ("quota_expired", "openai/gpt-4o", None),
    ]
    assert seen[1].retry_at == clock.now - 1 and seen[1].provider == "openai"

    def broken(_: AvailabilityEvent) -> None:
        raise RuntimeError("sink down")

    live.on_event = broken  # a failing sink is logged, never raised into the gateway
    live.mark_quota("a", "gpt-4o")


def test_first_available_filters(live, base):
    ids = ["anthropic/claude-sonnet-4", "openai/gpt-4o", "openai/gpt-4o-mini"]
    live.register("a", "openrouter", ids)
    newest = max(ids, key=lambda i: record(base, i).get("created") or 0)
    assert live.first_available()["id"] == newest
    assert live.first_available("anthropic")["id"] == "anthropic/claude-sonnet-4"
    assert live.first_available("gemini") is None
    vision = [i for i in ids if record(base, i)["supportsVision"]]
    assert live.first_available(capability="vision")["id"] in vision
    assert live.first_available(provider="nobody") is None
    live.suspend("a", newest, "down")
    assert live.first_available()["id"] != newest
    with pytest.raises(ValueError, match="format"):
        live.first_available("cohere")


# -- property-based: counts against a reference model ------------------------------------------

# Ref → the model it names, written out by hand from the catalog (not from the code under test).
KEYMAP = {
    "openai/gpt-4o": "openai/gpt-4o",
    "gpt-4o": "openai/gpt-4o",
    "omni": "openai/gpt-4o",  # old alias
    RENAMED: "openai/gpt-4o",  # renamed id
    "openai/gpt-4o-mini": "openai/gpt-4o-mini",
    "anthropic/claude-sonnet-4": "anthropic/claude-sonnet-4",
    "claude-sonnet-4": "anthropic/claude-sonnet-4",
    "local-llama": "local-llama",  # unknown to the catalog: counted under itself
    REMOVED: None,  # removed: counted for nothing
}
MODELS = sorted({k for k in KEYMAP.values() if k})
CLIENTS = ["c0", "c1", "c2", "c3"]
PROVIDERS = ["openai", "azure", "openrouter"]


class Reference:
    """The rules, recomputed from plain sets on every question."""

    def __init__(self) -> None:
        self.clients: dict[str, tuple[str, set[str]]] = {}
        self.quota: dict[tuple[str, str], float] = {}
        self.suspended: dict[tuple[str, str], str] = {}

    def register(self, client: str, provider: str, refs: list[str]) -> None:
        keys_ = {KEYMAP[r] for r in refs if KEYMAP[r]}
        self.clients[client] = (provider, keys_)
        for table in (self.quota, self.suspended):
            for pair in [p for p in table if p[0] == client and p[1] not in keys_]:
                del table[pair]

    def unregister(self, client: str) -> None:
        self.clients.pop(client, None)
        for table in (self.quota, self.suspended):
            for pair in [p for p in table if p[0] == client]:
                del table[pair]

    def targets(self, client: str, ref: str | None) -> list[str]:
        served = self.clients[client][1]
        return sorted(served) if ref is None else [KEYMAP[ref]]  # type: ignore[list-item]

    def expire(self, now: float) -> None:
        for pair in [p for p, t in self.quota.items() if t <= now]:
            del self.quota[pair]

    def condition(self, client: str, key: str) -> str:
        reason = self.suspended.get((client, key))
        if reason is not None:
            return "cooling" if reason == "quota" else "blocked"
        return "cooling" if (client, key) in self.quota else "available"

    def expected(self, key: str) -> dict[str, Any]:
        holders = [c for c, (_, ks) in self.clients.items() if key in ks]
        conds = [self.condition(c, key) for c in holders]
        n = {x: conds.count(x) for x in ("available", "cooling", "blocked")}
        if n["available"]:
            state, retry = "available", None
        elif n["cooling"]:
            times = [
                self.quota[(c, key)]
                for c in holders
                if (c, key) in self.quota and self.condition(c, key) == "cooling"
            ]
            state, retry = "cooling_down", min(times) if times else None
        elif n["blocked"]:
            state, retry = "suspended", None
        else:
            state, retry = "no_clients", None
        providers: dict[str, list[int]] = {}
        for c in holders:
            row = providers.setdefault(self.clients[c][0], [0, 0])
            row[0] += self.condition(c, key) == "available"
            row[1] += 1
        order = sorted(providers.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        return {
            "state": state,
            "retry_at": retry,
            "counts": (len(holders), n["available"], n["cooling"], n["blocked"]),
            "providers": [(p, a, t) for p, (a, t) in order],
        }


@pytest.fixture(scope="module")
def machine_registry(base, tmp_path_factory) -> Registry:
    store = LocalStore(tmp_path_factory.mktemp("availability-machine"))
    publish(store, base)
    return Registry.open(store)


@pytest.fixture(scope="module")
def smaller_catalog(base, tmp_path_factory):
    """The next catalog: gpt-4o-mini gone without a tombstone (its ref becomes a model the
    catalog does not know, under the same key) and another model gone (every position in the
    newest-first order after it shifts)."""
    store = LocalStore(tmp_path_factory.mktemp("availability-smaller"))
    dropped = {"openai/gpt-4o-mini", "openai/o3"}
    publish(store, {**base, "models": [m for m in base["models"] if m["id"] not in dropped]})
    return Registry.open(store).snapshot


def test_counting_rules_match_the_reference_model(machine_registry, smaller_catalog, base):
    created = {m["id"]: (m.get("created") or 0) for m in base["models"]}
    first_catalog = machine_registry.snapshot
    catalogs = [first_catalog, smaller_catalog]

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = Clock()
            machine_registry._snapshot = first_catalog
            self.live = Availability(machine_registry, clock=self.clock)
            self.ref = Reference()
            self.catalog = 0

        refs = st.lists(st.sampled_from(sorted(KEYMAP)), max_size=6)
        client = st.sampled_from(CLIENTS)
        which = st.one_of(st.none(), st.sampled_from(sorted(KEYMAP)))

        @rule(client=client, provider=st.sampled_from(PROVIDERS), refs=refs)
        def register(self, client, provider, refs):
            self.live.register(client, provider, refs)
            self.ref.register(client, provider, refs)

        @rule(client=client)
        def unregister(self, client):
            assert self.live.unregister(client) == (client in self.ref.clients)
            self.ref.unregister(client)

        def _apply(self, client, target, op, *args):
            served = self.ref.clients.get(client)
            valid = served is not None and (target is None or KEYMAP[target] in served[1])
            if not valid:
                with pytest.raises(AvailabilityError):
                    op(client, target, *args)
                return []
            op(client, target, *args)
            return self.ref.targets(client, target)

        @rule(client=client, model=which, seconds=st.integers(-5, 900))
        def quota(self, client, model, seconds):
            now = self.clock.now
            for key in self._apply(client, model, self._mark, seconds):
                if seconds > 0 and now + seconds > self.ref.quota.get((client, key), 0):
                    self.ref.quota[(client, key)] = now + seconds

        def _mark(self, client, target, seconds):
            self.live.mark_quota(client, target, retry_after=seconds)

        @rule(client=client, model=which)
        def clear(self, client, model):
            for key in self._apply(client, model, self.live.clear_quota):
                self.ref.quota.pop((client, key), None)

        @rule(client=client, model=which, reason=st.sampled_from(["quota", "auth", "down"]))
        def suspend(self, client, model, reason):
            for key in self._apply(client, model, self.live.suspend, reason):
                self.ref.suspended[(client, key)] = reason

        @rule(client=client, model=which)
        def resume(self, client, model):
            for key in self._apply(client, model, self.live.resume):
                self.ref.suspended.pop((client, key), None)

        @rule()
        def refresh(self):
            # What Registry.refresh does on a new set: one assignment of the snapshot.
            self.catalog = 1 - self.catalog
            machine_registry._snapshot = catalogs[self.catalog]

        @rule(seconds=st.integers(0, 400))
        def wait(self, seconds):
            self.clock.now += seconds
            self.ref.expire(self.clock.now)

        @invariant()
        def counts_match(self):
            self.ref.expire(self.clock.now)
            for key in MODELS:
                got = self.live.state(key)
                want = self.ref.expected(key)
                counts = (got.clients, got.available, got.cooling_down, got.suspended)
                assert min(counts) >= 0
                assert (got.state, got.retry_at, counts) == (
                    want["state"],
                    want["retry_at"],
                    want["counts"],
                ), key
                providers = [(p.provider, p.available, p.clients) for p in self.live.providers(key)]
                assert providers == want["providers"], key
            in_catalog = set(catalogs[self.catalog].index.models)
            listed = {
                k
                for k in MODELS
                if self.ref.expected(k)["state"] in ("available", "cooling_down")
                and k in in_catalog
            }
            records = [m for m in base["models"] if m["id"] in MODELS]
            kept, states = self.live.filter_available(records)
            assert {r["id"] for r in kept} == listed
            assert all(states[r["id"]].listed for r in kept)
            for key in MODELS:
                assert self.live.state(key).in_catalog == (key in in_catalog), key
            servable = [
                k
                for k in MODELS
                if k in in_catalog and self.ref.expected(k)["state"] == "available"
            ]
            first = self.live.first_available()
            newest = min(servable, key=lambda k: (-created[k], k), default=None)
            assert (first["id"] if first else None) == newest
            summary = self.live.summary()
            assert summary["clients"] == len(self.ref.clients)
            assert sum(summary["models"].values()) == sum(
                1 for k in MODELS if any(k in ks for _, ks in self.ref.clients.values())
            )

    Machine.TestCase.settings = settings(
        max_examples=60,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    Machine.TestCase().runTest()


# -- concurrency -------------------------------------------------------------------------------


def test_threads_hammer_counts_stay_exact(machine_registry):
    """Eight threads, each owning its clients, run random operations while four readers query;
    at the end every count equals the reference model fed the same per-thread sequences
    (operations on different clients commute, so the interleaving cannot change the result)."""
    clock = Clock()  # frozen: expiry is covered by the property test
    live = Availability(machine_registry, clock=clock)
    reference = Reference()
    scripts: list[list[tuple[str, ...]]] = []
    rng = random.Random(18)
    refs = sorted(KEYMAP)
    for t in range(8):
        ops: list[tuple[Any, ...]] = []
        mine = [f"t{t}-c{i}" for i in range(5)]
        for _ in range(1500):
            client = rng.choice(mine)
            kind = rng.choice(
                ["register", "register", "quota", "clear", "suspend", "resume", "unregister"]
            )
            if kind == "register":
                ops.append(
                    (kind, client, rng.choice(PROVIDERS), rng.sample(refs, rng.randint(0, 5)))
                )
            elif kind == "unregister":
                ops.append((kind, client))
            else:
                ops.append((kind, client, rng.choice([None, *refs]), rng.choice(["quota", "down"])))
        scripts.append(ops)

    def run(ops: list[tuple[Any, ...]], model: Reference | None) -> None:
        for op in ops:
            kind, client = op[0], op[1]
            target = live if model is None else None
            if kind == "register":
                (target.register if target else model.register)(client, op[2], op[3])  # type: ignore[union-attr]
                continue
            if kind == "unregister":
                (target.unregister if target else model.unregister)(client)  # type: ignore[union-attr]
                continue
            ref = op[2]
            if model is not None:
                served = model.clients.get(client)
                if served is None or (ref is not None and KEYMAP[ref] not in served[1]):
                    continue
                for key in model.targets(client, ref):
                    if kind == "quota":
                        model.quota[(client, key)] = clock.now + DEFAULT_COOLDOWN_SECONDS
                    elif kind == "clear":
                        model.quota.pop((client, key), None)
                    elif kind == "suspend":
                        model.suspended[(client, key)] = op[3]
                    else:
                        model.suspended.pop((client, key), None)
                continue
            try:
                if kind == "quota":
                    live.mark_quota(client, ref)
                elif kind == "clear":
                    live.clear_quota(client, ref)
                elif kind == "suspend":
                    live.suspend(client, ref, op[3])
                else:
                    live.resume(client, ref)
            except AvailabilityError:
                pass

    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                for key in MODELS:
                    state = live.state(key)
                    assert (
                        min(state.clients, state.available, state.cooling_down, state.suspended)
                        >= 0
                    )
                live.first_available()
                live.available_models("openai")
        except BaseException as exc:  # reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    writers = [threading.Thread(target=run, args=(ops, None)) for ops in scripts]
    for thread in [*readers, *writers]:
        thread.start()
    for thread in writers:
        thread.join(60)
    stop.set()
    for thread in readers:
        thread.join(60)
    assert not errors, errors
    for ops in scripts:
        run(ops, reference)
    for key in MODELS:
        got = live.state(key)
        want = reference.expected(key)
        assert (got.state, (got.clients, got.available, got.cooling_down, got.suspended)) == (
            want["state"],
            want["counts"],
        ), key
    assert live.summary()["clients"] == len(reference.clients)


def _iso(moment: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
