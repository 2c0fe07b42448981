"""The orchestrator: wires the stages for one OpenRouter sync and publishes the result.

    fetch → parse → normalize → capabilities/tiers → aliases → lifecycle → publish

Stages are pure functions over records; this module owns the clock, the store, the network
transport, timing, the run report and status. Invariants it keeps (DESIGN.md §7): nothing is
published unless it is complete and schema-valid; a failure at any step leaves the last good
catalog untouched; same inputs and clock give byte-identical artifacts.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

import httpx
from pydantic import ValidationError

from pipeline.config import CatalogConfig
from pipeline.logs import redact
from pipeline.overrides.files import Overrides
from pipeline.publishing import keys, publish
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import Store, StoreError
from pipeline.records import payloads
from pipeline.records.base import DetectionLayer, Outcome
from pipeline.records.catalog import AliasChange, CurrentCatalog, Deprecations, Tombstone
from pipeline.records.curated import CuratedCatalog
from pipeline.records.model import ModelRecord
from pipeline.records.runs import JobStatus, QuarantinedRecord, RunReport
from pipeline.runs import fallback
from pipeline.runs.context import ProgressFn, make_run_id
from pipeline.sources import openrouter
from pipeline.sources.http import FetchError
from pipeline.stages import capabilities, changelog, deprecations, enrich, lifecycle, tiers
from pipeline.stages.aliases import AliasCandidate, alias_changes, assign_aliases
from pipeline.stages.bindings import load_bindings
from pipeline.stages.normalize import Normalized, NormalizeError, normalize_openrouter
from pipeline.timeutil import data_age, iso, parse_iso, utcnow

log = logging.getLogger("pipeline.runs.sync")

P = ParamSpec("P")
R = TypeVar("R")


class SyncError(Exception):
    """The run cannot go on; the message is the one-line reason shown to the operator."""


@dataclass
class SyncRequest:
    """What to sync and how."""

    now: datetime
    """The run's clock; every stage uses it (``--now`` for replays)."""
    from_file: Path | None = None
    """Use a recorded payload instead of the network."""
    force: bool = False
    """Publish even when the publish guard objects."""
    job: str = "openrouter"
    """Job name recorded in status.json."""
    overrides: Overrides = field(default_factory=Overrides)
    """Loaded and validated override files (the CLI loads them before the run starts)."""
    offers: bool = False
    """Fetch per-provider offers from the endpoints API (the full refresh does, when
    `offers.enabled`); otherwise the published offers are carried forward."""
    deadline: float | None = None
    """``time.monotonic()`` after which the run stops at its next stage (None: no deadline)."""


@dataclass
class SyncResult:
    """How a run ended."""

    run_id: str
    outcome: Outcome
    published: bool
    report: RunReport
    summary: str
    error: str | None = None
    catalog: CurrentCatalog | None = None
    kept: bool = False
    """Upstream could not be reached and the published catalog was kept as it is."""

    @property
    def exit_code(self) -> int:
        """0 when something was published, else 1 (a held lease is 3, see pipeline.runs.jobs)."""
        return 0 if self.published else 1


@dataclass
class _Run:
    """Mutable state of one run: timings, warnings, quarantine."""

    request: SyncRequest
    progress: ProgressFn | None
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    quarantine_overflow: int = 0
    """Quarantined records beyond the stored ones (``openrouter.max_quarantined``)."""
    details: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    """Validated bytes of further artifacts of this run's set (`deprecations`, `curated`),
    committed together with `current` by ``publish.publish_set``."""
    based_on: str | publish.LatestMarker | None = publish.LATEST
    """Etag of the manifest the previous state was read under (None: there was none)."""

    @contextmanager
    def stage(self, name: str, detail: Callable[[], str] | None = None) -> Iterator[None]:
        deadline = self.request.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise RunDeadline(
                f"the run passed its deadline before stage {name!r}; stopped, nothing published "
                "(jobs.run_deadline_seconds)"
            )
        began = time.perf_counter()
        yield
        elapsed = (time.perf_counter() - began) * 1000
        self.timings[name] = round(self.timings.get(name, 0.0) + elapsed, 3)
        text = detail() if detail else ""
        log.debug("stage done", extra={"stage": name, "ms": round(elapsed, 1), "detail": text})
        if self.progress is not None:
            self.progress(name, elapsed, text)

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


def load_previous(store: Store) -> CurrentCatalog | None:
    """The published catalog, the memory for aliases and lifecycle; None on a fresh store."""
    return publish.read_published(
        store, keys.CURRENT, CurrentCatalog, would_lose="lifecycle history"
    )


