"""Read-only CLI views of the published store: ``catalog list``, ``show``, ``explain``,
``changes``, ``history`` (and ``history rebuild``), ``export-site``.

They read the store through the reader library (``pipeline.registry.Registry``), exactly as
``catalog serve`` does, so they work offline against any store a sync has published to. On a
terminal they print tables; ``--json`` (or a pipe) gives machine-readable output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.history.query import HistoryError
from pipeline.registry.core import CatalogUnavailable, ModelNotFound, QueryError, Registry

Handler = Callable[[argparse.Namespace], int]


class ViewError(Exception):
    """A usage problem of a view (bad filter, unknown model): exit 2 with this message."""


def _registry(
    args: argparse.Namespace, open_store: Callable[[argparse.Namespace], Any]
) -> Registry:
    try:
        return Registry.open(open_store(args))
    except CatalogUnavailable as exc:
        raise ViewError(f"{exc}") from exc


def _json_wanted(args: argparse.Namespace) -> bool:
    return bool(args.json) or not (args.table or sys.stdout.isatty())


def _dump(document: Any) -> None:
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
    from pipeline.web.pages import usd

    return usd(value)


def _count(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


# -- list ------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, open_store: Callable[[argparse.Namespace], Any]) -> int:
    from pipeline.web import rows as table_rows

    registry = _registry(args, open_store)
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
        raise ViewError(str(exc)) from exc
    found = table_rows.select(table_rows.all_rows(registry.snapshot), view)
    shown = found[: args.limit] if args.limit else found
    if _json_wanted(args):
        _dump({"total": len(found), "data": shown, "runId": registry.snapshot.run_id})
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
    print(f"{len(found)} model(s){more} · run {registry.snapshot.run_id}", file=sys.stderr)
    return 0


# -- show / explain --------------------------------------------------------------------------


def _unknown(registry: Registry, ref: str) -> Exception:
    """The CLI's unknown-model error (exit 4 everywhere), with close matches."""
    from pipeline.cli import UnknownModel

    return UnknownModel(ref, registry.store.uri, registry.snapshot.close_matches(ref))


def _model(registry: Registry, ref: str) -> dict[str, Any]:
    model = registry.get(ref)
    if model is None:
        resolution = registry.resolve(ref)
        if resolution.model is None or not resolution.exact:
            raise _unknown(registry, ref)
        model = resolution.model
    return model


