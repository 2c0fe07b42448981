"""Runtime truth from the command line: ``catalog verify`` (probe models' claimed
capabilities through an OpenAI-compatible endpoint, recorded as telemetry) and ``catalog
telemetry`` (what the intake received, and how the identities vote)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from pipeline.cli.common import UsageError, published_or_say, read_published, store_for


def cmd_verify(args: argparse.Namespace) -> int:
    """`syncmodels verify`: probe models through an OpenAI-compatible chat endpoint (issue 17)."""
    import time
    from decimal import Decimal

    from pipeline.config import load_config
    from pipeline.publishing import keys
    from pipeline.records.catalog import CurrentCatalog
    from pipeline.resolve import CatalogIndex, resolve
    from pipeline.telemetry import probes
    from pipeline.telemetry.events import CAPABILITIES, CatalogLookup
    from pipeline.telemetry.intake import Intake

    config = load_config(args.config)
    store = store_for(args, config)
    current = published_or_say(store, keys.CURRENT, "no catalog")
    if current is None:
        return 1
    catalog = CurrentCatalog.model_validate(current)
    by_id = {m.id: m for m in catalog.models}
    index = CatalogIndex(current, read_published(store, keys.DEPRECATIONS), {})
    refs = args.models or [
        m["id"] for m in (read_published(store, keys.CURATED) or {}).get("models", [])
    ]
    records = []
    for ref in refs:
        found = resolve(ref, index)
        if found.model is None or not found.exact:
            raise UsageError(f"{ref!r} is not a current model id or alias in {store.uri}")
        records.append(by_id[str(found.model["id"])])
    wanted = [c for part in args.capability or [] for c in part.split(",") if c]
    unknown = sorted(set(wanted) - set(CAPABILITIES))
    if unknown:
        raise UsageError(
            f"unknown capability {', '.join(unknown)} (known: {', '.join(CAPABILITIES)})"
        )
    plan = probes.plan(records, wanted or None)
    for line in plan.skipped:
        print(f"skip {line}")
    budget = Decimal(str(args.budget_usd))
    print(f"{len(plan.probes)} probe(s), estimated at most ${plan.total:.6f} (budget ${budget})")
    if plan.total > budget:
        print(
            f"error: the estimate ${plan.total:.6f} exceeds --budget-usd {budget}; nothing sent",
            file=sys.stderr,
        )
        return 2
    key_env = config.openrouter.api_key_env
    api_key = os.environ.get(key_env) or None
    if api_key is None and args.base_url == probes.DEFAULT_BASE_URL:
        raise UsageError(f"set {key_env} to probe through OpenRouter (or pass --base-url)")
    results = probes.run_plan(plan, base_url=args.base_url, api_key=api_key, timeout=args.timeout)
    now = time.time()
    intake = Intake(
        store,
        config.telemetry,
        lambda: CatalogLookup(lambda ref: resolve(ref, index), list(index.models.values())),
        # Unique per run: two verify runs in the same second must not overwrite each other.
        writer=f"probe-{time.time_ns()}-{os.getpid()}",
    )
    kept = intake.submit([r.event(now) for r in results], identity=probes.CONSUMER)
    intake.flush()
    for r in results:
        print(f"{r.model:<44}{r.capability:<18}{r.outcome:<18}{r.latency_ms:>8.0f} ms  {r.detail}")
    print(f"{kept.accepted} outcome(s) recorded as telemetry (consumer `probe`) in {store.uri}")
    return 0 if all(r.outcome == "ok" for r in results) else 1


def cmd_telemetry(args: argparse.Namespace) -> int:
    """`catalog telemetry`: what the intake received, per identity and model, rejections, and
    the votes of the verification window."""
    import json
    import time

    from pipeline.config import load_config
    from pipeline.telemetry.compaction import iter_recent
    from pipeline.telemetry.events import OUTCOMES
    from pipeline.telemetry.rollup import INTAKE

    config = load_config(args.config)
    store = store_for(args, config)
    since = int(time.time() // 3600 * 3600 - (args.hours - 1) * 3600)
    rows: dict[tuple[str, str], list[int]] = {}
    problems: list[str] = []
    for _, cells, found in iter_recent(store, since=since):
        problems += found
        for (consumer, model, _), cell in cells.items():
            row = rows.setdefault((consumer, model), [0] * len(cell.outcomes))
            for i, value in enumerate(cell.outcomes):
                row[i] += value
    rejected: dict[str, int] = {}
    ignored = 0
    for key in store.list(INTAKE):
        blob = store.get(key)
        try:
            counters = json.loads(blob.data) if blob is not None else {}
        except ValueError:
            problems.append(f"{key} is unreadable")
            continue
        for reason, count in counters.get("rejected", {}).items():
            rejected[reason] = rejected.get(reason, 0) + int(count)
        ignored += sum(int(v) for v in counters.get("ignoredSpans", {}).values())
    votes = _votes(store, config.telemetry, problems)

    if args.json:
        print(
            json.dumps(
                {
                    "hours": args.hours,
                    "received": [
                        {"consumer": c, "model": m, **dict(zip(OUTCOMES, row, strict=True))}
                        for (c, m), row in sorted(rows.items())
                    ],
                    "rejected": dict(sorted(rejected.items())),
                    "ignoredSpans": ignored,
                    "votes": [
                        {
                            "model": model,
                            "capability": capability,
                            "votes": {v.identity or "-": v.says for v in decision.votes},
                            "probe": decision.probe.says if decision.probe else None,
                            "belowMinCalls": list(decision.below_min),
                            "verdict": decision.verdict,
                            "decidedBy": decision.by,
                        }
                        for model, capability, decision in votes
                    ],
                    "problems": problems,
                },
                indent=2,
            )
        )
        return 0
    print(f"telemetry in {store.uri}, last {args.hours} hour(s):")
    print(f"  {'consumer':<20}{'model':<44}{'calls':>7}{'ok':>7}  failures")
    for (consumer, model), row in sorted(rows.items()):
        failures = ", ".join(f"{OUTCOMES[i]} {v}" for i, v in enumerate(row) if v and i)
        print(f"  {consumer:<20}{model:<44}{sum(row):>7}{row[0]:>7}  {failures}")
    if not rows:
        print("  (no calls)")
    print(
        "rejected (since each writer started): "
        + (", ".join(f"{reason} {count}" for reason, count in sorted(rejected.items())) or "none")
    )
    print(f"ignored non-GenAI spans: {ignored}")
    settings = config.telemetry
    print(
        f"votes, last {settings.verification_window_days} days (one identity, one vote; "
        f"at least {settings.min_calls} judged calls each):"
    )
    for model, capability, decision in votes:
        print(f"  {model:<44}{capability:<18}{decision.explain()}")
    if not votes:
        print("  (no identity called a capability enough to vote)")
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def _votes(store: Any, settings: Any, problems: list[str]) -> list[tuple[str, str, Any]]:
    """(model, capability, decision) for every capability some identity (or a probe) voted
    on in the verification window, read like the daily job reads it (nothing compacted)."""
    from datetime import UTC, datetime

    from pipeline.telemetry.compaction import load_days
    from pipeline.telemetry.verify import window_tallies
    from pipeline.telemetry.votes import decide

    now = datetime.now(UTC)
    loaded = load_days(
        store,
        now=now,
        days=settings.verification_window_days,
        max_event_age_hours=settings.max_event_age_hours,
        compact=False,
    )
    problems += loaded.problems
    today = int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    first_day = today - (settings.verification_window_days - 1) * 86_400
    out = []
    for model, per_capability in sorted(window_tallies(loaded.judged, first_day).items()):
        for capability, tallies in sorted(per_capability.items()):
            decision = decide(tallies, settings)
            if decision.votes or decision.probe is not None:
                out.append((model, capability, decision))
    return out