def parse_records(
    items: Iterable[Any],
    run: _Run,
    *,
    max_items: int | None = None,
    max_quarantined: int | None = None,
) -> tuple[list[Normalized], int]:
    """Validate and normalize each upstream item; quarantine the ones that fail.

    Returns the normalized records and how many upstream items there were. More than
    ``max_items`` items is a PayloadError (the list is refused as a whole); quarantined records
    beyond ``max_quarantined`` are counted in ``run.quarantine_overflow``, not stored.
    """
    out: list[Normalized] = []
    seen: set[str] = set()
    count = 0
    quarantine = _Quarantine(run, max_quarantined)
    for index, item in enumerate(items):
        count += 1
        if max_items is not None and count > max_items:
            raise payloads.PayloadError(
                f"the model list has more than {max_items} entries (openrouter.max_items)"
            )
        model_id = item.get("id") if isinstance(item, dict) else None
        model_id = model_id if isinstance(model_id, str) else None
        try:
            if not isinstance(item, dict):
                raise NormalizeError(f"entry is {type(item).__name__}, not an object")
            parsed = payloads.OpenRouterModel.model_validate(item)
            normalized = normalize_openrouter(parsed)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            reason = f"{where}: {first['msg']}"
            quarantine.add(index, model_id, reason)
            continue
        except NormalizeError as exc:
            quarantine.add(index, model_id, str(exc))
            continue
        if normalized.id in seen:
            quarantine.add(index, normalized.id, "duplicate id")
            continue
        seen.add(normalized.id)
        out.append(normalized)
    return out, count


class _Quarantine:
    """Stores the first ``limit`` quarantined records of a run and counts the rest: a payload
    of a million bad entries must not become a million stored records (issue 12)."""

    def __init__(self, run: _Run, limit: int | None) -> None:
        self.run = run
        self.limit = limit

    def add(self, index: int, model_id: str | None, reason: str) -> None:
        if self.limit is not None and len(self.run.quarantined) >= self.limit:
            self.run.quarantine_overflow += 1
            return
        # Ids and reasons come from upstream: keep them short.
        model_id = model_id[:200] if model_id is not None else None
        self.run.quarantined.append(
            QuarantinedRecord(index=index, id=model_id, reason=reason[:500])
        )


_RECORD_FIELDS = set(ModelRecord.model_fields)


OPENROUTER_PRICING_BASIS = (
    "lowest across hosts: each model's prices are the cheapest of the providers serving it on "
    "OpenRouter; a host's own list price may be higher (provider lists carry only their own)"
)


def build_record(
    model: Normalized,
    caps: capabilities.Capabilities,
    alias: str,
    state: Any,
    config: CatalogConfig,
) -> ModelRecord:
    """Assemble the published record from the stage outputs.

    Every part was validated by the stage that made it, and the whole catalog is validated
    against its JSON Schema before it is written, so the record is built with pydantic's
    trusted constructor. It also shares one fields-set among all records instead of a
    30-name set each: about 200 MB less at 100k models.
    """
    tier = tiers.classify(model.pricing, is_free=caps.is_free, config=config.tiers)
    return ModelRecord.model_construct(
        _RECORD_FIELDS,
        id=model.id,
        name=model.name,
        alias=alias,
        provider=model.provider,
        family=model.family,
        kind=caps.kind,
        created=model.created,
        canonical_slug=model.canonical_slug,
        alias_target=model.alias_target,
        max_context=model.max_context,
        max_output=model.max_output,
        modalities=model.modalities,
        pricing=model.pricing,
        cost=tiers.cost_label(model.pricing, is_free=caps.is_free),
        price_tier=tier,
        is_free=caps.is_free,
        supports_vision=caps.supports_vision,
        supports_tools=caps.supports_tools,
        reasoning=caps.reasoning,
        structured_output=caps.structured_output,
        is_image_gen=caps.is_image_gen,
        detection_source=cast("dict[str, DetectionLayer]", dict(sorted(caps.source.items()))),
        evidence=dict(sorted(caps.evidence.items())),
        supported_parameters=model.supported_parameters or [],
        knowledge_cutoff=model.knowledge_cutoff,
        benchmarks=model.benchmarks,
        lifecycle=state,
        sources=model.sources,
        description=model.description,
        default_parameters=model.default_parameters,
        open_weights=model.open_weights,
        per_request_limits=model.per_request_limits,
        supported_voices=model.supported_voices,
        links=model.links,
    )


