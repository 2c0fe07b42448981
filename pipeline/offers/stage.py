"""The offers stage: decide which models are due, fetch them, attach offers to the records.

The published catalog is the stage's memory and cache: a model whose offers were fetched
less than ``ttl_seconds`` ago keeps them without a request, and a model whose fetch failed,
was abandoned at the budget, or was not asked (the stage off, a ``--from-file`` replay, the
breaker) keeps the previous offers until they are ``max_age_seconds`` old. A 404 is an answer
(OpenRouter has no endpoints page for the model): its offers are cleared.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from pipeline.config import OffersConfig
from pipeline.offers.fetch import FetchReport, endpoints_template, fetch_all
from pipeline.offers.parse import parse_response, price_range
from pipeline.records.model import ModelRecord, Offer
from pipeline.records.payloads import PayloadError
from pipeline.timeutil import iso, parse_iso


@dataclass
class OffersResult:
    """What the stage did, for the run report."""

    raw: bytes | None = None
    """The run's raw snapshot (every response body fetched), or None when nothing was."""
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    scales: dict[str, int] = field(default_factory=dict)
    """How many responses gave uptime as a fraction / latency in seconds (not as documented)."""

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(sorted(self.counts.items()))
        if self.scales:
            out["undocumentedScale"] = dict(sorted(self.scales.items()))
        return out


def eligible(record: ModelRecord) -> bool:
    """Active chat models with a real id (``~`` aliases point at another model's page)."""
    return (
        record.kind == "chat"
        and record.lifecycle.state == "active"
        and not record.id.startswith("~")
        and "/" in record.id
    )


def _fresh(prev: ModelRecord | None, now: datetime, seconds: int) -> bool:
    if prev is None or prev.offers is None or prev.offers_as_of is None:
        return False
    return now - parse_iso(prev.offers_as_of) < timedelta(seconds=seconds)


def due(
    records: Iterable[ModelRecord],
    previous: Mapping[str, ModelRecord],
    now: datetime,
    config: OffersConfig,
) -> list[str]:
    """Ids to fetch this run, sorted: eligible models without offers fresher than the TTL."""
    return sorted(
        r.id
        for r in records
        if eligible(r) and not _fresh(previous.get(r.id), now, config.ttl_seconds)
    )


def _set(record: ModelRecord, offers: list[Offer] | None, as_of: str | None) -> None:
    record.offers = offers
    record.offer_price_range = price_range(offers) if offers else None
    record.offers_as_of = as_of if offers is not None else None


def _keep_previous(
    record: ModelRecord, prev: ModelRecord | None, now: datetime, config: OffersConfig
) -> bool:
    """Carry the previous offers onto ``record`` unless they are too old; True if carried."""
    if prev is None or prev.offers is None or not _fresh(prev, now, config.max_age_seconds):
        _set(record, None, None)
        return False
    _set(record, [o.model_copy() for o in prev.offers], prev.offers_as_of)
    return True


def attach(
    records: list[ModelRecord],
    previous: Mapping[str, ModelRecord],
    now: datetime,
    config: OffersConfig,
    fetched: FetchReport | None,
) -> OffersResult:
    """Set ``offers``, ``offerPriceRange`` and ``offersAsOf`` on every record in place."""
    result = OffersResult()
    counts = result.counts
    results = fetched.results if fetched is not None else {}
    raw_parts: list[tuple[str, bytes]] = []
    stamp = iso(now)
    failed: list[str] = []
    for record in records:
        prev = previous.get(record.id)
        got = results.get(record.id)
        if got is None:
            carried = _keep_previous(record, prev, now, config)
            key = "cached" if carried and _fresh(prev, now, config.ttl_seconds) else "carried"
            counts[key if carried else "none"] = counts.get(key if carried else "none", 0) + 1
            continue
        if got.outcome == "ok" and got.body is not None:
            try:
                parsed = got.parsed or parse_response(
                    got.body, record.id, max_endpoints=config.max_endpoints
                )
            except PayloadError as exc:
                failed.append(str(exc))
            else:
                raw_parts.append((record.id, got.body))
                _set(record, parsed.offers, stamp)
                counts["fetched"] = counts.get("fetched", 0) + 1
                if parsed.uptime_scale != "percent":
                    result.scales["uptimeFraction"] = result.scales.get("uptimeFraction", 0) + 1
                if parsed.latency_unit != "ms":
                    result.scales["latencySeconds"] = result.scales.get("latencySeconds", 0) + 1
                if parsed.dropped:
                    counts["droppedValues"] = counts.get("droppedValues", 0) + len(parsed.dropped)
                continue
        elif got.outcome == "missing":
            _set(record, None, None)
            counts["notFound"] = counts.get("notFound", 0) + 1
            continue
        elif got.outcome == "failed":
            failed.append(got.error or f"{record.id}: failed")
        kept = _keep_previous(record, prev, now, config)
        key = "failedKept" if kept else "failedNone"
        if got.outcome == "abandoned":
            key = "abandonedKept" if kept else "abandonedNone"
        counts[key] = counts.get(key, 0) + 1
    if fetched is not None:
        counts["asked"] = len(results)
        if fetched.breaker:
            result.warnings.append(
                f"offers: stopped asking the endpoints API: {fetched.breaker}; "
                "the other models keep their previous offers"
            )
        if fetched.over_budget:
            abandoned = fetched.count("abandoned")
            result.warnings.append(
                f"offers: budget of {config.budget_seconds:g}s spent with {abandoned} models "
                "not fetched; they keep their previous offers"
            )
    if failed:
        shown = "; ".join(sorted(failed)[:3])
        more = f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""
        result.warnings.append(f"offers: {len(failed)} models not fetched: {shown}{more}")
    if raw_parts:
        result.raw = raw_snapshot(stamp, raw_parts)
    return result


def raw_snapshot(stamp: str, parts: list[tuple[str, bytes]]) -> bytes:
    """One JSON object holding every response of the run, verbatim, by model id."""
    chunks = [b'{\n  "fetchedAt": ', json.dumps(stamp).encode(), b',\n  "responses": {']
    for index, (model_id, body) in enumerate(sorted(parts)):
        chunks.append(b"," if index else b"")
        chunks.append(b"\n    " + json.dumps(model_id).encode() + b": " + body.strip())
    chunks.append(b"\n  }\n}\n")
    return b"".join(chunks)


def run_stage(
    records: list[ModelRecord],
    previous: Mapping[str, ModelRecord],
    now: datetime,
    config: OffersConfig,
    *,
    fetch: bool,
    catalog_url: str,
    api_key: str | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> OffersResult:
    """Fetch what is due (when ``fetch``) and attach offers; carry the previous ones else."""
    report: FetchReport | None = None
    if fetch:
        ids = due(records, previous, now, config)
        report = fetch_all(
            ids,
            template=endpoints_template(config, catalog_url),
            config=config,
            api_key=api_key,
            transport=transport,
            sleep=sleep,
            parse=lambda body, model_id: parse_response(
                body, model_id, max_endpoints=config.max_endpoints
            ),
        )
    result = attach(records, previous, now, config, report)
    if report is not None:
        result.counts["elapsedMs"] = round(report.elapsed_s * 1000)
    return result
