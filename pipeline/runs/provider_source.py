"""One provider source's run: from its cache, its API, or a fallback tier.

Per source (``models/providers/<source>/native.json``, its own list, is its cache)::

    fresh cache (servedBy api, fetchedAt + ttlSeconds > now)  → no request
    else fetch the API  ──ok──► normalize, enrich from OpenRouter, write raw + native.json
                        ──fails──► OpenRouter catalog entries for the vendor (use_catalog_fallback)
                                   → the stale cache → the source fails

``serve_source`` runs one source under the run's ``ProvidersRequest`` and the ``SourceEnv``
every source shares, and turns whatever happens (an exception included) into that source's
``SourceResult``; the runner (``pipeline.runs.providers``) runs them side by side and then merges
every provider's list (``pipeline.runs.provider_merge``) into its ``current.json``. An
independent catalog (group ``independent``) is served by ``pipeline.runs.catalog_source``.
Adapters only fetch and translate; everything that writes a source's list lives here. Keys are
read from the environment when the request is built and go nowhere else.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from pipeline.config import CatalogConfig
from pipeline.inputs import CONFIG_BYTES, read_input
from pipeline.logs import redact
from pipeline.offers.enrich import fill_from_offer
from pipeline.printable import escaped
from pipeline.publishing import keys, publish
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import Store, put_all
from pipeline.records.base import NATIVE_SCHEMA_VERSION
from pipeline.records.catalog import CurrentCatalog, ProviderCatalog
from pipeline.records.model import Modalities, ModelRecord, Pricing, ProviderModelRecord, SourceRef
from pipeline.records.payloads import NativeModel, PayloadError
from pipeline.records.runs import QuarantinedRecord
from pipeline.runs.sync_stages import build_record
from pipeline.sources.config import ProvidersConfig, SourceInstance
from pipeline.sources.http import FetchError, RetryPolicy, make_client
from pipeline.sources.native import Adapter, FetchContext, raw_snapshot
from pipeline.sources.pinned import ManifestError
from pipeline.stages import capabilities, lifecycle, tiers
from pipeline.stages.aliases import AliasCandidate, assign_aliases
from pipeline.stages.enrich import UNKNOWN, OpenRouterIndex, fill_from_openrouter, owner_offer
from pipeline.stages.normalize import Normalized, check_identity, family_of, price_in_units
from pipeline.timeutil import iso, parse_iso

# Every module of the provider runner logs as the runner.
log = logging.getLogger("pipeline.runs.providers")

Tier = Literal["api", "cache", "catalog", "stale", "failed", "skipped"]


@dataclass
class ProvidersRequest:
    """What to sync and how."""

    now: datetime
    """The run's clock (``--now``); TTLs are measured against it."""
    only: list[str] | None = None
    """Sync just these sources (``catalog sync <source>``); None means every enabled one."""
    refresh: bool = False
    """Ignore fresh caches (``--refresh``)."""
    force: bool = False
    """Publish a list even when it lost a large share of the cached one (``--force``)."""
    deadline: float | None = None
    """``time.monotonic()`` after which no source starts a fetch or writes (the run's
    deadline, ``jobs.run_deadline_seconds``); a fetch in flight is bounded by its own."""


class PastDeadline(Exception):
    """The run's deadline passed: the source stops before its next fetch or write."""


@dataclass
class SourceResult:
    """How one source was served in this run."""

    source: str
    tier: Tier
    count: int = 0
    data_as_of: str | None = None
    reason: str | None = None
    """Why this tier (cache fresh until …, the API error that caused a fallback, ...)."""
    matched: int | None = None
    """Native records matched to an OpenRouter record (API tier)."""
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    """Native id → the OpenRouter ids it matched equally well (so it matched none)."""
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    elapsed_ms: float = 0.0
    reviewed: str | None = None
    """Pinned manifests: the date a person last checked the list (its data's date)."""

    def entry(self, now: datetime) -> dict[str, Any]:
        """This source in status.json / the run report."""
        out: dict[str, Any] = {"servedBy": self.tier, "count": self.count}
        if self.data_as_of:
            out["dataAsOf"] = self.data_as_of
            out["ageSeconds"] = max(0, int((now - parse_iso(self.data_as_of)).total_seconds()))
        if self.reason:
            out["reason"] = self.reason
        if self.matched is not None:
            out["openrouterMatch"] = {
                "matched": self.matched,
                "total": self.count,
                "rate": round(self.matched / self.count, 3) if self.count else 0.0,
            }
            if self.ambiguous:
                out["openrouterMatch"]["ambiguous"] = dict(sorted(self.ambiguous.items()))
        if self.quarantined:
            out["quarantined"] = len(self.quarantined)
        if self.reviewed:
            out["reviewed"] = self.reviewed
        out["elapsedMs"] = round(self.elapsed_ms, 1)
        return out


