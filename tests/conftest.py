"""Shared test helpers. Real payloads are read from ../shared/fixtures/real (never copied)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline import jsonio, keys
from pipeline.config import CatalogConfig
from pipeline.store import LocalStore, Store
from pipeline.sync import SyncRequest, SyncResult, sync_openrouter
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


__all__ = ["FIXTURES", "fixture_date", "fixture_path", "keys", "openrouter_fixtures", "read_json"]