def guard_figures(present_ids: set[str], previous: CurrentCatalog | None) -> dict[str, int]:
    """The numbers the publish guard decides on (recorded in status when it objects)."""
    before = {m.id for m in previous.models if m.lifecycle.state == "active"} if previous else set()
    return {
        "listed": len(present_ids),
        "previouslyActive": len(before),
        "lost": len(before - present_ids),
    }


def check_publish_guard(
    present_ids: set[str], previous: CurrentCatalog | None, config: CatalogConfig
) -> str | None:
    """Why this feed must not be published without --force, or None when it may.

    An authoritative feed that is empty, or lost more than ``publish.max_loss_fraction``
    (default 25%) of the previously active models, is far more likely an upstream incident
    than a real mass retirement; publishing it would start the lifecycle clock on every
    missing model.
    """
    if not present_ids:
        return "the feed lists no models"
    figures = guard_figures(present_ids, previous)
    before, lost = figures["previouslyActive"], figures["lost"]
    if not before:
        return None
    share = lost / before
    if share > config.publish.max_loss_fraction:
        return (
            f"the feed lost {lost} of {before} previously active models "
            f"({share:.0%} > {config.publish.max_loss_fraction:.0%})"
        )
    return None


def batch_gc(fn: Callable[P, R]) -> Callable[P, R]:
    """Pause the cyclic garbage collector for a batch run.

    A sync allocates millions of small acyclic objects (parsed JSON, records); each automatic
    generation-2 collection rescans all of them, which made a 100k-model run superlinear.
    Reference counting still frees everything; the collector resumes when the run returns.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper


@batch_gc
def sync_openrouter(
    store: Store,
    config: CatalogConfig,
    request: SyncRequest,
    *,
    transport: httpx.BaseTransport | None = None,
    progress: ProgressFn | None = None,
    sleep: Callable[[float], None] | None = None,
) -> SyncResult:
    """Run one OpenRouter sync into ``store``. Never raises for upstream or data problems:
    the result says what happened. Store failures propagate as StoreError after the last good
    catalog was left as it was.

    Past ``request.deadline`` the run stops at the next stage and publishes nothing. Any
    other unexpected error (a bug, a value nobody foresaw) is reported as a failed run; on a
    fresh store the embedded catalog is published instead, so readers always get one."""
    run = _Run(request=request, progress=progress)
    try:
        return _sync_openrouter(store, config, request, run, transport, sleep)
    except RunDeadline as exc:
        return _failed(store, run, str(exc))
    except StoreError:
        raise
    except Exception as exc:
        log.exception("sync crashed", extra={"job": request.job})
        reason = f"unexpected {type(exc).__name__}: {str(exc)[:300]}"
        try:
            previous = load_previous(store)
        except publish.UnreadableArtifact:
            previous = None
        if previous is not None:
            return _failed(store, run, f"{reason}; kept the published catalog")
        run.details.pop("sources", None)
        return _unavailable(
            store, config, run, previous=None, previous_deprecations=None, reason=reason
        )


class RunDeadline(SyncError):
    """The run passed its deadline (``jobs.run_deadline_seconds``); nothing was published."""


def _sync_openrouter(  # noqa: PLR0917 - the public function's arguments, passed through
    store: Store,
    config: CatalogConfig,
    request: SyncRequest,
    run: _Run,
    transport: httpx.BaseTransport | None,
    sleep: Callable[[float], None] | None,
) -> SyncResult:
    now = request.now

    # -- fetch -----------------------------------------------------------------------------
    raw: bytes | None = None
    unavailable: str | None = None
    with run.stage("fetch", lambda: f"{len(raw or b'')} bytes"):
        if request.from_file is not None:
            try:
                raw = request.from_file.read_bytes()
            except OSError as exc:
                return _failed(store, run, f"cannot read {request.from_file}: {exc.strerror}")
        else:
            try:
                raw = _fetch(config, transport, sleep, run)
            except FetchError as exc:
                unavailable = str(exc)

    # -- parse and normalize (streamed: one upstream record in memory at a time) -----------
    normalized: list[Normalized] = []
    input_count = 0
    if raw is not None:
        with run.stage(
            "normalize", lambda: f"{len(normalized)} ok, {len(run.quarantined)} quarantined"
        ):
            try:
                normalized, input_count = parse_records(
                    openrouter.iter_items(raw, max_depth=config.openrouter.max_depth),
                    run,
                    max_items=config.openrouter.max_items,
                    max_quarantined=config.openrouter.max_quarantined,
                )
            except payloads.PayloadError as exc:
                run.quarantined.clear()
                run.quarantine_overflow = 0
                where = str(request.from_file) if request.from_file else "OpenRouter"
                if request.from_file is not None:
                    return _failed(store, run, f"{where}: {exc}")
                unavailable = f"{where}: {exc}"

    try:
        # The manifest this run builds on: publishing aborts if another set lands meanwhile.
        run.based_on = store.head(keys.MANIFEST)
        previous = load_previous(store)
        previous_deprecations = deprecations.load_previous(store)
    except publish.UnreadableArtifact as exc:
        return _failed(store, run, str(exc))

    if unavailable is not None or raw is None:
        return _unavailable(
            store,
            config,
            run,
            previous=previous,
            previous_deprecations=previous_deprecations,
            reason=unavailable or "no payload",
        )

    # OpenRouter records list the direct providers that serve them (providers' current.json).
    run.details["directSources"] = enrich.link_direct_sources(store, normalized)

    present_ids = {m.id for m in normalized}
    guard = check_publish_guard(present_ids, previous, config)
    if guard is not None and not request.force:
        return _guarded(store, run, guard, guard_figures(present_ids, previous), input_count)
    if guard is not None:
        run.warnings.append(f"published with --force although {guard}")

    # -- capabilities and tiers ----------------------------------------------------------------
    resolved: dict[str, capabilities.Capabilities] = {}
    with run.stage("capabilities"):
        resolver = capabilities.Resolver(request.overrides.capabilities)
        for model in normalized:
            resolved[model.id] = resolver.resolve(model)
    run.details.update(capabilities.report(resolved.values()))

    # -- aliases ---------------------------------------------------------------------------
    # Memory: the previous current.json, plus tombstones for removed models that come back
    # (they get their old alias again). Aliases of removed models and old aliases from the
    # history stay held, so resolution of those names keeps leading where it did.
    prev_models = {m.id: m for m in previous.models} if previous else {}
    tombstones = (
        {t.id: t for t in previous_deprecations.tombstones} if previous_deprecations else {}
    )
    history = previous_deprecations.alias_history if previous_deprecations else []
    aliases: dict[str, str] = {}
    changes: list[AliasChange] = []
    with run.stage("aliases", lambda: f"{len(changes)} changed"):
        carried_ids = [i for i in prev_models if i not in present_ids]
        memory = {i: m.alias for i, m in prev_models.items()}
        memory.update({i: t.alias for i, t in tombstones.items() if i in present_ids})
        held = {t.alias for i, t in tombstones.items() if i not in present_ids}
        held.update(change.old_alias for change in history)
        candidates = [AliasCandidate(m.id, m.created) for m in normalized]
        candidates += [AliasCandidate(i, prev_models[i].created) for i in carried_ids]
        reserved = request.overrides.aliases
        if request.overrides.core:
            # A core entry's concise alias follows its model through a rename seen this run.
            from pipeline.stages import core

            moved = core.reserved_aliases(
                request.overrides.core,
                ((m.id, m.canonical_slug) for m in normalized),
                prev_models,
                previous_deprecations,
                iso(now),
            )
            reserved = core.move_aliases(reserved, moved)
        aliases = assign_aliases(candidates, memory, reserved, held)
        changes = alias_changes(memory, aliases, iso(now))

    # -- lifecycle -------------------------------------------------------------------------
    forced = deprecations.effective_overrides(request.overrides.deprecations, now)
    prev_states = {i: m.lifecycle for i, m in prev_models.items()}
    prev_states.update(
        {
            i: t.record.lifecycle.model_copy(update={"state": "removed"})
            for i, t in tombstones.items()
            if i in present_ids
        }
    )
    with run.stage("lifecycle"):
        bindings = load_bindings(store)
        bound = bindings.bound()
        if not bindings.complete:
            # An unreadable bindings file might hide a consumer: remove nothing this run.
            run.warnings.extend(f"bindings: {problem}" for problem in bindings.problems)
            bound |= set(prev_models)
        states = lifecycle.advance(
            {m.id: m.expires_at for m in normalized},
            prev_states,
            now,
            bindings=bound,
            forced=set(forced),
            config=config.lifecycle,
        )

    # -- assemble --------------------------------------------------------------------------
    records: list[ModelRecord] = []
    removed: list[str] = []
    stones: list[Tombstone] = []
    with run.stage("assemble"):
        for model in normalized:
            records.append(
                build_record(model, resolved[model.id], aliases[model.id], states[model.id], config)
            )
        for model_id in carried_ids:
            state = states[model_id]
            if state.state == "removed":
                removed.append(model_id)
                stones.append(deprecations.tombstone(prev_models[model_id], state.state_since))
                continue
            records.append(
                prev_models[model_id].model_copy(
                    update={"lifecycle": state, "alias": aliases[model_id]}
                )
            )
        records.sort(key=lambda r: r.id)
        telemetry_changes = _carry_telemetry(run, records, prev_models, config, now)

    # -- offers (OpenRouter's endpoints API, pipeline.offers) --------------------------------
    _offers(run, store, config, records, prev_models, transport, sleep)

    # -- redirects (deprecations.json) -----------------------------------------------------
    with run.stage("deprecations"):
        known = previous_deprecations.redirects if previous_deprecations else []
        redirected = {r.from_id for r in known}
        vanished = {i: prev_models[i].canonical_slug for i in carried_ids if i not in redirected}
        siblings = deprecations.by_slug((m.id, m.canonical_slug) for m in normalized)
        detected = deprecations.detect_redirects(vanished, siblings, iso(now))

    run_id = make_run_id(now, raw)
    raw_key = keys.openrouter_raw(now)
    catalog = CurrentCatalog(
        generated_at=iso(now),
        run_id=run_id,
        source="openrouter",
        raw_key=raw_key,
        # The run's clock is when this payload was observed: the fetch for a live run, the
        # recorded time (--now) for a replay.
        data_as_of=iso(now),
        count=len(records),
        models=records,
        pricing_basis=OPENROUTER_PRICING_BASIS,
    )
    deprecated_doc = deprecations.merge(
        previous_deprecations,
        generated_at=iso(now),
        run_id=run_id,
        listed=present_ids,
        detected=detected,
        forced=forced,
        removed=stones,
        alias_changes=changes,
    )
    before = {r.from_id: r for r in known}
    fresh_redirects = [r for r in deprecated_doc.redirects if before.get(r.from_id) != r]
    added = sorted(present_ids - set(prev_models))
    counts = {
        "input": input_count,
        "published": len(records),
        "listed": len(normalized),
        "quarantined": len(run.quarantined) + run.quarantine_overflow,
        "added": len(added),
        "removed": len(removed),
        "missing": sum(1 for r in records if r.lifecycle.missing_since is not None),
    }
    run.details["changelog"] = changelog.build(
        prev_models,
        previous_states=prev_states,
        records=records,
        listed=present_ids,
        removed=removed,
        new_redirects=fresh_redirects,
        alias_changes=changes,
    )
    if telemetry_changes:
        run.details["changelog"]["telemetry"] = telemetry_changes
    run.details["sources"] = {"openrouter": {"servedBy": "api", "dataAsOf": iso(now)}}
    # The records now hold everything publish needs; drop the stage inputs (raw benchmark
    # blobs, evidence strings) before the curate and publish stages allocate their output.
    normalized.clear()
    resolved.clear()
    # The raw snapshot records what upstream served this hour, whatever becomes of the rest of
    # the publish; writing it first lets a 100k-model run drop the payload before the output
    # is built.
    with run.stage("raw", lambda: raw_key):
        store.put(raw_key, raw)
    raw = None
    extra = _curate(run, catalog, config, request, deprecated_doc)
    extra.update(
        _history(
            store,
            run,
            previous=previous,
            previous_deprecations=previous_deprecations,
            catalog=catalog,
            deprecations_doc=deprecated_doc,
            removed=removed,
        )
    )
    return _publish(
        store,
        run,
        catalog,
        raw=None,
        raw_key=raw_key,
        counts=counts,
        outcome="ok",
        deprecations_doc=deprecated_doc,
        extra=extra,
    )


def _offers(  # noqa: PLR0917 - the sync's state, passed on as is
    run: _Run,
    store: Store,
    config: CatalogConfig,
    records: list[ModelRecord],
    previous: dict[str, ModelRecord],
    transport: httpx.BaseTransport | None,
    sleep: Callable[[float], None] | None,
) -> None:
    """Attach offers to ``records`` (issue 16). Bounded by ``offers.budget_seconds``; whatever
    goes wrong is a warning, the records keep their previous offers and the catalog is
    published all the same. A replay (``--from-file``) only carries the published offers."""
    from pipeline.offers.stage import OffersResult, attach, run_stage

    request = run.request
    fetch = request.offers and config.offers.enabled and request.from_file is None
    result = OffersResult()
    with run.stage("offers", lambda: ", ".join(f"{k} {v}" for k, v in result.counts.items())):
        try:
            result = run_stage(
                records,
                previous,
                request.now,
                config.offers,
                fetch=fetch,
                catalog_url=config.openrouter.url,
                api_key=os.environ.get(config.openrouter.api_key_env) or None,
                transport=transport,
                sleep=sleep,
            )
        except Exception as exc:  # the catalog never waits on, or fails for, its offers
            log.exception("offers stage failed")
            run.warnings.append(f"offers not updated: {type(exc).__name__}: {exc}")
            # The records still carry what was published before.
            attach(records, previous, request.now, config.offers, None)
            return
        if result.raw is not None:
            try:
                store.put(keys.offers_raw(request.now), result.raw)
            except StoreError as exc:
                run.warnings.append(f"offers: raw snapshot not written: {exc}")
    run.warnings.extend(result.warnings)
    if fetch or result.counts.get("carried") or result.counts.get("cached"):
        run.details["offers"] = result.details()


def _carry_telemetry(
    run: _Run,
    records: list[ModelRecord],
    previous: dict[str, ModelRecord],
    config: CatalogConfig,
    now: datetime,
) -> list[dict[str, Any]]:
    """Issue 17: downgrades decided by the daily verification stay in force between its runs
    (nothing happens, and nothing is written, for a catalog without telemetry)."""
    if not any(m.verification is not None for m in previous.values()):
        return []
    from pipeline.telemetry.verify import carry_verification

    conflicts, changes = carry_verification(records, previous, config.telemetry, iso(now))
    run.details.setdefault("conflicts", []).extend(conflicts)
    return changes


def _curate(
    run: _Run,
    catalog: CurrentCatalog,
    config: CatalogConfig,
    request: SyncRequest,
    deprecations_doc: Deprecations | None = None,
) -> dict[str, bytes]:
    """curated.json for this catalog (issue 5), published with it. A curation failure never
    blocks the catalog: it is a warning and the last published curated.json stays."""
    from pipeline.config import ConfigError, curation_config
    from pipeline.stages import curate

    with run.stage("curate"):
        try:
            curated = curate.build_curated(
                catalog,
                now=request.now,
                run_id=catalog.run_id,
                config=curation_config(config),
                overrides=curate.quality_overrides(request.overrides),
                core=curate.core_entries(request.overrides),
                deprecations=deprecations_doc,
            )
            curated.data_as_of = catalog.data_as_of
            data = publish.encode("curated", curated)
        except (ConfigError, SchemaViolation) as exc:
            run.warnings.append(f"{keys.CURATED} not updated: {exc}")
            return {}
    run.details["curation"] = curate.summary(curated)
    run.warnings.extend(core_warnings(curated))
    return {keys.CURATED: data}


def _history(
    store: Store,
    run: _Run,
    *,
    previous: CurrentCatalog | None,
    previous_deprecations: Deprecations | None,
    catalog: CurrentCatalog,
    deprecations_doc: Deprecations,
    removed: list[str],
) -> dict[str, bytes]:
    """This run's changes appended to the history (issue 19), published with the set. An
    unreadable history never blocks the catalog: it is a warning, and `catalog history
    rebuild` backfills what was missed from the raw snapshots."""
    from pipeline.history import log as history_log

    with run.stage("history"):
        try:
            data = history_log.record_run(
                store,
                previous=previous,
                previous_redirects=history_log.redirect_map(
                    previous_deprecations.redirects if previous_deprecations else []
                ),
                records=catalog.models,
                redirects=history_log.redirect_map(deprecations_doc.redirects),
                removed=removed,
                run_id=catalog.run_id,
                observed_at=catalog.data_as_of or catalog.generated_at,
                generated_at=catalog.generated_at,
            )
        except (SchemaViolation, publish.UnreadableArtifact) as exc:
            # A store that fails a write fails the run (StoreError propagates: the set stays
            # as it was and the next run records these changes); a history that cannot be
            # read is the history's problem, not the catalog's.
            run.warnings.append(f"{keys.HISTORY} not updated: {exc}")
            return {}
    return {} if data is None else {keys.HISTORY: data}


def core_warnings(curated: CuratedCatalog) -> list[str]:
    """Run-report warnings for the curated core's issues (renames followed, models gone, ...)."""
    from pipeline.stages import core

    return core.describe(curated.core_issues)