@dataclass
class SourceEnv:
    """What every source's run shares."""

    store: Store
    config: ProvidersConfig
    catalog_config: CatalogConfig
    request: ProvidersRequest
    run_id: str
    catalog: Callable[[], CurrentCatalog | None]
    index: Callable[[], OpenRouterIndex]
    transport: httpx.BaseTransport | None
    env: Mapping[str, str]
    manifest_dir: str
    sleep: Callable[[float], None] | None
    ssl_context: ssl.SSLContext
    """The run's one SSL context (one CA bundle load instead of one per source), usually a
    ``DeferredSSLContext``: a client is made with it at once, and a TLS handshake waits for
    the bundle while it is being loaded."""


def check_deadline(shared: SourceEnv, inst: SourceInstance) -> None:
    deadline = shared.request.deadline
    if deadline is not None and time.monotonic() > deadline:
        raise PastDeadline(f"{inst.name}: the run's deadline passed; nothing written")


def load_cached(store: Store, source: str) -> tuple[ProviderCatalog | None, str | None]:
    """A source's cached list (its native.json), or None and why it could not be read.

    A store written before the merge (issue 30) kept the source's own list in current.json
    (schema version 1 or 2): that still serves as the cache until the next fetch."""
    key = keys.provider_native(source)
    blob = store.get(key)
    if blob is None:
        key = keys.provider_current(source)
        blob = store.get(key)
        if blob is None or b'"schemaVersion":3' in blob.data[:200].replace(b" ", b""):
            return None, None
    return read_cached(ProviderCatalog, key, blob.data)


Cached = TypeVar("Cached", bound=BaseModel)


def read_cached(model: type[Cached], key: str, data: bytes) -> tuple[Cached | None, str | None]:
    """A cached document at ``key`` read as ``model``, or None and why it is unreadable (the
    first field that fails, never the document's text)."""
    try:
        return model.model_validate_json(data), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return None, f"cached {key} unreadable ({where}: {first['msg']})"


def fresh_until(cached: ProviderCatalog | None, ttl: int) -> datetime | None:
    """When the cache expires, if it is an API fetch (fallback tiers are always due)."""
    if cached is None or cached.served_by != "api":
        return None
    return parse_iso(cached.fetched_at) + timedelta(seconds=ttl)


SourceRun = Callable[[SourceEnv, SourceInstance], SourceResult]
"""How one kind of source is served (this module's for provider lists; an independent catalog's
is ``pipeline.runs.catalog_source.serve_catalog``)."""


def serve_source(
    shared: SourceEnv, inst: SourceInstance, run: SourceRun | None = None
) -> SourceResult:
    """Serve one source; never raises (a failure is the source's ``failed`` result)."""
    began = time.perf_counter()
    try:
        check_deadline(shared, inst)
        result = (run or _run_source)(shared, inst)
    except PastDeadline as exc:
        result = SourceResult(inst.name, "failed", reason=str(exc))
    except Exception as exc:  # a bug in one source must not stop the others
        log.exception("provider source crashed", extra={"source": inst.name})
        result = SourceResult(
            inst.name, "failed", reason=f"{inst.name}: internal error {type(exc).__name__}: {exc}"
        )
    result.elapsed_ms = (time.perf_counter() - began) * 1000
    if inst.kind.group == "pinned" and result.tier in ("api", "cache"):
        _date_pinned(shared, inst, result)
    level = logging.INFO if result.tier in ("api", "cache", "skipped") else logging.WARNING
    log.log(
        level,
        "provider source done",
        extra={
            "source": inst.name,
            "tier": result.tier,
            "count": result.count,
            "reason": result.reason,
        },
    )
    return result


