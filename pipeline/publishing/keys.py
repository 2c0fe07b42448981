"""Store keys of the published contract (DESIGN.md §3). Published keys never move."""

from __future__ import annotations

from datetime import datetime

from pipeline.timeutil import hour_stamp

OPENROUTER = "models/openrouter"
CURRENT = f"{OPENROUTER}/current.json"
CURATED = f"{OPENROUTER}/curated.json"
DEPRECATIONS = f"{OPENROUTER}/deprecations.json"
MANIFEST = f"{OPENROUTER}/manifest.json"
HISTORY = f"{OPENROUTER}/history.json"
HISTORY_SEGMENTS = f"{OPENROUTER}/history/"
"""Prefix of the history segments: ``models/openrouter/history/<seq>-<run_id>.json``."""
STATUS = "models/status.json"
LOCK = "models/lock.json"
BINDINGS = "models/bindings/"
"""Prefix of the files downstream consumers write: ``models/bindings/<consumer>.json``."""


def openrouter_raw(now: datetime) -> str:
    """``models/openrouter/raw-YYYYMMDDHH.json`` for the run's UTC hour."""
    return f"{OPENROUTER}/raw-{hour_stamp(now)}.json"


def run_report(run_id: str) -> str:
    """``models/runs/<run_id>.json``."""
    return f"models/runs/{run_id}.json"


def openrouter_run_copy(run_id: str, artifact: str) -> str:
    """``models/openrouter/runs/<run_id>/<artifact>.json`` (immutable per-run copy)."""
    return f"{OPENROUTER}/runs/{run_id}/{artifact}.json"


def schema(name: str) -> str:
    """``models/schemas/<artifact>.schema.json``."""
    return f"models/schemas/{name}.schema.json"


PROVIDERS = "models/providers"
PROVIDERS_INDEX = f"{PROVIDERS}/index.json"
"""Every published provider list with its counts (``ProvidersIndex``)."""
PROVIDERS_HISTORY = f"{PROVIDERS}/history.json"
"""History index of the provider lists (events keyed ``<provider>/<model id>``)."""
PROVIDERS_HISTORY_SEGMENTS = f"{PROVIDERS}/history/"
CATALOGS = "models/catalogs"


def provider_current(provider: str) -> str:
    """``models/providers/<provider>/current.json``: the provider's merged list."""
    return f"{PROVIDERS}/{provider}/current.json"


def provider_native(source: str) -> str:
    """``models/providers/<source>/native.json``: a provider source's own list (its cache)."""
    return f"{PROVIDERS}/{source}/native.json"


def providers_history_segment(seq: int, run_id: str) -> str:
    """``models/providers/history/<seq>-<run_id>.json``."""
    return f"{PROVIDERS_HISTORY_SEGMENTS}{seq:06d}-{run_id}.json"


def catalog_current(source: str) -> str:
    """``models/catalogs/<source>/current.json``: an independent catalog, normalized."""
    return f"{CATALOGS}/{source}/current.json"


def catalog_raw(source: str, now: datetime) -> str:
    """``models/catalogs/<source>/raw-YYYYMMDDHH.json``: its file verbatim."""
    return f"{CATALOGS}/{source}/raw-{hour_stamp(now)}.json"


def provider_raw(source: str, now: datetime) -> str:
    """``models/providers/<source>/raw-YYYYMMDDHH.json``."""
    return f"models/providers/{source}/raw-{hour_stamp(now)}.json"


def history_segment(seq: int, run_id: str) -> str:
    """``models/openrouter/history/<seq>-<run_id>.json`` (immutable: a rewrite gets a new key)."""
    return f"{HISTORY_SEGMENTS}{seq:06d}-{run_id}.json"


def offers_raw(now: datetime) -> str:
    """``models/openrouter/endpoints/raw-YYYYMMDDHH.json``: every endpoints response of a run."""
    return f"{OPENROUTER}/endpoints/raw-{hour_stamp(now)}.json"