def _fetch(
    config: CatalogConfig,
    transport: httpx.BaseTransport | None,
    sleep: Callable[[float], None] | None,
    run: _Run,
) -> bytes:
    from pipeline.sources.http import RetryPolicy

    def on_retry(attempt: int, problem: str, wait: float) -> None:
        log.warning(
            "openrouter fetch retry",
            extra={"attempt": attempt, "problem": problem, "wait_s": round(wait, 2)},
        )

    policy = RetryPolicy(
        max_attempts=config.openrouter.max_attempts,
        backoff_seconds=config.openrouter.backoff_seconds,
        max_backoff_seconds=config.openrouter.max_backoff_seconds,
    )
    if sleep is not None:
        policy.sleep = sleep
    try:
        api_key = redact.read_secret(config.openrouter.api_key_env)
    except redact.SecretError as exc:
        raise FetchError(f"openrouter: {exc}") from None
    return openrouter.fetch_catalog(
        config.openrouter, api_key=api_key, transport=transport, policy=policy, on_retry=on_retry
    )


def _publish(
    store: Store,
    run: _Run,
    catalog: CurrentCatalog,
    *,
    raw: bytes | None,
    raw_key: str | None,
    counts: dict[str, int],
    outcome: Outcome,
    error: str | None = None,
    deprecations_doc: Deprecations | None = None,
    extra: dict[str, bytes] | None = None,
) -> SyncResult:
    try:
        with run.stage("publish", lambda: f"{catalog.count} models"):
            current_bytes = publish.encode_listing("current", catalog, "models", "ModelRecord")
            # Every artifact is encoded (validated) before anything is written; deprecations
            # is None on the embedded-fallback path (the published one stays in the set).
            artifacts = {"current": current_bytes, **run.artifacts}
            if deprecations_doc is not None:
                artifacts["deprecations"] = publish.encode("deprecations", deprecations_doc)
            for key, data in (extra or {}).items():  # already validated (curated.json)
                artifacts[publish.artifact_name(key)] = data
            if raw is not None and raw_key is not None:
                store.put(raw_key, raw)
            publish.publish_schemas(store)
            # current.json, curated.json, deprecations.json and manifest.json, as one set.
            committed = publish.publish_set(
                store, catalog.run_id, catalog.generated_at, artifacts, based_on=run.based_on
            )
            run.details["published"] = {
                "written": committed.written,
                "unchanged": committed.unchanged,
            }
    except SchemaViolation as exc:
        return _failed(store, run, f"refusing to publish an invalid catalog: {exc}")
    report = _report(run, catalog.run_id, outcome, published=True, counts=counts, error=error)
    _finish(store, run, report)
    summary = (
        f"openrouter: {catalog.count} models "
        f"(+{counts.get('added', 0)} added, -{counts.get('removed', 0)} removed, "
        f"{counts.get('quarantined', 0)} quarantined) published as {catalog.run_id} "
        f"in {run.elapsed_s():.2f}s → {store.uri}"
    )
    # How old the data is, by the wall clock: a replay or the embedded catalog says so.
    as_of = catalog.data_as_of or catalog.generated_at
    old = (utcnow() - parse_iso(as_of)).total_seconds() >= 3600
    if outcome == "degraded":
        summary += f" [degraded: embedded catalog, {data_age(as_of, utcnow())}; {error}]"
    elif old:
        summary += f" ({data_age(as_of, utcnow())})"
    log.info(
        "sync published", extra={"run_id": catalog.run_id, "outcome": outcome, "counts": counts}
    )
    return SyncResult(catalog.run_id, outcome, True, report, summary, error, catalog)


