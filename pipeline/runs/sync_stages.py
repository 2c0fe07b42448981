"""The stages of an OpenRouter sync: normalized records + previous state + clock → the set.

``build_catalog`` runs them in order over the payload's normalized records, with the published
catalog and deprecations as the memory (``load_previous``): capabilities and tiers → aliases →
lifecycle → assembly (``build_record``; carried-over records, tombstones, telemetry verdicts in
force) → offers → redirects, and returns the catalog and ``deprecations.json`` to publish with
the run's counts; the changelog and the stages' reports go to the run's details. The stages are
pure functions (``pipeline.stages``); the store is only read (bindings, providers' lists),
apart from the offers' raw snapshot.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from pipeline.config import CatalogConfig
from pipeline.laws import RawRecords
from pipeline.publishing import keys, publish
from pipeline.publishing.store import Store, StoreError
from pipeline.records.base import trusted
from pipeline.records.catalog import AliasChange, CurrentCatalog, Deprecations, Tombstone
from pipeline.records.model import ModelRecord
from pipeline.runs import law_check
from pipeline.runs.sync_state import SyncRun
from pipeline.stages import capabilities, changelog, deprecations, enrich, lifecycle, tiers
from pipeline.stages.aliases import AliasCandidate, additional_names, alias_changes, assign
from pipeline.stages.bindings import load_bindings
from pipeline.stages.normalize import Normalized
from pipeline.timeutil import iso

# Every module of the OpenRouter sync logs as the sync.
log = logging.getLogger("pipeline.runs.sync")


def load_previous(store: Store) -> CurrentCatalog | None:
    """The published catalog, the memory for aliases and lifecycle; None on a fresh store."""
    return publish.read_published(
        store, keys.CURRENT, CurrentCatalog, would_lose="lifecycle history"
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
    *,
    extra_aliases: list[str] | None = None,
) -> ModelRecord:
    """Assemble the published record from the stage outputs.

    Every part was validated by the stage that made it, and the whole catalog is validated
    against its JSON Schema before it is written, so the record is built without validation
    (``trusted``: model_construct without its per-field alias lookups, ~50 µs a record). It
    also shares one fields-set among all records instead of a 30-name set each: about 200 MB
    less at 100k models.
    """
    tier = tiers.classify(model.pricing, is_free=caps.is_free, config=config.tiers)
    values: dict[str, Any] = {
        "id": model.id,
        "name": model.name,
        "alias": alias,
        "aliases": extra_aliases,
        "provider": model.provider,
        "family": model.family,
        "kind": caps.kind,
        "created": model.created,
        "canonical_slug": model.canonical_slug,
        "alias_target": model.alias_target,
        "max_context": model.max_context,
        "max_output": model.max_output,
        "modalities": model.modalities,
        "pricing": model.pricing,
        "cost": tiers.cost_label(model.pricing, is_free=caps.is_free),
        "price_tier": tier,
        "is_free": caps.is_free,
        "supports_vision": caps.supports_vision,
        "supports_tools": caps.supports_tools,
        "reasoning": caps.reasoning,
        "structured_output": caps.structured_output,
        "is_image_gen": caps.is_image_gen,
        "detection_source": dict(sorted(caps.source.items())),
        "evidence": dict(sorted(caps.evidence.items())),
        "supported_parameters": model.supported_parameters or [],
        "knowledge_cutoff": model.knowledge_cutoff,
        "benchmarks": model.benchmarks,
        "lifecycle": state,
        "sources": model.sources,
        "description": model.description,
        "default_parameters": model.default_parameters,
        "open_weights": model.open_weights,
        "per_request_limits": model.per_request_limits,
        "supported_voices": model.supported_voices,
        "links": model.links,
    }
    return trusted(ModelRecord, values, _RECORD_FIELDS)


@dataclass
class BuiltCatalog:
    """What the stages made of one payload: the set to publish and the run's counts."""

    catalog: CurrentCatalog
    deprecations: Deprecations
    """``deprecations.json``: redirects, tombstones and alias history after this run."""
    removed: list[str]
    """Ids removed this run (their tombstones are in ``deprecations``)."""
    counts: dict[str, int]
    """The run report's counts (input, published, listed, quarantined, added, ...)."""
    raws: RawRecords | None
    """The raw snapshots this run has read (the laws read the same); None once the laws are
    done, so that what they parsed is not kept for the rest of the run."""


