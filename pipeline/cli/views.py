"""Read-only views of the published store: ``catalog list``, ``show``, ``explain``,
``changes``, ``history`` (``history rebuild`` is a job: pipeline/cli/jobs.py), ``resolve``,
``cost`` and ``core``.

Most read the store through the reader library (``pipeline.registry.Registry``), exactly as
``catalog serve`` does, so they work offline against any store a sync has published to. On a
terminal ``list``, ``show``, ``changes`` and ``history`` print tables; ``--json`` (or a pipe)
gives machine-readable output.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipeline.cli.common import (
    EXIT_OK,
    EXIT_UNKNOWN_MODEL,
    NoPrice,
    NothingPublished,
    UnknownModel,
    UsageError,
    close_matches,
    config_file,
    data_age,
    load_current,
    open_registry,
    published_or_say,
    read_published,
    say_data_age,
    store_for,
)
from pipeline.cli.jobs import cmd_history_rebuild

if TYPE_CHECKING:
    from pipeline.history.query import History
    from pipeline.publishing.store import Store
    from pipeline.registry.core import Registry


def _json_wanted(args: argparse.Namespace) -> bool:
    return bool(args.json) or not (args.table or sys.stdout.isatty())


def _dump(document: Any) -> None:
    import json

    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def table(
    rows: Sequence[Sequence[str]], headers: Sequence[str], *, right: Sequence[int] = ()
) -> str:
    """A plain-text table, columns as wide as their content (capped), the last one free."""
    cols = len(headers)
    last = cols - 1
    sizes = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            sizes[i] = max(sizes[i], len(cell)) if i == last else min(max(sizes[i], len(cell)), 48)
    lines = []
    for row in [list(headers), ["─" * min(s, 60) for s in sizes], *map(list, rows)]:
        cells = []
        for i, cell in enumerate(row):
            text = cell if i == last or len(cell) <= sizes[i] else cell[: sizes[i] - 1] + "…"
            cells.append(text.rjust(sizes[i]) if i in right else text.ljust(sizes[i]))
        lines.append("  ".join(cells[:cols]).rstrip())
    return "\n".join(lines)


def _usd(value: Any) -> str:
    from pipeline.web.figures import usd

    return usd(value)


def _count(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def cmd_list(args: argparse.Namespace) -> int:
    from pipeline.registry.filters import QueryError
    from pipeline.web import rows as table_rows

    config = config_file(args)  # None without a config file: nothing built (issue 29)
    registry = open_registry(args, config)
    params = {
        "q": args.q or "",
        "capability": args.capability or "",
        "tier": args.tier or "",
        "state": args.state or "",
        "kind": args.kind or "",
        "provider": args.provider or "",
        "bucket": args.bucket or "",
        "sort": args.sort,
        "dir": "desc" if args.desc else "asc",
    }
    try:
        view = table_rows.View.parse(params)
    except QueryError as exc:
        raise UsageError(str(exc)) from exc
    # The rows of the models shown only (`--limit 20` builds 20 rows, not one per model).
    found = table_rows.positions(registry.snapshot, view)
    picked = found[: args.limit] if args.limit else found
    shown = [table_rows.row_at(registry.snapshot, i) for i in picked]
    if _json_wanted(args):
        snapshot = registry.snapshot
        _dump(
            {
                "total": len(found),
                "data": shown,
                "runId": snapshot.run_id,
                "dataAsOf": snapshot.data_as_of,
            }
        )
        return 0
    body = [
        [
            r["id"],
            r["kind"],
            "variable" if r["variable"] else _usd(r["in"]),
            "variable" if r["variable"] else _usd(r["out"]),
            _count(r["ctx"]),
            _count(r["maxOut"]),
            "—" if r["rank"] is None else f"{r['rank']:.3f}",
            r["tier"],
            r["state"],
            ",".join(r["caps"]),
        ]
        for r in shown
    ]
    headers = [
        "id",
        "kind",
        "in $/1M",
        "out $/1M",
        "context",
        "max out",
        "rank",
        "tier",
        "state",
        "capabilities",
    ]
    print(table(body, headers, right=(2, 3, 4, 5, 6)))
    more = f" (first {len(shown)})" if len(shown) < len(found) else ""
    # Old data is said in words, without the run id: a run id names when the run was, so a
    # replay or the embedded catalog published today would read as today's data.
    age = data_age(config, registry.snapshot.set.current)
    where = age.words if age.stale else f"run {registry.snapshot.run_id}"
    print(f"{len(found)} model(s){more} · {where}", file=sys.stderr)
    return 0


def _unknown(registry: Registry, ref: str) -> Exception:
    """The CLI's unknown-model error (exit 4 everywhere), with close matches."""
    return UnknownModel(ref, registry.store.uri, registry.snapshot.close_matches(ref))


