"""What every ``catalog`` command shares: its errors and exit codes, the store its
``--store``/``--config`` options name, close matches of an unknown model and the published
documents it reads.

Every command exits with one of (docs/jobs.md, "Exit codes"):

    0  done (published, or nothing to do)
    1  failed: nothing published (upstream down, guarded, a store or file error), or nothing
       to read (a view of a store where nothing is published yet); `serve`: a port it cannot
       listen on; `check`: a law does not hold
    2  usage or configuration error (a bad argument: cost --input -5), or a replay older
       than the published set (no --force)
    3  another run holds the run lease
    4  unknown model: no id or alias matches (resolve, cost, sync --explain), close matches given

The parser imports this module, so it imports nothing heavy at its top: what a helper needs is
imported inside it, and ``catalog --version`` loads none of it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.timeutil import parse_iso, utcnow

if TYPE_CHECKING:
    from pipeline.config import CatalogConfig
    from pipeline.publishing.store import Store
    from pipeline.records.catalog import CurrentCatalog
    from pipeline.registry.core import Registry
    from pipeline.registry.freshness import DataAge

# 0, 1 and 3 are the codes pipeline.runs.jobs gives a run's result (EXIT_OK, EXIT_FAILED,
# EXIT_LOCKED). They are spelled out here because importing that module loads the whole job
# machinery, which a view or `--help` does not need; tests/test_cli.py holds them equal.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_UNKNOWN_MODEL = 4
# Every code a command may return (the table in the docstring and in docs/jobs.md).
EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_FAILED: "failed, nothing published (or, for `check`, a law does not hold)",
    EXIT_USAGE: "usage or configuration error",
    EXIT_LOCKED: "the run lease is held",
    EXIT_UNKNOWN_MODEL: "unknown model",
}


class UsageError(Exception):
    """Bad arguments; exit 2."""


class NothingPublished(Exception):
    """A view of a store that has no (readable) catalog yet; exit 1, like a run that could
    publish nothing."""


class NoPrice(Exception):
    """``cost --on``: the model had no record on that date; exit 1."""


class UnknownModel(Exception):
    """No id or alias matches; exit 4 in every command, with close matches when there are."""

    def __init__(self, ref: str, where: str, matches: Sequence[str]) -> None:
        hint = f"; close matches: {', '.join(matches)}" if matches else ""
        super().__init__(f"no model {ref!r} (id or alias) in {where}{hint}")
        self.matches = list(matches)


def failure(exc: Exception) -> tuple[int, str] | None:
    """(exit code, error line) of a command that raised ``exc``; None when the CLI does not
    expect it (a bug: the traceback shows). The error types of other packages are imported
    here, once a command has failed, rather than before every command."""
    from pipeline.config import ConfigError
    from pipeline.identities import IdentityError
    from pipeline.logs.redact import SecretError
    from pipeline.overrides.files import OverrideError
    from pipeline.publishing.store import StoreError
    from pipeline.runs.jobs import OlderThanPublished, UnknownJob

    if isinstance(exc, UsageError | UnknownJob | OlderThanPublished):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, UnknownModel):
        return EXIT_UNKNOWN_MODEL, str(exc)
    if isinstance(exc, NoPrice | NothingPublished):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, ConfigError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, OverrideError):
        return EXIT_USAGE, f"overrides: {exc}"
    if isinstance(exc, StoreError):
        return EXIT_FAILED, f"store: {exc}"
    if isinstance(exc, OSError):  # a path the user gave (--output, a directory argument, ...)
        where = f"{exc.filename}: " if exc.filename else ""
        return EXIT_FAILED, f"{where}{exc.strerror or exc}"
    if isinstance(exc, SecretError | IdentityError):
        return EXIT_USAGE, str(exc)
    return None


def close_matches(ref: str, current: dict[str, Any] | CurrentCatalog) -> list[str]:
    """Ids and aliases of ``current`` (a catalog record or current.json as plain data) that
    look like ``ref``, for the hint of an unknown-model error."""
    from pipeline import resolve
    from pipeline.records.catalog import CurrentCatalog

    if isinstance(current, CurrentCatalog):
        names = {m.id for m in current.models} | {m.alias for m in current.models}
        names |= {name for m in current.models for name in m.aliases or ()}
    else:
        models = current.get("models", [])
        names = {str(m["id"]) for m in models} | {str(m["alias"]) for m in models if m.get("alias")}
        names |= {str(name) for m in models for name in m.get("aliases") or ()}
    return resolve.close_matches(ref, sorted(names))


def parse_now(value: str | None) -> datetime:
    """``--now``: the run's clock (replays and tests); the wall clock when not given."""
    if not value:
        return utcnow()
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise UsageError(
            f"--now {value!r} is not an ISO-8601 time (e.g. 2026-08-19T06:00:00Z)"
        ) from exc