def _pinned_reviewed(shared: SourceEnv, inst: SourceInstance) -> str | None:
    """The ``reviewed`` date of a source's pinned manifest (None when it cannot be read: the
    fetch reports a bad manifest itself)."""
    from pipeline.sources import pinned

    path = Path(shared.manifest_dir) / f"{inst.name}.yaml"
    try:
        data = read_input(path, CONFIG_BYTES)
        return pinned.load(data, str(path), inst.name).reviewed.isoformat()
    except (OSError, pinned.ManifestError):
        return None


def _date_pinned(shared: SourceEnv, inst: SourceInstance, result: SourceResult) -> None:
    """A pinned list is as old as its last review, not as the run that read it: its
    ``dataAsOf`` is the manifest's ``reviewed`` date."""
    reviewed = _pinned_reviewed(shared, inst)
    if reviewed is not None:
        result.reviewed = reviewed
        result.data_as_of = f"{reviewed}T00:00:00Z"


def _run_source(shared: SourceEnv, inst: SourceInstance) -> SourceResult:
    now = shared.request.now
    cached, cache_problem = load_cached(shared.store, inst.name)
    until = fresh_until(cached, inst.ttl_seconds)
    if cached is not None and until is not None and now < until and not shared.request.refresh:
        # A pinned list's data is as old as its review (``_date_pinned``), whenever it was
        # read: its cache says when the manifest is read again, not that the data is fresh.
        reason = (
            f"read from its manifest {cached.fetched_at}; read again after {iso(until)}"
            if inst.kind.group == "pinned"
            else f"cache fresh until {iso(until)}"
        )
        return SourceResult(
            inst.name,
            "cache",
            count=cached.count,
            data_as_of=cached.fetched_at,
            reason=reason,
        )
    try:
        pages, items = _fetch(shared, inst)
    except ManifestError as exc:
        # Our own file is wrong: say so loudly instead of hiding it behind a fallback.
        return SourceResult(inst.name, "failed", reason=str(exc))
    except (FetchError, PayloadError) as exc:
        problem = str(exc)
        if not problem.startswith(f"{inst.name}:"):
            # Parsers do not know the instance name or URL; say which list was unusable.
            problem = f"{inst.name}: {inst.base_url or 'manifest'}: {problem}"
        if inst.api_key_env and ("HTTP 401" in problem or "HTTP 403" in problem):
            problem += f" (check that {inst.api_key_env} holds a valid key)"
        elif "timed out" in problem:
            problem += f" (raise sources.{inst.name}.timeout_seconds if it is just slow)"
    except httpx.HTTPError as exc:
        problem = f"{inst.name}: {type(exc).__name__} talking to {inst.base_url}"
    else:
        return _serve_api(shared, inst, cached, pages, items)
    if cache_problem:
        problem += f"; {cache_problem}"
    return _fall_back(shared, inst, cached, problem)


def _fetch(shared: SourceEnv, inst: SourceInstance) -> tuple[list[bytes], list[Any]]:
    policy = RetryPolicy(max_attempts=inst.max_attempts, backoff_seconds=0.5, max_backoff_seconds=5)
    if shared.sleep is not None:
        policy.sleep = shared.sleep
    try:
        key = redact.read_secret(inst.api_key_env, shared.env)
    except redact.SecretError as exc:
        raise FetchError(f"{inst.name}: {exc}") from None
    adapter = inst.kind.adapter
    if not isinstance(adapter, Adapter):
        raise TypeError(f"{inst.name}: not a provider-native source")
    with make_client(
        transport=shared.transport,
        connect_timeout=min(inst.timeout_seconds, 10.0),
        read_timeout=inst.timeout_seconds,
        verify=shared.ssl_context,
    ) as client:
        ctx = FetchContext(
            source=inst.name,
            base_url=inst.base_url or "",
            client=client,
            policy=policy,
            api_key=key or None,
            manifest_dir=shared.manifest_dir,
        )
        pages = adapter.fetch(ctx)
    items = adapter.parse(pages)
    return pages, items