def _report(
    run: _Run,
    run_id: str,
    outcome: Outcome,
    *,
    published: bool,
    counts: dict[str, int],
    error: str | None,
) -> RunReport:
    run.timings["total"] = round(run.elapsed_s() * 1000, 3)
    return RunReport(
        generated_at=iso(run.request.now),
        run_id=run_id,
        job=run.request.job,
        outcome=outcome,
        published=published,
        error=error,
        timings_ms=run.timings,
        counts=counts,
        quarantined=run.quarantined,
        warnings=run.warnings,
        details=run.details,
    )


def _finish(store: Store, run: _Run, report: RunReport) -> None:
    """Write the run report and this job's status entry. A failure here is logged, never
    allowed to undo a publish that already happened."""
    stamp = iso(run.request.now)
    entry = JobStatus(
        last_start=stamp,
        # The run's clock plus its duration: an operator sees how long the run took.
        last_end=iso(run.request.now + timedelta(seconds=round(run.elapsed_s()))),
        outcome=report.outcome,
        run_id=report.run_id,
        published=report.published,
        last_success=stamp if report.published else None,
        error=report.error,
        counts=report.counts,
        sources=report.details.get("sources", {}),
        warnings=report.warnings,
        data_as_of=report.details.get("sources", {}).get("openrouter", {}).get("dataAsOf"),
    )
    try:
        store.put(keys.run_report(report.run_id), publish.encode("run-report", report))
        publish.record_status(store, run.request.job, entry, stamp)
    except (StoreError, SchemaViolation) as exc:
        log.error("could not write run report or status", extra={"error": str(exc)})