def config_file(args: argparse.Namespace) -> CatalogConfig | None:
    """The configuration ``--config`` or ``CATALOG_CONFIG`` names, read and checked (a bad
    file fails the command, exit 2); None when neither names one. Then every setting is its
    default, which the helpers below take as None: ``catalog status`` and ``catalog list``
    read a store without building the configuration's models (issue 29)."""
    from pipeline.settings import config_path

    if config_path(args.config) is None:
        return None
    from pipeline.config import load_config

    return load_config(args.config)


def store_for(args: argparse.Namespace, config: CatalogConfig | None) -> Store:
    """The store ``--store`` names, else the configured one (``$CATALOG_STORE``, ...);
    ``config`` None: no config file."""
    from pipeline.publishing.store import open_store
    from pipeline.settings import store_uri

    if config is None:
        return open_store(store_uri(getattr(args, "store", None), None))
    return open_store(
        store_uri(getattr(args, "store", None), config.store),
        endpoint_url=config.s3_endpoint_url,
        region=config.s3_region,
        addressing_style=config.s3_addressing_style,
    )


def open_registry(args: argparse.Namespace, config: CatalogConfig | None = None) -> Registry:
    """The reader library over the store of ``--store``/``--config``: how the views read it,
    exactly as ``catalog serve`` does."""
    from pipeline.registry.core import CatalogUnavailable, Registry

    try:
        return Registry.open(store_for(args, config or config_file(args)))
    except CatalogUnavailable as exc:
        raise NothingPublished(str(exc)) from exc


def say_data_age(config: CatalogConfig | None, current: Mapping[str, Any] | CurrentCatalog) -> bool:
    """A human view's line about its data, on stderr, when the data is older than the
    schedule says it should be or is the embedded catalog (pipeline.registry.freshness):
    ``warning: data as of 2026-08-19, 110 days old (embedded catalog, degraded)``. True when
    it printed."""
    age = data_age(config, current)
    if age.stale:
        print(f"warning: {age.words}", file=sys.stderr)
    return age.stale


def data_age(config: CatalogConfig | None, current: Mapping[str, Any] | CurrentCatalog) -> DataAge:
    """The age of ``current``'s data now, measured against the configured schedule."""
    from pipeline.registry.freshness import age_of

    if not isinstance(current, Mapping):
        current = {
            "dataAsOf": current.data_as_of,
            "generatedAt": current.generated_at,
            "degraded": current.degraded,
        }
    return age_of(current, utcnow(), stale_after(config))


def stale_after(config: CatalogConfig | None) -> timedelta:
    """How old data may be before the views say so: twice the period of the catalog's refresh
    job in the effective schedule (pipeline.runs.schedule.stale_after); ``config`` None: no
    config file."""
    from pipeline.runs import crontab

    jobs = crontab.plain_schedule(config.extra if config is not None else {})
    if jobs is not None:  # the common table, read without its models
        return crontab.catalog_stale_after(jobs)
    from pipeline.config import CatalogConfig, ConfigError
    from pipeline.registry.freshness import DEFAULT_STALE_AFTER
    from pipeline.runs import schedule

    try:
        return schedule.stale_after(config or CatalogConfig())
    except ConfigError:  # a broken cron table fails `catalog schedule`, not every view
        return DEFAULT_STALE_AFTER


def load_current(store: Store) -> CurrentCatalog:
    """The published current.json; NothingPublished when the store has none yet."""
    from pipeline.publishing import keys
    from pipeline.records.catalog import CurrentCatalog

    blob = store.get(keys.CURRENT)
    if blob is None:
        raise NothingPublished(
            f"{store.uri} has no {keys.CURRENT}: nothing published yet "
            "(run `syncmodels all` against this store)"
        )
    return CurrentCatalog.model_validate_json(blob.data)


def read_published(store: Store, key: str) -> Any:
    """A published JSON document as plain data, or None when the store has none."""
    # Plain data with floats, as pipeline.publishing.jsonio.loads_plain reads it, without that
    # module's pydantic import (`catalog status` reads the manifest through here).
    import json

    from pipeline.publishing.store import StoreError

    blob = store.get(key)
    if blob is None:
        return None
    try:
        return json.loads(blob.data)
    except ValueError as exc:
        raise StoreError(f"{key} in {store.uri} is not valid JSON ({exc})") from exc


def published_or_say(store: Store, key: str, missing: str) -> Any:
    """Like :func:`read_published`, but when the store has no ``key`` it says so on stderr
    (``missing`` names what is absent) before returning None; the command then exits 1."""
    document = read_published(store, key)
    if document is None:
        print(f"{missing} in {store.uri}: run `syncmodels all` first", file=sys.stderr)
    return document
