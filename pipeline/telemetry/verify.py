"""The daily verification: rollups → ``telemetry.json`` and each record's ``verification``.

Pure functions over loaded cells (``aggregate``, ``verification_for``) and one job step
(``verify_catalog``) that the curated refresh calls. Success rates are judged by their Wilson
score lower bound (95%), so a handful of calls never verifies or condemns a capability: with
20 calls all ok the bound is 0.84; 20 of 20 failing puts the failure bound at 0.84. Which
capabilities are verified or failing is a vote of the identities that called them
(``votes.py``): the figures are pooled, the verdict is not.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from pipeline.config import TelemetryConfig
from pipeline.publishing.store import Store
from pipeline.records.base import trusted
from pipeline.records.catalog import CurrentCatalog
from pipeline.records.model import CapabilityCheck, Verification
from pipeline.records.telemetry import (
    ModelTelemetry,
    TelemetryDocument,
    TelemetryStats,
    TelemetryWindow,
)
from pipeline.telemetry.compaction import Judged, Loaded, load_windows, widen
from pipeline.telemetry.events import CAPABILITIES, OUTCOME_INDEX, OUTCOMES
from pipeline.telemetry.rollup import BOUNDS_MS, LEGACY_IDENTITY, Cell, SeriesKey
from pipeline.telemetry.votes import Decision, decide, wilson_lower

OK = OUTCOME_INDEX["ok"]
CAP_ERROR = OUTCOME_INDEX["capability_error"]
CLIENT_ERROR = OUTCOME_INDEX["client_error"]
NOT_SERVED = tuple(OUTCOME_INDEX[o] for o in ("provider_error", "rate_limited", "timeout"))


def percentile(histogram: list[int], q: float) -> float | None:
    """The ``q`` quantile of a histogram over ``BOUNDS_MS``, interpolated in its bucket (the
    overflow bucket reads as up to twice the last bound)."""
    cumulative = list(accumulate(histogram))
    if not cumulative or cumulative[-1] == 0:
        return None
    return _quantile(histogram, cumulative, q)


def _quantile(histogram: list[int], cumulative: list[int], q: float) -> float:
    """The bucket where the running count first reaches ``q`` of the total (found by
    bisection over the running counts; an empty bucket never is one), interpolated."""
    rank = q * cumulative[-1]
    index = bisect.bisect_left(cumulative, rank)
    while index < len(histogram) and not histogram[index]:
        index += 1  # only when rank <= 0: the first bucket holding calls
    if index == len(histogram):
        return float(BOUNDS_MS[-1] * 2)
    count = histogram[index]
    seen = cumulative[index] - count
    low = BOUNDS_MS[index - 1] if index > 0 else 0.0
    high = BOUNDS_MS[index] if index < len(BOUNDS_MS) else BOUNDS_MS[-1] * 2
    return round(low + (high - low) * (rank - seen) / count, 1)


def _p50_p95(histogram: list[int]) -> tuple[float | None, float | None]:
    """``percentile`` at 0.5 and 0.95, the running counts summed once."""
    cumulative = list(accumulate(histogram))
    if cumulative[-1] == 0:
        return None, None
    return _quantile(histogram, cumulative, 0.5), _quantile(histogram, cumulative, 0.95)


@functools.lru_cache(maxsize=65_536)
def _iso(seconds: int) -> str:
    # Cached: the cells of a window mostly name the same few hours as their last call (a
    # dense day formatted 140k of them, 2 s of its document).
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stats_of(cell: Cell) -> TelemetryStats:
    """The published figures of one cell. Built with ``trusted`` (no validation: every value
    is an int, float or str made here, and the document is checked against its schema when
    it is encoded); pydantic's validation was a quarter of a dense day's document."""
    o = cell.outcomes
    ok, failed = o[OK], o[CAP_ERROR]
    judged = ok + failed
    calls = sum(o)
    eligible = calls - o[CLIENT_ERROR]
    served = eligible - sum([o[i] for i in NOT_SERVED])
    latency_p50, latency_p95 = _p50_p95(cell.latency)
    ttft_p50, ttft_p95 = _p50_p95(cell.ttft)
    return trusted(
        TelemetryStats,
        {
            "calls": calls,
            "outcomes": {name: o[i] for i, name in enumerate(OUTCOMES) if o[i]},
            "success_rate": round(ok / judged, 4) if judged else None,
            "success_lower_bound": round(wilson_lower(ok, judged), 4) if judged else None,
            "served_lower_bound": round(wilson_lower(served, eligible), 4) if eligible else None,
            "latency_p50_ms": latency_p50,
            "latency_p95_ms": latency_p95,
            "ttft_p50_ms": ttft_p50,
            "ttft_p95_ms": ttft_p95,
            "input_tokens": cell.input_tokens,
            "output_tokens": cell.output_tokens,
            "last_seen": _iso(cell.last_seen),
        },
    )


def window_cells(
    days: Mapping[int, Mapping[SeriesKey, Cell]], first_day: int
) -> dict[str, dict[str, Cell]]:
    """model → capability → summed cell over the days from ``first_day`` on."""
    out: dict[str, dict[str, Cell]] = {}
    for day, cells in days.items():
        if day < first_day:
            continue
        for (_, model, capability), cell in cells.items():
            per_model = out.get(model)
            if per_model is None:
                per_model = out[model] = {}
            mine = per_model.get(capability)
            if mine is None:
                per_model[capability] = cell.copy()
            else:
                mine.merge(cell)
    return out


def window_tallies(
    judged: Mapping[int, Judged], first_day: int
) -> dict[str, dict[str, dict[str, tuple[int, int]]]]:
    """Each identity's judged calls per model and capability over the days from
    ``first_day`` on (what the votes count)."""
    sums: dict[SeriesKey, list[int]] = {}
    for day, rows in judged.items():
        if day < first_day:
            continue
        for key, (ok, failed) in rows.items():
            mine = sums.get(key)
            if mine is None:
                sums[key] = [ok, failed]
            else:
                mine[0] += ok
                mine[1] += failed
    out: dict[str, dict[str, dict[str, tuple[int, int]]]] = {}
    for (identity, model, capability), (ok, failed) in sums.items():
        out.setdefault(model, {}).setdefault(capability, {})[identity] = (ok, failed)
    return out


def _total(per_capability: Mapping[str, Cell]) -> Cell:
    """Every capability's cell summed (column by column: one pass, not a merge each)."""
    cells = per_capability.values()
    return Cell(
        [sum(column) for column in zip(*(c.outcomes for c in cells), strict=True)],
        [sum(column) for column in zip(*(c.latency for c in cells), strict=True)],
        [sum(column) for column in zip(*(c.ttft for c in cells), strict=True)],
        sum(c.input_tokens for c in cells),
        sum(c.output_tokens for c in cells),
        max((c.last_seen for c in cells), default=0),
    )