def _failed(
    store: Store,
    run: _Run,
    reason: str,
    *,
    outcome: Outcome = "failed",
    counts: dict[str, int] | None = None,
    level: int = logging.ERROR,
) -> SyncResult:
    run_id = make_run_id(run.request.now, reason.encode())
    report = _report(
        run,
        run_id,
        outcome,
        published=False,
        counts={"quarantined": len(run.quarantined) + run.quarantine_overflow, **(counts or {})},
        error=reason,
    )
    with suppress(StoreError):
        _finish(store, run, report)
    if level == logging.ERROR:
        log.error("sync did not publish", extra={"run_id": run_id, "reason": reason})
    else:  # the kept catalog: the summary line says it, with the data's age
        log.log(level, "openrouter unreachable, published set unchanged", extra={"run_id": run_id})
    return SyncResult(
        run_id, outcome, False, report, f"openrouter: not published: {reason}", reason
    )


def _guarded(
    store: Store, run: _Run, reason: str, figures: dict[str, int], count: int
) -> SyncResult:
    run.details["guard"] = {"reason": reason, "inputRecords": count, **figures}
    return _failed(
        store,
        run,
        f"publish guard: {reason}; rerun with --force to publish anyway",
        outcome="guarded",
        counts={"input": count, **figures},
    )