def _model(registry: Registry, ref: str) -> dict[str, Any]:
    model = registry.get(ref)
    if model is None:
        resolution = registry.resolve(ref)
        if resolution.model is None or not resolution.exact:
            raise _unknown(registry, ref)
        model = resolution.model
    return model


def cmd_show(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.web.shown import FLAGS, decided, describe_change, price_rows_of

    config = load_config(args.config)
    registry = open_registry(args, config)
    model = _model(registry, args.ref)
    model_id = str(model["id"])
    deprecations = registry.snapshot.set.deprecations or {}
    old_aliases = [
        a["oldAlias"] for a in deprecations.get("aliasHistory", []) if a.get("modelId") == model_id
    ]
    redirects_in = [r for r in deprecations.get("redirects", []) if r.get("to") == model_id]
    timeline = registry.history().timeline(model_id)
    if _json_wanted(args):
        _dump(
            {
                "model": model,
                "oldAliases": old_aliases,
                "redirectsIn": redirects_in,
                "history": timeline[-args.recent :],
            }
        )
        return 0
    say_data_age(config, registry.snapshot.set.current)
    life = model.get("lifecycle") or {}
    print(f"{model_id} — {model.get('name')}")
    print(
        f"  alias {model.get('alias')}"
        + "".join(f", {name}" for name in model.get("aliases") or ())
        + (f" (formerly {', '.join(old_aliases)})" if old_aliases else "")
    )
    print(
        f"  {model.get('kind')} · {model.get('cost')} · tier {model.get('priceTier')} · "
        f"context {_count(model.get('maxContext'))} · max output {_count(model.get('maxOutput'))}"
    )
    print(
        f"  lifecycle {life.get('state')} since {life.get('stateSince')} "
        f"(first seen {life.get('firstSeen')}, last seen {life.get('lastSeen')})"
    )
    if life.get("expiresAt"):
        # The retirement date upstream announced (OpenRouter's expiration_date).
        replacement = f", replaced by {life['replacement']}" if life.get("replacement") else ""
        print(f"  retires {life['expiresAt']}{replacement}")
    for r in redirects_in:
        print(f"  redirected here from {r['from']} ({r.get('reason')} since {r.get('since')})")
    print("prices")
    for name, value in price_rows_of(model.get("pricing") or {}):
        print(f"  {name:<18}{value}")
    print("capabilities")
    sources, evidence = decided(model)
    for flag in FLAGS:
        if flag in model:
            value = model[flag]
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            print(f"  {flag:<18}{shown:<14}{sources.get(flag, '—'):<10}{evidence.get(flag, '')}")
    print("sources")
    for source in model.get("sources") or []:
        print(f"  {source.get('source')}: {source.get('nativeId')}")
    if not model.get("sources"):
        print("  OpenRouter only")
    print(f"recent history ({len(timeline)} event(s) in all)")
    for event in timeline[-args.recent :]:
        changes = "; ".join(
            describe_change(k, v) for k, v in sorted(event.get("changes", {}).items())
        )
        print(f"  {event['at']}  {event['event']:<8} {changes}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.publishing import keys
    from pipeline.records.model import ModelRecord
    from pipeline.stages.capabilities import explain

    config = load_config(args.config)
    registry = open_registry(args, config)
    model = _model(registry, args.ref)
    run_id = str(registry.snapshot.set.current.get("runId", ""))
    report = registry.read_document(keys.run_report(run_id)) if run_id else None
    conflicts = ((report or {}).get("details") or {}).get("conflicts", [])
    record = ModelRecord.model_validate(model)
    say_data_age(config, registry.snapshot.set.current)
    for line in explain(record, conflicts):
        print(line)
    if report is None:
        print("  (the run report of this catalog is gone: conflicts not shown)", file=sys.stderr)
    return 0


def cmd_changes(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.history.query import HistoryError
    from pipeline.registry.core import ModelNotFound
    from pipeline.web.shown import describe_change

    config = load_config(args.config)
    registry = open_registry(args, config)
    try:
        ids = [registry.history_id(args.model)] if args.model else None
        events, _ = registry.history().changes(args.since, ids=ids)
    except HistoryError as exc:
        raise UsageError(str(exc)) from exc
    except ModelNotFound as exc:
        raise _unknown(registry, args.model) from exc
    total = len(events)
    if args.limit:
        events = events[-args.limit :]
    if _json_wanted(args):
        # `total` counts every change found, `data` holds the newest --limit of them.
        _dump({"since": args.since, "total": total, "data": events})
        return 0
    say_data_age(config, registry.snapshot.set.current)
    rows = [
        [
            e["at"],
            e["id"],
            e["event"],
            "; ".join(describe_change(k, v) for k, v in sorted(e.get("changes", {}).items())),
        ]
        for e in events
    ]
    print(table(rows, ["observed", "model", "event", "changes"]))
    since = f" since {args.since}" if args.since else ""
    if len(events) < total:
        shown = f"the newest {len(events)} of {total} change(s){since} (--limit {args.limit})"
        print(f"{shown}; without --limit for all", file=sys.stderr)
    else:
        print(f"{total} change(s){since}", file=sys.stderr)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    if args.ref == "rebuild":
        return cmd_history_rebuild(args)
    from pipeline.config import load_config
    from pipeline.history.query import HistoryError
    from pipeline.registry.core import ModelNotFound
    from pipeline.web.shown import describe_change

    config = load_config(args.config)
    registry = open_registry(args, config)
    try:
        model_id = registry.history_id(args.ref)
        events = registry.history().timeline(model_id)
        price = registry.price_at(model_id, args.at) if args.at else None
    except ModelNotFound as exc:
        raise _unknown(registry, args.ref) from exc
    except HistoryError as exc:
        raise UsageError(str(exc)) from exc
    if _json_wanted(args):
        document: dict[str, Any] = {"id": model_id, "events": events}
        if args.at:
            document["priceAt"] = None if price is None else price.__dict__
        _dump(document)
        return 0
    say_data_age(config, registry.snapshot.set.current)
    if not events:
        print(f"{model_id}: {_no_history(registry.history(), model_id)}")
    for event in events:
        changes = "; ".join(
            describe_change(k, v) for k, v in sorted(event.get("changes", {}).items())
        )
        print(f"{event['at']}  {event['event']:<8} {changes}")
    if args.at:
        if price is None:
            print(f"at {args.at}: {registry.history().no_price(model_id, args.at)}")
        else:
            held = f"from {price.since}" + (
                f" until {price.until}" if price.until else " (still the latest)"
            )
            prices = ", ".join(
                f"{k} {_usd(v)}" for k, v in price.prices.items() if not isinstance(v, list | bool)
            )
            print(f"at {args.at}: {prices} per 1M ({held})")
    return 0


def _no_history(history: History, model_id: str) -> str:
    """What an empty timeline means: the store has no history yet, or none of this model."""
    if not history.events:
        return (
            "no history recorded in this store yet: the next sync that reaches OpenRouter "
            "starts it (`catalog history rebuild` replays the raw snapshots the store kept)"
        )
    return f"no history recorded for it (the history starts {history.events[0]['at']})"


def cmd_resolve(args: argparse.Namespace) -> int:
    import json

    from pipeline.config import load_config
    from pipeline.publishing import keys
    from pipeline.resolve import CatalogIndex, ranks_from_curated, resolve

    config = load_config(args.config)
    store = store_for(args, config)
    current = published_or_say(store, keys.CURRENT, "no catalog")
    if current is None:
        return 1
    # Same-family fallback ranks by curated.json; without one, resolve.py's stand-in score.
    ranks = ranks_from_curated(read_published(store, keys.CURATED))
    index = CatalogIndex(current, read_published(store, keys.DEPRECATIONS), ranks)
    result = resolve(args.ref, index)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return EXIT_OK if result.model is not None else EXIT_UNKNOWN_MODEL
    if result.model is None:
        matches = close_matches(args.ref, current)
        hint = f"; close matches: {', '.join(matches)}" if matches else ""
        print(
            f"error: {args.ref!r} does not resolve: no current id or alias, redirect, alias "
            f"history or removed model matches it in {store.uri}{hint}",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN_MODEL
    model = result.model
    say_data_age(config, current)
    state = model.get("lifecycle", {}).get("state", "?")
    print(f"{args.ref} → {model['id']} (alias {model.get('alias', '?')}, {state})")
    for number, hop in enumerate(result.hops, 1):
        detail = f"  ({hop.detail})" if hop.detail else ""
        print(f"  {number}. {hop.step:<16}{hop.ref} → {hop.to}{detail}")
    if result.notice is not None:
        print(f"notice {result.notice.id}: {result.notice.text}")
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.publishing import jsonio
    from pipeline.resolve import CatalogIndex, resolve
    from pipeline.stages.cost import CostError, estimate_cost, parse_at

    if args.cached > args.input:
        raise UsageError(
            f"--cached {args.cached} is more than --input {args.input} "
            "(cached tokens are part of the prompt)"
        )
    config = load_config(args.config)
    store = store_for(args, config)
    if args.provider:
        record_id, pricing, span = _provider_pricing(store, args.provider, args.model, args.on)
        print(f"prices of {args.provider}/{record_id}: {span}", file=sys.stderr)
    elif args.on:
        record_id, pricing, span = _pricing_on(store, args.model, args.on)
        print(f"prices of {record_id} on {args.on}: {span}", file=sys.stderr)
    else:
        catalog = load_current(store)
        current = jsonio.loads_plain(jsonio.dump_model(catalog))
        found = resolve(args.model, CatalogIndex(current))
        if found.model_id is None or not found.exact:
            raise UnknownModel(args.model, store.uri, close_matches(args.model, current))
        record = next(m for m in catalog.models if m.id == found.model_id)
        record_id, pricing = record.id, record.pricing
        if not args.json:
            say_data_age(config, catalog)
    try:
        at = parse_at(args.at) if args.at else None
    except ValueError as exc:
        raise UsageError(f"--at {args.at!r} is not HH:MM (UTC) or an ISO-8601 time") from exc
    try:
        estimate = estimate_cost(
            pricing,
            input_tokens=args.input,
            output_tokens=args.output,
            cached_tokens=args.cached,
            at=at,
            model_id=record_id,
        )
    except CostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        document = {
            "model": record_id,
            "on": args.on,
            "usd": estimate.usd,
            "rule": estimate.rule,
            "lines": [
                {
                    "what": ln.what,
                    "tokens": ln.tokens,
                    "usdPerMillion": ln.usd_per_million,
                    "usd": ln.usd,
                }
                for ln in estimate.lines
            ],
            "notes": estimate.notes,
        }
        sys.stdout.write(jsonio.dumps(document).decode("utf-8"))
        return 0
    print(f"{record_id}: ${estimate.usd:.6f} (prices: {estimate.rule})")
    for line in estimate.lines:
        price = _usd(line.usd_per_million)
        print(f"  {line.what:<13}{line.tokens:>12,} × {price}/1M = ${line.usd:.6f}")
    for note in estimate.notes:
        print(f"  note: {note}")
    return 0


def _pricing_on(store: Store, ref: str, when: str) -> tuple[str, Any, str]:
    """(model id, Pricing, span) of ``ref`` on date ``when``, from the published history."""
    from pipeline.history.query import HistoryError
    from pipeline.records.model import Pricing
    from pipeline.registry import CatalogUnavailable, ModelNotFound, Registry

    try:
        registry = Registry.open(store)
    except CatalogUnavailable as exc:
        raise NothingPublished(str(exc)) from exc
    try:
        model_id = registry.history_id(ref)
        price = registry.price_at(model_id, when)
    except ModelNotFound as exc:
        raise UnknownModel(ref, store.uri, registry.snapshot.close_matches(ref)) from exc
    except HistoryError as exc:
        raise UsageError(f"--on: {exc}") from exc
    if price is None:
        raise NoPrice(
            f"no price of {model_id} on {when}: {registry.history().no_price(model_id, when)}"
        )
    prices = {k: v for k, v in price.prices.items() if "." not in k}
    others = {k.split(".", 1)[1]: v for k, v in price.prices.items() if k.startswith("other.")}
    pricing = Pricing.model_validate({**prices, "other": others})
    span = (
        f"observed {price.since} until {price.until}"
        if price.until
        else f"observed {price.since} on (still the latest)"
    )
    if price.until is None:
        # A later date than the history knows: a price the model's own provider announced
        # for it (genai-prices start dates, issue 30) applies from its day.
        announced = _announced_by_owner(registry, model_id, when)
        if announced is not None:
            return model_id, Pricing.model_validate(announced[0]), announced[1]
    return model_id, pricing, span


def _announced_by_owner(registry: Any, model_id: str, when: str) -> tuple[Any, str] | None:
    """(prices, how) announced for ``when`` by the provider whose own model it is (its source
    serves the model's vendor prefix), from that provider's list; None when none applies."""
    from pipeline.registry.providers import pricing_on
    from pipeline.sources.registry import SOURCE_TYPES

    family = str((registry.get(model_id) or {}).get("family", ""))
    for entry in registry.model_providers(model_id):
        kind = SOURCE_TYPES.get(entry["provider"])
        if kind is None or family not in kind.vendors:
            continue
        prices, how = pricing_on(entry["record"], when)
        if how is not None:
            return prices, f"{how} ({entry['provider']}'s list)"
    return None


def _provider_pricing(
    store: Store, provider: str, ref: str, when: str | None
) -> tuple[str, Any, str]:
    """(model id, Pricing, what they are) of ``ref`` (an id or alias) in ``provider``'s list:
    its current prices, or those on ``when`` — announced ones for a later date, the list's
    history for an earlier one."""
    from pipeline.history.query import HistoryError
    from pipeline.records.model import Pricing
    from pipeline.registry import ProviderNotFound, Registry
    from pipeline.registry.providers import pricing_on
    from pipeline.resolve import close_matches

    registry = Registry.open(store)
    try:
        document = registry.provider(provider)
    except ProviderNotFound as exc:
        hint = f"; close matches: {', '.join(exc.matches)}" if exc.matches else ""
        raise UsageError(f"--provider: no list for {provider!r} in {store.uri}{hint}") from exc
    models = {str(m["id"]): m for m in document.get("models") or []}
    record = models.get(ref) or next((m for m in models.values() if m.get("alias") == ref), None)
    if record is None:
        raise UnknownModel(ref, f"{provider}'s list", close_matches(ref, sorted(models)))
    as_of = str(document.get("dataAsOf") or document.get("fetchedAt") or "")[:10]
    if when is None or when[:10] >= as_of:
        prices, how = pricing_on(record, when or as_of)
        return str(record["id"]), Pricing.model_validate(prices), how or f"as listed {as_of}"
    try:
        price = registry.provider_history().price_at(f"{provider}/{record['id']}", when)
    except HistoryError as exc:
        raise UsageError(f"--on: {exc}") from exc
    if price is None:
        raise NoPrice(f"{provider}/{record['id']} was not in its list on {when} (per its history)")
    prices = {k: v for k, v in price.prices.items() if "." not in k}
    return str(record["id"]), Pricing.model_validate(prices), f"observed {price.since}"


def cmd_core(args: argparse.Namespace) -> int:
    """The curated core as a table (or JSON): what a product lists first."""
    import json

    from pipeline.config import load_config
    from pipeline.publishing import keys

    config = load_config(args.config)
    store = store_for(args, config)
    curated = published_or_say(store, keys.CURATED, f"no {keys.CURATED}")
    if curated is None:
        return 1
    entries = [e for e in curated.get("core") or [] if isinstance(e, dict)]
    if args.specialty:
        entries = [e for e in entries if e.get("specialty") == args.specialty]
    issues = curated.get("coreIssues") or []
    if args.json:
        print(json.dumps({"core": entries, "issues": issues}, indent=2, default=str))
        return 0
    if not entries:
        print(f"no curated core in {store.uri} (overrides/curated-core.json)")
        return 0
    say_data_age(config, curated)  # curated.json carries the dataAsOf of its catalog
    rows = [
        (
            str(e.get("alias", "")),
            str(e.get("specialty", "")),
            str(e.get("id", "")),
            str(e.get("state", "")),
            f"{e['rank']:.3f}" if isinstance(e.get("rank"), int | float) else "-",
            ",".join(e.get("buckets") or []) or "-",
            str(e.get("summary", "")),
        )
        for e in entries
    ]
    header = ("ALIAS", "SPECIALTY", "MODEL", "STATE", "RANK", "BUCKETS", "SUMMARY")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )
    print(f"{len(entries)} core model(s) from curated.json run {curated.get('runId')}")
    for issue in issues:
        print(f"attention {issue.get('entry')}: {issue.get('detail')}", file=sys.stderr)
    return 0