@dataclass
class Aggregated:
    document: TelemetryDocument
    windows: dict[str, dict[str, dict[str, Cell]]] = field(default_factory=dict)
    """window name → model → capability → cell (the verification window is read)."""


def aggregate(
    loaded: Loaded,
    *,
    now: datetime,
    run_id: str,
    config: TelemetryConfig,
    known: Iterable[str],
) -> Aggregated:
    """telemetry.json from days loaded per day (``load_days``): per model, window and
    capability. The daily job sums its windows in SQL instead (``load_windows``, then
    ``document_of``); this form is the reference the tests hold that one to."""
    today = int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    windows_days = sorted(set(config.windows_days) | {config.verification_window_days})
    windows: dict[str, dict[str, dict[str, Cell]]] = {}
    done = 0  # days already summed into the previous (shorter) window
    previous: dict[str, dict[str, Cell]] = {}
    for d in windows_days:
        # Each longer window is the shorter one plus the days before it: every day is
        # summed once however many windows there are.
        older = {day: c for day, c in loaded.days.items() if today - (d - 1) * 86_400 <= day}
        extra = {
            day: c for day, c in older.items() if day < today - (done - 1) * 86_400 or not done
        }
        cells = window_cells(extra, today - (d - 1) * 86_400)
        widen(cells, previous)
        windows[f"{d}d"] = cells
        previous, done = cells, d
    return document_of(windows, now=now, run_id=run_id, config=config, known=known)