def build_catalog(
    run: SyncRun,
    store: Store,
    config: CatalogConfig,
    normalized: list[Normalized],
    *,
    input_count: int,
    previous: CurrentCatalog | None,
    previous_deprecations: Deprecations | None,
    run_id: str,
    raw_key: str,
    transport: httpx.BaseTransport | None,
    sleep: Callable[[float], None] | None,
) -> BuiltCatalog:
    """Run the stages over ``normalized`` (the payload's records, the guard passed) and
    assemble this run's catalog (``run_id``, built from the raw snapshot at ``raw_key``)."""
    request = run.request
    now = request.now
    present_ids = {m.id for m in normalized}

    # -- capabilities and tiers ----------------------------------------------------------------
    resolved: dict[str, capabilities.Capabilities] = {}
    with run.stage("capabilities"):
        resolver = capabilities.Resolver(request.overrides.capabilities)
        for model in normalized:
            resolved[model.id] = resolver.resolve(model)
    run.details.update(capabilities.report(resolved.values()))

    # -- renames seen so far (before aliases: a renamed model keeps its alias) ---------------
    prev_models = {m.id: m for m in previous.models} if previous else {}
    tombstones = (
        {t.id: t for t in previous_deprecations.tombstones} if previous_deprecations else {}
    )
    history = previous_deprecations.alias_history if previous_deprecations else []
    carried_ids = [i for i in prev_models if i not in present_ids]
    known = previous_deprecations.redirects if previous_deprecations else []
    with run.stage("deprecations"):
        redirected = {r.from_id for r in known}
        vanished = {i: prev_models[i].canonical_slug for i in carried_ids if i not in redirected}
        siblings = deprecations.by_slug((m.id, m.canonical_slug) for m in normalized)
        detected = deprecations.detect_redirects(vanished, siblings, iso(now))
        # A vanished model whose provider named its replacement goes there (Mistral).
        replacements = enrich.vendor_replacements(store) if vanished else {}
        unexplained = set(vanished) - {r.from_id for r in detected}
        detected += deprecations.replacement_redirects(
            unexplained, replacements, present_ids, iso(now)
        )
    renamed: dict[str, str] = {}
    for redirect in sorted([*known, *detected], key=lambda r: r.from_id, reverse=True):
        if redirect.reason == "rename" and redirect.to in present_ids:
            renamed[redirect.to] = redirect.from_id

    # -- aliases ---------------------------------------------------------------------------
    # Memory: the previous current.json, plus tombstones for removed models that come back
    # (they get their old alias again). Aliases of removed models and old aliases from the
    # history stay held, so resolution of those names keeps leading where it did; so do the
    # curated core's concise names, which are additional names of their models.
    aliases: dict[str, str] = {}
    extra: dict[str, list[str]] = {}
    changes: list[AliasChange] = []
    with run.stage("aliases", lambda: f"{len(changes)} changed"):
        memory = {i: m.alias for i, m in prev_models.items()}
        memory.update({i: t.alias for i, t in tombstones.items() if i in present_ids})
        held = {change.old_alias: change.model_id for change in history}
        held.update({t.alias: i for i, t in tombstones.items() if i not in present_ids})
        candidates = [AliasCandidate(m.id, m.created) for m in normalized]
        candidates += [AliasCandidate(i, prev_models[i].created) for i in carried_ids]
        concise = request.overrides.concise_aliases()
        if concise:
            # A core entry's concise alias follows its model through a rename seen this run.
            from pipeline.stages import core

            moved = core.reserved_aliases(
                request.overrides.core,
                ((m.id, m.canonical_slug) for m in normalized),
                prev_models,
                previous_deprecations,
                iso(now),
            )
            concise = core.move_aliases(concise, moved)
            held.update({alias: model_id for model_id, alias in concise.items()})
        assigned = assign(candidates, memory, request.overrides.aliases, held, renamed=renamed)
        aliases = assigned.aliases
        changes = alias_changes(memory, aliases, iso(now), assigned.reasons)
        extra = additional_names(concise, aliases)

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
    raws = RawRecords.of(store)  # raw snapshots read this run: carried records, then the laws
    records: list[ModelRecord] = []
    removed: list[str] = []
    stones: list[Tombstone] = []
    with run.stage("assemble"):
        for model in normalized:
            records.append(
                build_record(
                    model,
                    resolved[model.id],
                    aliases[model.id],
                    states[model.id],
                    config,
                    extra_aliases=extra.get(model.id),
                )
            )
        for model_id in carried_ids:
            state = states[model_id]
            if state.state == "removed":
                removed.append(model_id)
                stones.append(deprecations.tombstone(prev_models[model_id], state.state_since))
                continue
            records.append(
                prev_models[model_id].model_copy(
                    update={
                        "lifecycle": state,
                        "alias": aliases[model_id],
                        "aliases": extra.get(model_id),
                    }
                )
            )
        records.sort(key=lambda r: r.id)
        # Stored by an earlier release: their evidence is brought to the form the laws check.
        law_check.recite(raws, [r for r in records if r.id not in present_ids], resolver)
        telemetry_changes = _carry_telemetry(run, records, prev_models, config, now)

    # -- offers (OpenRouter's endpoints API, pipeline.offers) --------------------------------
    _offers(run, store, config, records, prev_models, transport, sleep)

    # -- redirects (deprecations.json) -----------------------------------------------------
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
    # A redirect must lead to a model of the catalog or to a removed model's tombstone.
    known_ids = {r.id for r in records} | {t.id for t in deprecated_doc.tombstones}
    for redirect in deprecations.dangling(deprecated_doc.redirects, known_ids):
        deprecated_doc.redirects.remove(redirect)
        run.warnings.append(
            f"deprecations: redirect {redirect.from_id} → {redirect.to} ({redirect.reason}) "
            f"withheld: {redirect.to} is neither in the catalog nor a removed model"
            + (" (check deprecation-overrides.json)" if redirect.reason == "override" else "")
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
    return BuiltCatalog(catalog, deprecated_doc, removed, counts, raws)


def _offers(  # noqa: PLR0917 - the sync's state, passed on as is
    run: SyncRun,
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
    run: SyncRun,
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