def _family(inst: SourceInstance, model_id: str) -> str:
    if "/" in model_id:
        return family_of(model_id)
    return inst.vendors[0] if inst.vendors else inst.name


def _translate_all(
    inst: SourceInstance, items: list[Any]
) -> tuple[list[NativeModel], list[QuarantinedRecord]]:
    adapter = inst.kind.adapter
    assert isinstance(adapter, Adapter)
    natives: list[NativeModel] = []
    quarantined: list[QuarantinedRecord] = []
    seen: set[str] = set()
    for position, item in enumerate(items):
        raw_id = item.get("id") or item.get("name") if isinstance(item, dict) else None
        try:
            native = adapter.translate(item)
            check_identity(native.id, native.name)
        except (ValueError, TypeError) as exc:
            quarantined.append(
                QuarantinedRecord(
                    index=position,
                    id=escaped(raw_id) if isinstance(raw_id, str) else None,
                    reason=str(exc)[:500],
                )
            )
            continue
        if native.id in seen:
            quarantined.append(
                QuarantinedRecord(index=position, id=native.id, reason="duplicate id")
            )
            continue
        seen.add(native.id)
        natives.append(native)
    return natives, quarantined


def _normalized(inst: SourceInstance, native: NativeModel) -> Normalized:
    return Normalized(
        id=native.id,
        name=native.name or native.id,
        provider=inst.name,
        family=_family(inst, native.id),
        created=native.created,
        canonical_slug=native.canonical_slug,
        alias_target=None,
        max_context=native.max_context,
        max_output=native.max_output,
        # Unstated modalities stay empty (provenance `unknown`), never a text → text default
        # the capability resolver would take for the API's word.
        modalities=Modalities(
            input=list(native.input_modalities or []),
            output=list(native.output_modalities or []),
        ),
        modalities_given=native.output_modalities is not None,
        inputs_given=native.input_modalities is not None,
        reasoning_stated=native.reasoning,
        cites=dict(native.cites),
        rules=dict(native.rules),
        pricing=native.pricing.model_copy(deep=True) if native.pricing else Pricing(),
        supported_parameters=native.supported_parameters,
        knowledge_cutoff=None,
        expires_at=native.expires_at,
        sources=[SourceRef(source=inst.name, native_id=native.id)],
    )


