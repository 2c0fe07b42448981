"""Shared test helpers. Real payloads are read from ../shared/fixtures/real (never copied)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import CatalogConfig
from pipeline.publishing import jsonio, keys
from pipeline.publishing.store import LocalStore, Store
from pipeline.runs.sync import SyncRequest, SyncResult, sync_openrouter
from pipeline.timeutil import parse_iso

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("CATALOG_FIXTURES", REPO.parent / "shared" / "fixtures" / "real"))


def fixture_path(name: str) -> Path:
    """Path of a real payload; skips the test with a clear reason when shared/ is absent."""
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"real fixture {name} not found under {FIXTURES} (../shared beside the repo)")
    return path


def openrouter_fixtures() -> list[str]:
    """Every real OpenRouter payload, in date order (empty when shared/ is absent)."""
    if not FIXTURES.exists():
        return []
    return sorted(p.name for p in FIXTURES.glob("openrouter-models-*.json"))


def fixture_date(name: str) -> datetime:
    """The capture time encoded in a fixture's file name (date, or date + THHMMZ)."""
    stem = name.removesuffix(".json").split("models-")[-1].removeprefix("all-")
    if "T" in stem:
        day, hhmm = stem.split("T")
        return parse_iso(f"{day}T{hhmm[:2]}:{hhmm[2:4]}:00Z")
    return parse_iso(f"{stem}T01:00:00Z")


def read_json(store: Store, key: str) -> Any:
    blob = store.get(key)
    assert blob is not None, f"{key} missing from {store.uri}"
    return jsonio.loads(blob.data)


@pytest.fixture(autouse=True)
def _no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Provider API keys of the machine running the tests must not send any test (e.g. a
    `syncmodels all`) to a real provider API: only 127.0.0.1 servers and mock transports."""
    from pipeline.sources.registry import SOURCE_TYPES

    for kind in SOURCE_TYPES.values():
        if kind.api_key_env:
            monkeypatch.delenv(kind.api_key_env, raising=False)


@pytest.fixture(autouse=True)
def _own_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The reader's kept schema passes (pipeline.registry.loader) go to a directory of the
    test's own, not the user's cache: no test vouches for another's documents."""
    monkeypatch.setenv("CATALOG_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and no endpoint, so boto3 talks only to moto and never finds real ones."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture
def config() -> CatalogConfig:
    return CatalogConfig()


@pytest.fixture
def sync_file(store: Store, config: CatalogConfig) -> Callable[..., SyncResult]:
    """Run a sync from a recorded payload into ``store``."""

    def run(path: Path, now: str | datetime = "2026-08-19T00:00:00Z", **kw: Any) -> SyncResult:
        when = parse_iso(now) if isinstance(now, str) else now
        return sync_openrouter(
            kw.pop("store", store),
            kw.pop("config", config),
            SyncRequest(now=when, from_file=path, force=kw.pop("force", False)),
            **kw,
        )

    return run


__all__ = [
    "FIXTURES",
    "Replay",
    "ReplayStep",
    "fixture_date",
    "fixture_path",
    "keys",
    "openrouter_fixtures",
    "read_json",
]


# Replay of the real OpenRouter history (issue 4). Starts after the 2024-02-18 capture: going
# from it to 2025-10-01 loses 81% of the models, which the publish guard rightly refuses
# without --force.
REPLAY_START = "openrouter-models-2025-10-01.json"


@dataclass
class ReplayStep:
    """What one replayed run published."""

    name: str
    now: datetime
    result: SyncResult
    current: dict[str, Any]
    deprecations: dict[str, Any]

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        return {m["id"]: m for m in self.current["models"]}

    @property
    def changelog(self) -> dict[str, Any]:
        return dict(self.result.report.details["changelog"])


@dataclass
class Replay:
    store: LocalStore
    steps: list[ReplayStep]

    def at(self, name_part: str) -> ReplayStep:
        (step,) = [s for s in self.steps if name_part in s.name]
        return step


@pytest.fixture(scope="session")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    """Sync every real snapshot from REPLAY_START on, in date order, with --now at each
    snapshot's capture time (run once per session; the store is the result of the last)."""
    names = [n for n in openrouter_fixtures() if "-all-" not in n and n >= REPLAY_START] or [
        REPLAY_START
    ]
    store = LocalStore(tmp_path_factory.mktemp("replay") / "store")
    steps = []
    for name in names:
        now = fixture_date(name)
        result = sync_openrouter(
            store, CatalogConfig(), SyncRequest(now=now, from_file=fixture_path(name))
        )
        assert result.published, f"{name}: {result.error}"
        steps.append(
            ReplayStep(
                name,
                now,
                result,
                read_json(store, keys.CURRENT),
                read_json(store, keys.DEPRECATIONS),
            )
        )
    return Replay(store, steps)


def commit(store: Store, artifacts: dict[str, Any], run_id: str | None = None) -> str:
    """Publish documents (artifact name → dict or raw bytes) the way a sync commits a set:
    per-run copies, well-known files, then the manifest. For tests that change a store under
    a reader, including with content the pipeline itself would refuse to publish."""
    import hashlib

    from pipeline.publishing.publish import publish_set

    encoded = {
        name: doc if isinstance(doc, bytes) else jsonio.dumps(doc)
        for name, doc in artifacts.items()
    }
    run_id = run_id or "test-" + hashlib.sha256(b"".join(encoded.values())).hexdigest()[:12]
    publish_set(store, run_id, "2026-08-19T00:00:00Z", encoded)
    return run_id


@pytest.fixture(scope="session")
def breadth(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStore, Any]:
    """One store with the 2026-08-17 OpenRouter catalog, every recorded provider list, xAI's
    pinned manifest and the three independent catalogs merged (issue 30), published once per
    session (a minute on a busy machine): (store, the providers run's result). Read only."""
    from published_lists import publish_breadth

    store = LocalStore(tmp_path_factory.mktemp("breadth") / "store")
    return store, publish_breadth(store)