def document_of(
    windows: dict[str, dict[str, dict[str, Cell]]],
    *,
    now: datetime,
    run_id: str,
    config: TelemetryConfig,
    known: Iterable[str],
) -> Aggregated:
    """telemetry.json from each window's cells (window name → model → capability → cell),
    windows in ascending length."""
    known_ids = set(known)
    windows_days = sorted(set(config.windows_days) | {config.verification_window_days})
    longest = windows[f"{windows_days[-1]}d"]
    unknown = sorted(m for m in longest if m not in known_ids)
    models: list[ModelTelemetry] = []
    for model_id in sorted(m for m in longest if m in known_ids):
        per_window: dict[str, TelemetryWindow] = {}
        for name, window in windows.items():
            per_capability = window.get(model_id)
            if not per_capability:
                continue
            per_window[name] = trusted(
                TelemetryWindow,
                {
                    "total": stats_of(_total(per_capability)),
                    "capabilities": {
                        cap: stats_of(per_capability[cap])
                        for cap in CAPABILITIES
                        if cap in per_capability
                    },
                },
            )
        models.append(trusted(ModelTelemetry, {"id": model_id, "windows": per_window}))
    document = TelemetryDocument(
        generated_at=_iso(int(now.timestamp())),
        run_id=run_id,
        windows_days=windows_days,
        verification_window=f"{config.verification_window_days}d",
        min_calls=config.min_calls,
        downgrade_above=config.downgrade_above,
        recover_at=config.recover_at,
        unknown_models=len(unknown),
        count=len(models),
        models=models,
    )
    return Aggregated(document, windows)


def encode_document(document: TelemetryDocument) -> bytes:
    """telemetry.json's published bytes, as ``publish.encode`` writes them, encoded and
    validated model by model (``publish.encode_listing``): the whole document dumped to
    plain data and parsed back in one piece held three copies of it at once (a dense day's
    98 MB document took the job past 1 GB). The envelope is checked against the schema, each
    model against its definition, and the whole text scrubbed as ``encode`` scrubs it."""
    from pipeline.logs import redact
    from pipeline.publishing import publish

    data = publish.encode_listing("telemetry", document, "models", "ModelTelemetry")
    return redact.redact_bytes(data)


def capability_check(cell: Cell, decision: Decision | None = None) -> CapabilityCheck:
    """The pooled figures of one capability, and (when given) the votes behind its verdict."""
    ok, failed = cell.outcomes[OK], cell.outcomes[CAP_ERROR]
    judged = ok + failed
    check = CapabilityCheck(
        calls=judged,
        ok=ok,
        success_rate=round(ok / judged, 4) if judged else 0.0,
        success_lower_bound=round(wilson_lower(ok, judged), 4),
        failure_lower_bound=round(wilson_lower(failed, judged), 4),
    )
    if decision is not None:
        if decision.votes:
            check.votes = {vote.identity or "-": vote.says for vote in decision.votes}
        if decision.probe is not None:
            check.probe = decision.probe.says
    return check


def verification_for(
    per_capability: Mapping[str, Cell],
    *,
    now: datetime,
    config: TelemetryConfig,
    tallies: Mapping[str, Mapping[str, tuple[int, int]]] | None = None,
) -> Verification:
    """``verification`` of one model from its verification-window cells; ``tallies``
    (capability → identity → (ok, capability_error)) are the votes. Without them the pooled
    calls vote as one identity (rollups from before identities)."""
    decisions: dict[str, Decision] = {}
    for cap in CAPABILITIES:
        cell = per_capability.get(cap)
        if cell is None:
            continue
        if tallies is not None:
            counts = tallies.get(cap, {})
        else:
            counts = {LEGACY_IDENTITY: (cell.outcomes[OK], cell.outcomes[CAP_ERROR])}
        decisions[cap] = decide(counts, config)
    checks = {cap: capability_check(per_capability[cap], decisions[cap]) for cap in decisions}
    verified = [cap for cap, found in decisions.items() if found.verdict == "works"]
    failing = [cap for cap, found in decisions.items() if found.verdict == "fails"]
    if failing and verified:
        status = "partial"
    elif failing:
        status = "failing"
    elif verified:
        status = "verified"
    else:
        status = "unverified"
    total = stats_of(_total(per_capability))
    return Verification(
        status=status,
        last_checked=_iso(int(now.timestamp())),
        last_seen=total.last_seen,
        window_days=config.verification_window_days,
        calls=total.calls,
        served_lower_bound=total.served_lower_bound,
        latency_p50_ms=total.latency_p50_ms,
        latency_p95_ms=total.latency_p95_ms,
        ttft_p50_ms=total.ttft_p50_ms,
        verified_capabilities=verified,
        failing_capabilities=failing,
        capabilities=checks,
    )


@dataclass
class VerifyOutcome:
    """What the daily verification produced."""

    document: TelemetryDocument
    catalog: CurrentCatalog
    conflicts: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    problems: list[str]
    counts: dict[str, int]