def _unavailable(
    store: Store,
    config: CatalogConfig,
    run: _Run,
    *,
    previous: CurrentCatalog | None,
    previous_deprecations: Deprecations | None,
    reason: str,
) -> SyncResult:
    """The live feed could not be had: keep what is published, or ship the embedded catalog."""
    if previous is not None:
        as_of = previous.data_as_of or previous.generated_at
        run.details["sources"] = {
            "openrouter": {"servedBy": "stale", "dataAsOf": as_of, "error": reason}
        }
        kept = (
            f"kept the published catalog of run {previous.run_id} "
            f"({'embedded catalog, ' if previous.degraded else ''}{data_age(as_of, utcnow())})"
        )
        # An expected state offline (a warning, not an error); status, the exit code and the
        # reader's metrics still say the run could not fetch.
        result = _failed(
            store,
            run,
            f"{reason}; {kept}",
            outcome="degraded",
            counts={"served": previous.count},  # what readers still get
            level=logging.WARNING,
        )
        result.summary = f"openrouter: upstream unreachable, {kept}"
        result.kept = True
        return result
    embedded = fallback.load_embedded()
    run.warnings.append(f"served the embedded catalog (data of {embedded.generated_at}): {reason}")
    now = run.request.now
    digest_source = f"embedded:{embedded.run_id}".encode()
    catalog = embedded.model_copy(
        update={
            "generated_at": iso(now),
            "run_id": make_run_id(now, digest_source),
            "raw_key": None,
            "degraded": True,
            "degraded_reason": f"OpenRouter unavailable: {reason}",
            "data_as_of": embedded.data_as_of or embedded.generated_at,
        }
    )
    run.details["sources"] = {
        "openrouter": {"servedBy": "embedded", "dataAsOf": catalog.data_as_of, "error": reason}
    }
    # A first run: every model is new to this store, as a replay into a fresh store says too.
    added = catalog.count if previous_deprecations is None else 0
    counts = {
        "input": 0,
        "published": catalog.count,
        "quarantined": 0,
        "added": added,
        "removed": 0,
    }
    # deprecations.json starts with the set, as after any other first sync (empty: the
    # embedded catalog never moves a model's lifecycle).
    doc = deprecations.merge(
        previous_deprecations,
        generated_at=iso(now),
        run_id=catalog.run_id,
        listed={m.id for m in catalog.models},
        forced=deprecations.effective_overrides(run.request.overrides.deprecations, now),
    )
    return _publish(
        store,
        run,
        catalog,
        raw=None,
        raw_key=None,
        counts=counts,
        outcome="degraded",
        error=f"OpenRouter unavailable; published the embedded catalog: {reason}",
        deprecations_doc=doc,
        # A first run offline still gives readers a shortlist, curated from the embedded data.
        extra=_curate(run, catalog, config, run.request),
    )