def _serve_api(
    shared: SourceEnv,
    inst: SourceInstance,
    cached: ProviderCatalog | None,
    pages: list[bytes],
    items: list[Any],
) -> SourceResult:
    now = shared.request.now
    natives, quarantined = _translate_all(inst, items)
    guard = _loss_guard(shared, cached, {n.id for n in natives})
    if guard is not None:
        return _fall_back(shared, inst, cached, f"{inst.name}: {guard}; rerun with --force")
    index = shared.index()
    previous = {m.id: m for m in cached.models} if cached else {}
    models: list[Normalized] = []
    provenance: dict[str, dict[str, str]] = {}
    matched = 0
    ambiguous: dict[str, list[str]] = {}
    for native in natives:
        model = _normalized(inst, native)
        found = index.lookup(native.id, inst.vendors)
        match = found.record
        matched += match is not None
        if found.ambiguous:
            ambiguous[native.id] = list(found.ambiguous)
        owner = match is not None and owner_offer(
            match, inst.vendors, index.is_open_weights(match.id)
        )
        provenance[native.id] = fill_from_openrouter(native, model, match, owner=owner)
        # This host's own OpenRouter offer, never another host's (issue 16).
        offer = fill_from_offer(inst.name, inst.type_name, model, match, provenance[native.id])
        if offer is not None and provenance[native.id]["pricing"].startswith("openrouter-"):
            model.cites["pricing"] = f"{provenance[native.id]['pricing']} pricing"
        # The OpenRouter path's unit rule, on every list (issue 26): a per-character TTS price
        # is not "per 1M tokens", and a 0 that is not free is no price.
        model.pricing = price_in_units(model.pricing, model.modalities, model.id)
        if native.quantization is not None:
            provenance[native.id]["quantization"] = "native"
        models.append(model)
    aliases = assign_aliases(
        [AliasCandidate(m.id, m.created) for m in models],
        {i: m.alias for i, m in previous.items()},
    )
    records = []
    stated = {n.id: n for n in natives}
    for model in models:
        caps = capabilities.resolve(model)
        prior = previous[model.id].lifecycle if model.id in previous else None
        state = lifecycle.seen(prior, now, expires_at=model.expires_at)
        state.replacement = stated[model.id].replacement
        record = build_record(model, caps, aliases[model.id], state, shared.catalog_config)
        # A flag nothing states for this provider is unknown, not its default (issue 14).
        unknown = capabilities.unknown_flags(caps)
        for flag in unknown:
            provenance[model.id][flag] = UNKNOWN
        published = capabilities.as_provider_record(record, unknown)
        published.quantization = stated[model.id].quantization
        records.append(published)
    records.sort(key=lambda r: r.id)
    raw_key = keys.provider_raw(inst.name, now)
    document = ProviderCatalog(
        schema_version=NATIVE_SCHEMA_VERSION,
        generated_at=iso(now),
        run_id=shared.run_id,
        source=inst.name,
        source_type=inst.type_name,
        fetched_at=iso(now),
        ttl_seconds=inst.ttl_seconds,
        served_by="api",
        raw_key=raw_key,
        count=len(records),
        provenance=dict(sorted(provenance.items())),
        models=records,
    )
    if inst.kind.group == "pinned":
        reviewed = _pinned_reviewed(shared, inst)
        document.data_as_of = f"{reviewed}T00:00:00Z" if reviewed else None
    try:
        data = publish.encode("provider-current", document)
    except SchemaViolation as exc:
        return _fall_back(shared, inst, cached, f"{inst.name}: normalized list invalid: {exc}")
    check_deadline(shared, inst)
    adapter = inst.kind.adapter
    paginated = isinstance(adapter, Adapter) and adapter.paginated
    # The raw snapshot, then the list that cites it: a local store fsyncs both at once and
    # renames them in this order (LocalStore.put_many), another store puts one after the other.
    put_all(
        shared.store,
        {raw_key: raw_snapshot(pages, paginated), keys.provider_native(inst.name): data},
    )
    return SourceResult(
        inst.name,
        "api",
        count=len(records),
        data_as_of=iso(now),
        matched=matched,
        ambiguous=ambiguous,
        quarantined=quarantined,
    )


def _loss_guard(shared: SourceEnv, cached: ProviderCatalog | None, present: set[str]) -> str | None:
    """Why a fetched list must not replace the cached API list (DESIGN.md §7: a feed that
    suddenly lost a large share of its models is not published without --force)."""
    if shared.request.force or cached is None or cached.served_by == "catalog":
        return None
    limit = shared.catalog_config.publish.max_loss_fraction
    return loss_problem({m.id for m in cached.models}, present, limit, "list", "models")


def loss_problem(
    before: set[str], present: set[str], limit: float, what: str, items: str
) -> str | None:
    """Why a fetched ``what`` that kept only ``present`` of the cached ``before`` must not
    replace it: it lost more than the ``limit`` share of them (``publish.max_loss_fraction``)."""
    if not before:
        return None
    lost = before - present
    share = len(lost) / len(before)
    if share > limit:
        return (
            f"the {what} lost {len(lost)} of {len(before)} cached {items} "
            f"({share:.0%} > {limit:.0%})"
        )
    return None