def has_telemetry(store: Store, catalog: CurrentCatalog) -> bool:
    """Whether there is anything to verify: stored rollups or a published verification."""
    from pipeline.telemetry.rollup import DAILY, HOURLY

    return (
        bool(store.list(HOURLY))
        or bool(store.list(DAILY))
        or any(r.verification is not None for r in catalog.models)
    )


def verify_catalog(
    store: Store,
    catalog: CurrentCatalog,
    *,
    now: datetime,
    run_id: str,
    config: TelemetryConfig,
) -> VerifyOutcome:
    """Aggregate the rollups, verify every model, run the telemetry layer of the capability
    resolver, and return telemetry.json and the updated catalog (not yet published)."""
    from pipeline.stages.capabilities import TelemetryRule, telemetry_layer

    loaded = load_windows(
        store,
        now=now,
        windows_days=config.windows_days,
        judged_days=config.verification_window_days,
        max_event_age_hours=config.max_event_age_hours,
        hourly_retention_days=config.hourly_retention_days,
        retention_days=config.retention_days,
    )
    aggregated = document_of(
        {f"{d}d": cells for d, cells in sorted(loaded.cells.items())},
        now=now,
        run_id=run_id,
        config=config,
        known=(r.id for r in catalog.models),
    )
    cells = aggregated.windows[f"{config.verification_window_days}d"]
    tallies = loaded.tallies
    rule = TelemetryRule(
        min_calls=config.min_calls,
        downgrade_above=config.downgrade_above,
        recover_at=config.recover_at,
        window_days=config.verification_window_days,
    )
    stamp = _iso(int(now.timestamp()))
    conflicts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    records = []
    verified = 0
    for record in catalog.models:
        before = record.verification
        in_force = dict(before.downgraded) if before is not None else {}
        per_capability = cells.get(record.id)
        fresh: Verification | None
        if per_capability:
            fresh = verification_for(
                per_capability, now=now, config=config, tallies=tallies.get(record.id, {})
            )
        elif in_force and before is not None:
            # No calls in the window: the downgrade stands until calls or a probe show the
            # capability works again (consumers may have stopped calling it *because* of it).
            fresh = Verification(
                status="unverified",
                last_checked=stamp,
                last_seen=before.last_seen,
                window_days=config.verification_window_days,
                calls=0,
            )
        else:
            fresh = None
        if fresh is None and before is None:
            records.append(record)
            continue
        updated = record.model_copy(deep=True)
        updated.verification = fresh
        if fresh is not None:
            fresh.downgraded = in_force
            found_conflicts, found_changes = telemetry_layer(updated, fresh, rule, stamp)
            conflicts += found_conflicts
            changes += found_changes
            verified += fresh.status != "unverified"
        records.append(updated)
    out = catalog.model_copy(update={"models": records})
    counts = {
        "telemetryModels": aggregated.document.count,
        "verifiedModels": verified,
        "downgraded": sum(1 for c in changes if c["change"] == "downgraded"),
        "recovered": sum(1 for c in changes if c["change"] == "recovered"),
        "rollupProblems": len(loaded.problems),
        "compactedDays": len(loaded.compacted),
        "deletedRollups": len(loaded.deleted),
    }
    return VerifyOutcome(aggregated.document, out, conflicts, changes, loaded.problems, counts)


def rule_of(config: TelemetryConfig) -> Any:
    from pipeline.stages.capabilities import TelemetryRule

    return TelemetryRule(
        min_calls=config.min_calls,
        downgrade_above=config.downgrade_above,
        recover_at=config.recover_at,
        window_days=config.verification_window_days,
    )


def carry_verification(
    records: Iterable[Any],
    previous: Mapping[str, Any],
    config: TelemetryConfig,
    now: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A catalog sync between two daily verifications: each freshly resolved record takes
    its previous ``verification`` and the telemetry layer runs again on the same figures, so
    a downgrade stays published (and an override or an API change still takes effect)."""
    from pipeline.stages.capabilities import telemetry_layer

    rule = rule_of(config)
    conflicts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for record in records:
        before = previous.get(record.id)
        if before is None or before.verification is None or record.verification is not None:
            continue
        record.verification = before.verification.model_copy(deep=True)
        found_conflicts, found_changes = telemetry_layer(
            record, record.verification, rule, before.verification.last_checked
        )
        conflicts += found_conflicts
        changes += found_changes
    return conflicts, changes