def cmd_show(args: argparse.Namespace, open_store: Callable[[argparse.Namespace], Any]) -> int:
    from pipeline.web.pages import FLAGS, describe_change, price_rows_of

    registry = _registry(args, open_store)
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
    life = model.get("lifecycle") or {}
    print(f"{model_id} — {model.get('name')}")
    print(
        f"  alias {model.get('alias')}"
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
    for r in redirects_in:
        print(f"  redirected here from {r['from']} ({r.get('reason')} since {r.get('since')})")
    print("prices")
    for name, value in price_rows_of(model.get("pricing") or {}):
        print(f"  {name:<18}{value}")
    print("capabilities")
    sources, evidence = model.get("detectionSource") or {}, model.get("evidence") or {}
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


def cmd_explain(args: argparse.Namespace, open_store: Callable[[argparse.Namespace], Any]) -> int:
    from pipeline.publishing import keys
    from pipeline.records.model import ModelRecord
    from pipeline.stages.capabilities import explain

    registry = _registry(args, open_store)
    model = _model(registry, args.ref)
    run_id = str(registry.snapshot.set.current.get("runId", ""))
    report = registry.read_document(keys.run_report(run_id)) if run_id else None
    conflicts = ((report or {}).get("details") or {}).get("conflicts", [])
    record = ModelRecord.model_validate(model)
    for line in explain(record, conflicts):
        print(line)
    if report is None:
        print("  (the run report of this catalog is gone: conflicts not shown)", file=sys.stderr)
    return 0


# -- history ---------------------------------------------------------------------------------


def cmd_changes(args: argparse.Namespace, open_store: Callable[[argparse.Namespace], Any]) -> int:
    from pipeline.web.pages import describe_change

    registry = _registry(args, open_store)
    try:
        ids = [registry.history_id(args.model)] if args.model else None
        events, _ = registry.history().changes(args.since, ids=ids)
    except HistoryError as exc:
        raise ViewError(str(exc)) from exc
    except ModelNotFound as exc:
        raise _unknown(registry, args.model) from exc
    if args.limit:
        events = events[-args.limit :]
    if _json_wanted(args):
        _dump({"since": args.since, "total": len(events), "data": events})
        return 0
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
    print(
        f"{len(events)} change(s)" + (f" since {args.since}" if args.since else ""), file=sys.stderr
    )
    return 0


def cmd_history(
    args: argparse.Namespace,
    open_store: Callable[[argparse.Namespace], Any],
    rebuild: Callable[[argparse.Namespace], int],
) -> int:
    if args.ref == "rebuild":
        return rebuild(args)
    from pipeline.web.pages import describe_change

    registry = _registry(args, open_store)
    try:
        model_id = registry.history_id(args.ref)
        events = registry.history().timeline(model_id)
        price = registry.price_at(model_id, args.at) if args.at else None
    except ModelNotFound as exc:
        raise _unknown(registry, args.ref) from exc
    except HistoryError as exc:
        raise ViewError(str(exc)) from exc
    if _json_wanted(args):
        document: dict[str, Any] = {"id": model_id, "events": events}
        if args.at:
            document["priceAt"] = None if price is None else price.__dict__
        _dump(document)
        return 0
    if not events:
        print(f"{model_id}: no history recorded (the store's history starts later)")
    for event in events:
        changes = "; ".join(
            describe_change(k, v) for k, v in sorted(event.get("changes", {}).items())
        )
        print(f"{event['at']}  {event['event']:<8} {changes}")
    if args.at:
        if price is None:
            print(f"at {args.at}: {model_id} was not in the catalog")
        else:
            held = f"from {price.since}" + (
                f" until {price.until}" if price.until else " (still the latest)"
            )
            prices = ", ".join(
                f"{k} {_usd(v)}" for k, v in price.prices.items() if not isinstance(v, list | bool)
            )
            print(f"at {args.at}: {prices} per 1M ({held})")
    return 0


def cmd_export_site(
    args: argparse.Namespace, open_store: Callable[[argparse.Namespace], Any]
) -> int:
    from pathlib import Path

    from pipeline.web.site import export_site

    registry = _registry(args, open_store)
    written = export_site(registry, Path(args.directory), base_url=args.base_url)
    print(f"wrote {written} file(s) to {args.directory} (catalog run {registry.snapshot.run_id})")
    return 0


# -- argparse --------------------------------------------------------------------------------


def register(
    sub: Any,
    common: Callable[[argparse.ArgumentParser], None],
    open_store: Callable[[argparse.Namespace], Any],
    rebuild: Callable[[argparse.Namespace], int],
) -> None:
    """Add the views' subcommands to the ``catalog`` parser."""

    def output(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="JSON output (the default when piped)")
        p.add_argument("--table", action="store_true", help="a table even when piped")
        common(p)

    def bind(p: argparse.ArgumentParser, fn: Callable[..., int], *extra: Any) -> None:
        p.set_defaults(func=lambda a: _guarded(fn, a, open_store, *extra))

    lst = sub.add_parser("list", help="the published models, filtered and sorted (table or JSON)")
    lst.add_argument("-q", help="substring of id, alias or name")
    lst.add_argument(
        "--capability",
        help="vision, tools, reasoning, structured-output, image-gen, free (comma = all)",
    )
    lst.add_argument(
        "--tier", help="free, budget, standard, pro, premium, variable, unknown (comma = any)"
    )
    lst.add_argument("--state", help="active, stale, deprecated (comma = any)")
    lst.add_argument(
        "--kind", help="chat, image, embedding, video, speech, transcription, rerank, router"
    )
    lst.add_argument("--provider", help="provider or family (vendor prefix)")
    lst.add_argument("--bucket", help="curated bucket")
    lst.add_argument(
        "--sort", default="id", help="id, name, input, output, context, max-output, created, rank"
    )
    lst.add_argument("--desc", action="store_true", help="descending")
    lst.add_argument("--limit", type=int, default=0, help="at most this many rows")
    output(lst)
    bind(lst, cmd_list)

    show = sub.add_parser("show", help="one model: record, flags with evidence, lifecycle, history")
    show.add_argument("ref", help="model id or alias")
    show.add_argument("--recent", type=int, default=10, help="history events to show")
    output(show)
    bind(show, cmd_show)

    explain = sub.add_parser("explain", help="how each capability flag of a model was decided")
    explain.add_argument("ref", help="model id or alias")
    common(explain)
    bind(explain, cmd_explain)

    changes = sub.add_parser("changes", help="what changed in the catalog since a date or run")
    changes.add_argument("--since", help="YYYY-MM-DD, a UTC time, or a run id")
    changes.add_argument("--model", help="only this model (id or alias)")
    changes.add_argument("--limit", type=int, default=0, help="only the newest N")
    output(changes)
    bind(changes, cmd_changes)

    history = sub.add_parser(
        "history", help="a model's timeline (`history REF [--at DATE]`), or `history rebuild`"
    )
    history.add_argument("ref", help="model id or alias, or `rebuild`")
    history.add_argument("--at", help="also print the prices at this date (YYYY-MM-DD)")
    history.add_argument(
        "--from-dir",
        help="rebuild: a folder of recorded payloads (default: the store's raw snapshots)",
    )
    history.add_argument("--now", help="rebuild: the run's clock (ISO-8601)")
    history.add_argument("--wait", action="store_true", help="rebuild: wait for the run lease")
    history.add_argument("--overrides", help="rebuild: overrides directory")
    output(history)
    bind(history, cmd_history, rebuild)

    site = sub.add_parser(
        "export-site", help="write the explorer as static files (for a bucket/CDN)"
    )
    site.add_argument("directory", help="output directory")
    site.add_argument(
        "--base-url", default="", help="absolute URL the site will live at (for the Atom feed)"
    )
    common(site)
    bind(site, cmd_export_site)


def _guarded(fn: Callable[..., int], args: argparse.Namespace, *rest: Any) -> int:
    try:
        return fn(args, *rest)
    except ViewError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