def _fall_back(
    shared: SourceEnv, inst: SourceInstance, cached: ProviderCatalog | None, problem: str
) -> SourceResult:
    """API failed: the OpenRouter catalog's entries for the vendor, else the stale cache."""
    now = shared.request.now
    if shared.config.cache.use_catalog_fallback and inst.vendors:
        document = _from_catalog(shared, inst, cached, problem)
        if document is not None:
            return _serve(shared, inst, document, "catalog", f"API failed: {problem}")
    if cached is not None:
        stale = cached.model_copy(
            update={
                "generated_at": iso(now),
                "run_id": shared.run_id,
                "served_by": "stale",
                "reason": problem,
                # A version-1 cache reads as version 2 (every flag present): republished as 2.
                "schema_version": NATIVE_SCHEMA_VERSION,
            }
        )
        return _serve(shared, inst, stale, "stale", f"API failed and no catalog entries: {problem}")
    return SourceResult(
        inst.name,
        "failed",
        reason=f"{problem}; no catalog entries and no cached list to fall back on "
        "(check the base URL, the key variable and the provider's status page)",
    )


def _serve(
    shared: SourceEnv, inst: SourceInstance, document: ProviderCatalog, tier: Tier, reason: str
) -> SourceResult:
    """Publish a fallback tier's list as the source's native.json and report it."""
    check_deadline(shared, inst)
    shared.store.put(keys.provider_native(inst.name), publish.encode("provider-current", document))
    return SourceResult(
        inst.name, tier, count=document.count, data_as_of=document.fetched_at, reason=reason
    )


def _from_catalog(
    shared: SourceEnv, inst: SourceInstance, cached: ProviderCatalog | None, problem: str
) -> ProviderCatalog | None:
    catalog = shared.catalog()
    if catalog is None:
        return None
    picked: dict[str, ModelRecord] = {}
    for rec in catalog.models:
        # `:free`/`:thinking` variants and `~` aliases are OpenRouter constructs, not native ids.
        if rec.family not in inst.vendors or ":" in rec.id or rec.id.startswith("~"):
            continue
        picked.setdefault(inst.kind.native_id(rec.id), rec)
    if not picked:
        return None
    previous = {m.id: m for m in cached.models} if cached else {}
    aliases = assign_aliases(
        [AliasCandidate(i, r.created) for i, r in picked.items()],
        {i: m.alias for i, m in previous.items()},
    )
    records: list[ProviderModelRecord] = []
    index = shared.index()
    provenance: dict[str, dict[str, str]] = {}
    for native_id, rec in sorted(picked.items()):
        # A fallback feed never moves a model's lifecycle: keep what the cache knew.
        state = previous[native_id].lifecycle if native_id in previous else rec.lifecycle
        update: dict[str, Any] = {
            "id": native_id,
            "provider": inst.name,
            "alias": aliases[native_id],
            "lifecycle": state,
            "sources": [SourceRef(source="openrouter", native_id=rec.id)],
            # OpenRouter's hosts of the model are not this provider's list (issue 16).
            "offers": None,
            "offer_price_range": None,
            "offers_as_of": None,
        }
        provenance[native_id] = {"all": f"openrouter:{rec.id}"}
        unknown: list[str] = []
        if not owner_offer(rec, inst.vendors, index.is_open_weights(rec.id)):
            # An open-weight model's OpenRouter price and limits are some host's, not the
            # vendor's: the same rule as enrichment (enrich.owner_offer).
            update.update(
                max_context=None,
                max_output=None,
                pricing=Pricing(),
                cost=tiers.cost_label(Pricing(), is_free=False),
                price_tier="unknown",
                evidence={**rec.evidence, "isFree": "price unknown for this provider"},
            )
            unknown.append("isFree")
            for name in ("pricing", "maxContext", "maxOutput", "isFree"):
                provenance[native_id][name] = UNKNOWN
        records.append(capabilities.as_provider_record(rec.model_copy(update=update), unknown))
    return ProviderCatalog(
        schema_version=NATIVE_SCHEMA_VERSION,
        generated_at=iso(shared.request.now),
        run_id=shared.run_id,
        source=inst.name,
        source_type=inst.type_name,
        fetched_at=catalog.data_as_of or catalog.generated_at,
        ttl_seconds=inst.ttl_seconds,
        served_by="catalog",
        reason=problem,
        count=len(records),
        provenance=provenance,
        models=records,
    )
