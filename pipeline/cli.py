"""Command line: ``catalog`` (sync, status, schedule, serve, resolve, cost, export-registry,
schemas, build-fallback, validate, core) and ``syncmodels``.

``syncmodels X`` is ``catalog sync X``, so ``syncmodels all`` works as operators type it.
Every sync target runs a job of ``pipeline.runs.jobs`` through ``run_job`` (lease, publish, status).
The last line of every sync is a one-line summary on stdout; errors are one line on stderr,
never a traceback. Every command exits with one of (docs/jobs.md, "Exit codes"):

    0  done (published, or nothing to do)
    1  failed: nothing published (upstream down, guarded, a store or file error)
    2  usage or configuration error, or a replay older than the published set (no --force)
    3  another run holds the run lease
    4  unknown model: no id or alias matches (resolve, cost, sync --explain), close matches given
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import __version__, cli_views
from pipeline.config import (
    CatalogConfig,
    ConfigError,
    curation_config,
    load_config,
    resolve_store_uri,
)
from pipeline.logs import formatters, redact
from pipeline.overrides.files import OverrideError, load_overrides, resolve_dir, validate_directory
from pipeline.publishing import jsonio, keys
from pipeline.publishing.store import Store, StoreError, open_store
from pipeline.records.catalog import CurrentCatalog
from pipeline.runs.jobs import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    TARGETS,
    OlderThanPublished,
    UnknownJob,
)
from pipeline.timeutil import data_age, iso, parse_iso, utcnow

EXIT_USAGE = 2
EXIT_UNKNOWN_MODEL = 4
# Every code a command may return (the table in the docstring and in docs/jobs.md).
EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_FAILED: "failed, nothing published",
    EXIT_USAGE: "usage or configuration error",
    EXIT_LOCKED: "the run lease is held",
    EXIT_UNKNOWN_MODEL: "unknown model",
}


# `syncmodels TARGET` → job of pipeline.runs.jobs.JOBS; any other target naming a provider source
# (`syncmodels openai`) runs provider_refresh for just that source.
class UsageError(Exception):
    """Bad arguments; exit 2."""


class NoPrice(Exception):
    """``cost --on``: the model had no record on that date; exit 1."""


class UnknownModel(Exception):
    """No id or alias matches; exit 4 in every command, with close matches when there are."""

    def __init__(self, ref: str, where: str, matches: Sequence[str]) -> None:
        hint = f"; close matches: {', '.join(matches)}" if matches else ""
        super().__init__(f"no model {ref!r} (id or alias) in {where}{hint}")
        self.matches = list(matches)


def _close_matches(ref: str, current: dict[str, Any] | CurrentCatalog) -> list[str]:
    from pipeline.resolve import close_matches

    if isinstance(current, CurrentCatalog):
        names = {m.id for m in current.models} | {m.alias for m in current.models}
    else:
        models = current.get("models", [])
        names = {str(m["id"]) for m in models} | {str(m["alias"]) for m in models if m.get("alias")}
    return close_matches(ref, sorted(names))


def _parse_now(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise UsageError(
            f"--now {value!r} is not an ISO-8601 time (e.g. 2026-08-19T06:00:00Z)"
        ) from exc


def _open(args: argparse.Namespace, config: CatalogConfig) -> Store:
    uri = resolve_store_uri(getattr(args, "store", None), config)
    return open_store(
        uri,
        endpoint_url=config.s3_endpoint_url,
        region=config.s3_region,
        addressing_style=config.s3_addressing_style,
    )


def _progress_printer() -> object:
    def show(stage: str, ms: float, detail: str) -> None:
        print(f"  {stage:<13}{ms:8.1f} ms  {detail}", file=sys.stderr, flush=True)

    return show


def cmd_sync(args: argparse.Namespace) -> int:
    from pipeline.runs.jobs import UnknownJob, job_for, run_job, stop_on_sigterm
    from pipeline.sources.config import load_providers_config

    config = load_config(args.config)
    try:
        job, only = job_for(args.target, load_providers_config(config).sources)
    except UnknownJob as exc:
        raise UsageError(str(exc)) from exc
    curation_config(config)  # a bad `curation:` section is a usage error before any work
    overrides = load_overrides(resolve_dir(args.overrides, config.overrides_dir))
    store = _open(args, config)
    if args.list:
        if args.target != "providers":
            raise UsageError("--list goes with `sync providers`")
        return _list_providers(store, config, _parse_now(args.now))
    if job == "curated_refresh" and args.from_file:
        raise UsageError("`sync curated` reads the published current.json; drop --from-file")
    if job == "provider_refresh" and args.from_file:
        raise UsageError("--from-file applies to `sync openrouter` and `sync all` only")
    manifests = resolve_dir(args.overrides, config.overrides_dir) / "pinned"
    interactive = sys.stderr.isatty() and not args.quiet
    if interactive:
        print(f"syncing {args.target} ({job}) into {store.uri}", file=sys.stderr)
    with stop_on_sigterm():
        result = run_job(
            job,
            store,
            config,
            now=_parse_now(args.now) if args.now else None,
            force=args.force,
            wait=args.wait,
            from_file=Path(args.from_file) if args.from_file else None,
            overrides=overrides,
            only=only,
            refresh=args.refresh,
            manifest_dir=str(manifests),
            progress=_progress_printer() if interactive else None,  # type: ignore[arg-type]
        )
    explained = True
    if args.explain:
        explained = _explain_run(store, result.catalog, result.details, args.explain)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    # Upstream unreachable with a catalog already published: an expected state offline. It is
    # said once, on the summary line (with the kept data's age), not as an error as well.
    if result.error and result.exit_code != 0 and not result.kept:
        print(f"error: {result.error}", file=sys.stderr)
    # One summary line on stdout: for `all`, OpenRouter's then the providers' (the providers'
    # alone when OpenRouter published nothing).
    shown = (
        result.exit_code == 0
        or result.published
        or result.kept
        or job in ("full_refresh", "provider_refresh")
    )
    if shown and result.outcome != "locked" and result.summary != result.error:
        print(result.summary)
    code = result.exit_code
    if args.offline_ok and result.kept and result.code == EXIT_OK:
        # `make sync` and interactive reruns: keeping the published catalog is success here.
        # Schedulers run without --offline-ok, so the failure still shows in their exit code
        # (and in status.json and the reader's metrics either way).
        code = EXIT_OK
    return code if explained else EXIT_UNKNOWN_MODEL


def _list_providers(store: Store, config: CatalogConfig, now: datetime) -> int:
    from pipeline.runs.providers import plan

    print(f"{'source':<20}{'type':<19}{'enabled':<9}{'ttl':>7}  state")
    for row in plan(store, config, now):
        enabled = "yes" if row.enabled else "no"
        print(f"{row.source:<20}{row.type_name:<19}{enabled:<9}{row.ttl_seconds:>6}s  {row.state}")
    return 0


def _explain_run(
    store: Store, catalog: CurrentCatalog | None, details: dict[str, Any], model_ref: str
) -> bool:
    """``--explain`` after a run: from the catalog it published, else (upstream unreachable,
    guarded, ...) from the catalog already published, with that run's conflicts."""
    if catalog is None:
        blob = store.get(keys.CURRENT)
        if blob is None:
            print(f"error: --explain: no catalog in {store.uri} to explain from", file=sys.stderr)
            return False
        catalog = CurrentCatalog.model_validate_json(blob.data)
        report = _read_published(store, keys.run_report(catalog.run_id))
        details = report.get("details", {}) if isinstance(report, dict) else {}
        as_of = catalog.data_as_of or catalog.generated_at
        print(
            f"(this run published nothing: explaining from the published catalog of run "
            f"{catalog.run_id}, {data_age(as_of, utcnow())})"
        )
    return _explain(catalog, details, model_ref)


def _explain(catalog: CurrentCatalog, details: dict[str, Any], model_ref: str) -> bool:
    """Print how each flag of one model (id or alias) was decided; False if it is unknown."""
    from pipeline.stages.capabilities import explain

    record = next((m for m in catalog.models if model_ref in (m.id, m.alias)), None)
    if record is None:
        problem = UnknownModel(
            model_ref, "the published catalog", _close_matches(model_ref, catalog)
        )
        print(f"error: --explain: {problem}", file=sys.stderr)
        return False
    for line in explain(record, details.get("conflicts", [])):
        print(line)
    return True


def cmd_schedule(args: argparse.Namespace) -> int:
    from pipeline.runs.jobs import JOBS, run_job
    from pipeline.runs.schedule import describe, load_schedule, schedule_settings, serve

    config = load_config(args.config)
    jobs = load_schedule(config)
    if args.list:
        for line in describe(jobs, set(JOBS), utcnow()):
            print(line)
        return 0
    store = _open(args, config)
    missing = [j.name for j in jobs if j.enabled and j.name not in JOBS]
    for name in missing:
        print(f"warning: {name} is in the cron table but not in this build", file=sys.stderr)
    runnable = [j for j in jobs if j.name in JOBS]
    overrides = load_overrides(resolve_dir(None, config.overrides_dir))

    def runner(name: str) -> object:
        return run_job(name, store, config, overrides=overrides)

    def ready() -> None:
        names = ", ".join(j.name for j in runnable if j.enabled)
        print(f"scheduling {names} on {store.uri} (SIGTERM/SIGINT to stop)", flush=True)

    return serve(
        runnable,
        runner,
        misfire_grace_seconds=schedule_settings(config).misfire_grace_seconds,
        ready=ready,
    )


def _load_current(store: Store) -> CurrentCatalog:
    blob = store.get(keys.CURRENT)
    if blob is None:
        raise UsageError(f"no {keys.CURRENT} in {store.uri}: run `syncmodels all` first")
    return CurrentCatalog.model_validate_json(blob.data)


def cmd_cost(args: argparse.Namespace) -> int:
    from pipeline.resolve import CatalogIndex, resolve
    from pipeline.stages.cost import CostError, estimate_cost, parse_at

    config = load_config(args.config)
    store = _open(args, config)
    if args.on:
        record_id, pricing, span = _pricing_on(store, args.model, args.on)
        print(f"prices of {record_id} on {args.on}: observed {span}", file=sys.stderr)
    else:
        catalog = _load_current(store)
        current = jsonio.loads_plain(jsonio.dump_model(catalog))
        found = resolve(args.model, CatalogIndex(current))
        if found.model_id is None or not found.exact:
            raise UnknownModel(args.model, store.uri, _close_matches(args.model, current))
        record = next(m for m in catalog.models if m.id == found.model_id)
        record_id, pricing = record.id, record.pricing
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
        print(f"  {line.what:<13}{line.tokens:>12,} × ${line.usd_per_million}/1M = ${line.usd:.6f}")
    for note in estimate.notes:
        print(f"  note: {note}")
    return 0


def cmd_history_rebuild(args: argparse.Namespace) -> int:
    """`catalog history rebuild [--from-dir DIR]`: the history_rebuild job, under the lease."""
    from pipeline.runs.jobs import run_job, stop_on_sigterm

    config = load_config(args.config)
    overrides = load_overrides(resolve_dir(args.overrides, config.overrides_dir))
    store = _open(args, config)
    source = Path(args.from_dir) if args.from_dir else None
    if source is not None and not source.is_dir():
        raise UsageError(f"--from-dir {args.from_dir}: not a directory")
    with stop_on_sigterm():
        result = run_job(
            "history_rebuild",
            store,
            config,
            now=_parse_now(args.now) if args.now else None,
            wait=args.wait,
            from_file=source,
            overrides=overrides,
            progress=_progress_printer() if sys.stderr.isatty() else None,  # type: ignore[arg-type]
        )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.outcome != "ok":
        print(f"error: {result.error or result.summary}", file=sys.stderr)
    else:
        print(result.summary)
    return result.exit_code


def _pricing_on(store: Store, ref: str, when: str) -> tuple[str, Any, str]:
    """(model id, Pricing, span) of ``ref`` on date ``when``, from the published history."""
    from pipeline.history.query import HistoryError
    from pipeline.records.model import Pricing
    from pipeline.registry import ModelNotFound, Registry

    registry = Registry.open(store)
    try:
        model_id = registry.history_id(ref)
        price = registry.price_at(model_id, when)
    except ModelNotFound as exc:
        raise UnknownModel(ref, store.uri, registry.snapshot.close_matches(ref)) from exc
    except HistoryError as exc:
        raise UsageError(f"--on: {exc}") from exc
    if price is None:
        raise NoPrice(f"{model_id} was not in the catalog on {when} (per its history)")
    prices = {k: v for k, v in price.prices.items() if "." not in k}
    others = {k.split(".", 1)[1]: v for k, v in price.prices.items() if k.startswith("other.")}
    pricing = Pricing.model_validate({**prices, "other": others})
    span = (
        f"{price.since} until {price.until}"
        if price.until
        else f"{price.since} on (still the latest)"
    )
    return model_id, pricing, span


def cmd_export_registry(args: argparse.Namespace) -> int:
    from pipeline.publishing.registry_export import build_registry, registry_key

    config = load_config(args.config)
    store = _open(args, config)
    files = build_registry(_load_current(store))
    if args.output:
        target = Path(args.output)
        target.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (target / name).write_bytes(data)
        where = str(target)
    else:
        for name, data in files.items():
            store.put(registry_key(name), data)
        where = f"{store.uri}/{registry_key('')}"
    print(f"wrote {len(files)} registry file(s) to {where}")
    return 0


def _age(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "never"
    seconds = int((now - parse_iso(stamp)).total_seconds())
    if seconds < 0:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.publishing.publish import read_status
    from pipeline.runs.jobs import JOBS
    from pipeline.runs.schedule import load_schedule, stale_reason

    config = load_config(args.config)
    store = _open(args, config)
    blob = store.get(keys.STATUS)
    if blob is None:
        print(f"no status yet in {store.uri}: run `syncmodels all` first", file=sys.stderr)
        return 1
    status = read_status(store)
    if status is None:
        print(f"{keys.STATUS} in {store.uri} is unreadable", file=sys.stderr)
        return 1
    now = _parse_now(args.now)
    # Status entries are keyed by each job's status name (`curated` for curated_refresh);
    # a job of the table this build does not run is not expected to succeed.
    crons = {
        JOBS[j.name].status_key: j.cron
        for j in load_schedule(config)
        if j.enabled and j.name in JOBS
    }
    # curated.json is also published by every OpenRouter sync: the job that last wrote it
    # (named by the manifest) counts as a curated success.
    curated_by = _curated_writer(store, status.jobs)
    # A job that has not run yet is overdue only once the store is older than twice its
    # period: right after the first sync, the daily jobs are simply not due yet.
    starts = [e.last_start for e in status.jobs.values()]
    store_since = min(starts, key=parse_iso) if starts else None
    overdue: dict[str, str] = {}
    for job, cron in crons.items():
        entry = status.jobs.get(job)
        success = entry.last_success if entry else None
        if job == "curated" and curated_by is not None:
            success = max(filter(None, [success, curated_by[1]]), key=parse_iso)
        flagged, why = stale_reason(success or store_since, cron, now)
        if flagged:
            overdue[job] = (why or "overdue") if success else "never succeeded"
    if args.json:
        # status.json as published, plus `overdue`: the jobs whose last success is older than
        # twice their period, computed now (it is not stored: it depends on the reader's clock).
        document = jsonio.loads(blob.data)
        document["overdue"] = overdue
        sys.stdout.write(jsonio.dumps(document).decode("utf-8"))
        return 0
    print(
        f"store {store.uri}, status written {status.generated_at} "
        f"({_age(status.generated_at, now)})"
    )
    rows: list[list[str]] = []
    for job in sorted(set(status.jobs) | set(crons)):
        entry = status.jobs.get(job)
        why = overdue.get(job)
        name = ("! " if why else "") + job
        notes = [f"STALE: {why}"] if why else []
        if entry is None:
            if job == "curated" and curated_by is not None:
                notes.append(f"curated.json published by {curated_by[0]}")
                rows.append([name, "-", "never", _age(curated_by[1], now), "-", "", *notes])
            else:
                rows.append([name, "-", "never", "never", "-", "", *(notes or ["not run yet"])])
            continue
        # The error says what went wrong; the first warning only when there is none (the
        # embedded-catalog warning repeats the error in other words).
        if entry.error:
            notes.append(entry.error)
        else:
            notes.extend(entry.warnings[:1])
        models = entry.counts.get("served", entry.counts.get("published", ""))
        data = _age(entry.data_as_of, now).replace(" ago", " old") if entry.data_as_of else "-"
        rows.append(
            [
                name,
                entry.outcome,
                _age(entry.last_end, now),
                _age(entry.last_success, now),
                data,
                str(models),
                "; ".join(notes),
            ]
        )
    _print_table(
        ["job", "outcome", "last run", "last success", "data", "models", "detail"],
        rows,
        right={5},
    )
    providers = status.jobs.get("providers")
    if providers is not None and providers.sources:
        print()
        _print_provider_sources(providers.sources, now)
    return 0


def _curated_writer(store: Store, jobs: dict[str, Any]) -> tuple[str, str] | None:
    """(who, when) wrote the published curated.json, from the manifest, when it is not the
    curated job itself: every OpenRouter sync publishes curated.json too."""
    try:
        manifest = _read_published(store, keys.MANIFEST)
    except StoreError:  # a damaged manifest is the run's to repair; status still prints
        return None
    if not isinstance(manifest, dict):
        return None
    entry = manifest.get("artifacts", {}).get("curated")
    run_id = str(entry.get("runId", "")) if isinstance(entry, dict) else ""
    curated = jobs.get("curated")
    if not run_id or (curated is not None and curated.run_id == run_id):
        return None
    try:  # run ids start with the run's clock: 20260819T060000Z-…
        when = datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return "an OpenRouter sync", iso(when)


def _print_table(header: list[str], rows: list[list[str]], *, right: set[int]) -> None:
    """Columns as wide as their widest cell; the last column wraps at word boundaries under
    itself, so nothing overflows into the next column and no word is cut."""
    import shutil
    import textwrap

    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header[:-1])]

    def lead(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    indent = len(lead([""] * len(widths))) + 2
    room = max(30, shutil.get_terminal_size((160, 24)).columns - indent)
    print(f"{lead([h.upper() for h in header[:-1]])}  {header[-1].upper()}")
    for row in rows:
        lines = textwrap.wrap(row[-1], room, break_long_words=False, break_on_hyphens=False)
        print(f"{lead(row[:-1])}  {lines[0] if lines else ''}".rstrip())
        for line in lines[1:]:
            print(" " * indent + line)


def _print_provider_sources(sources: dict[str, Any], now: datetime) -> None:
    """One line per provider source: the tier that served it, data age, models, and why."""
    rows = []
    for name, info in sorted(sources.items()):
        if not isinstance(info, dict):
            continue
        tier = str(info.get("servedBy", "?"))
        if info.get("reviewed"):
            tier = f"pinned (reviewed {info['reviewed']})"
        stamp = info.get("dataAsOf")
        age = _age(str(stamp), now).replace(" ago", " old") if stamp else "-"
        rows.append([name, tier, age, str(info.get("count", 0)), str(info.get("reason") or "")])
    _print_table(["source", "served by", "data", "models", "why"], rows, right={3})


def _pinned_problems(directory: Path) -> list[str]:
    """Every problem in the pinned provider manifests (``<overrides>/pinned/*.yaml``)."""
    from pipeline.sources.pinned import ManifestError, load

    problems = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            load(path.read_bytes(), str(path), path.stem)
        except ManifestError as exc:
            problems.append(str(exc))
    return problems


def _read_published(store: Store, key: str) -> Any:
    """A published JSON document as plain data, or None when the store has none."""
    from pipeline.publishing import jsonio

    blob = store.get(key)
    if blob is None:
        return None
    try:
        return jsonio.loads_plain(blob.data)
    except ValueError as exc:
        raise StoreError(f"{key} in {store.uri} is not valid JSON ({exc})") from exc


def _published_or_say(store: Store, key: str, missing: str) -> Any:
    """Like :func:`_read_published`, but when the store has no ``key`` it says so on stderr
    (``missing`` names what is absent) before returning None; the command then exits 1."""
    document = _read_published(store, key)
    if document is None:
        print(f"{missing} in {store.uri}: run `syncmodels all` first", file=sys.stderr)
    return document


def cmd_resolve(args: argparse.Namespace) -> int:
    import json

    from pipeline.resolve import CatalogIndex, ranks_from_curated, resolve

    config = load_config(args.config)
    store = _open(args, config)
    current = _published_or_say(store, keys.CURRENT, "no catalog")
    if current is None:
        return 1
    # Same-family fallback ranks by curated.json; without one, resolve.py's stand-in score.
    ranks = ranks_from_curated(_read_published(store, keys.CURATED))
    index = CatalogIndex(current, _read_published(store, keys.DEPRECATIONS), ranks)
    result = resolve(args.ref, index)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return EXIT_OK if result.model is not None else EXIT_UNKNOWN_MODEL
    if result.model is None:
        matches = _close_matches(args.ref, current)
        hint = f"; close matches: {', '.join(matches)}" if matches else ""
        print(
            f"error: {args.ref!r} does not resolve: no current id or alias, redirect, alias "
            f"history or removed model matches it in {store.uri}{hint}",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN_MODEL
    model = result.model
    state = model.get("lifecycle", {}).get("state", "?")
    print(f"{args.ref} → {model['id']} (alias {model.get('alias', '?')}, {state})")
    for number, hop in enumerate(result.hops, 1):
        detail = f"  ({hop.detail})" if hop.detail else ""
        print(f"  {number}. {hop.step:<16}{hop.ref} → {hop.to}{detail}")
    if result.notice is not None:
        print(f"notice {result.notice.id}: {result.notice.text}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    directory = Path(args.directory) if args.directory else resolve_dir(None, config.overrides_dir)
    problems = validate_directory(directory) + _pinned_problems(directory / "pinned")
    if not problems:
        problems += _core_problems(directory, args)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return EXIT_USAGE  # bad override files: the code a sync gives for them too
    names = sorted(p.name for p in directory.glob("*.json"))
    pinned = sorted(p.name for p in (directory / "pinned").glob("*.yaml"))
    print(
        f"{directory}: {len(names)} override file(s) valid ({', '.join(names) or 'none'}), "
        f"{len(pinned)} pinned manifest(s) valid ({', '.join(pinned) or 'none'})"
    )
    return 0


def _core_problems(directory: Path, args: argparse.Namespace) -> list[str]:
    """curated-core.json against a catalog: the store's (``--store``) or the embedded one.
    Entries to update are warnings on stderr; entries that cannot stand are errors."""
    from pipeline.overrides.files import CORE_FILE, load_file
    from pipeline.records.catalog import Deprecations
    from pipeline.stages import core

    path = directory / CORE_FILE
    if not path.exists():
        return []
    try:
        load_overrides(directory)  # the files must also agree with each other (aliases)
    except OverrideError as exc:
        return [str(exc)]
    loaded = load_file(path)
    entries = getattr(loaded, "models", {})
    deprecations = None
    if args.store:
        store = _open(args, load_config(args.config))
        catalog = _load_current(store)
        blob = store.get(keys.DEPRECATIONS)
        if blob is not None:
            deprecations = Deprecations.model_validate_json(blob.data)
        against = f"{store.uri} (run {catalog.run_id})"
    else:
        from pipeline.runs import fallback

        catalog = fallback.load_embedded()
        against = f"the embedded catalog of {catalog.data_as_of}"
    errors, warnings = core.check_against(entries, catalog.models, deprecations)
    for warning in warnings:
        print(f"warning: {warning} (checked against {against})", file=sys.stderr)
    return [f"{path}: {where}: {problem} (checked against {against})" for where, problem in errors]


def cmd_core(args: argparse.Namespace) -> int:
    """The curated core as a table (or JSON): what a product lists first."""
    import json

    config = load_config(args.config)
    store = _open(args, config)
    curated = _published_or_say(store, keys.CURATED, f"no {keys.CURATED}")
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


def cmd_schemas(args: argparse.Namespace) -> int:
    from pipeline import schemagen

    target = Path(__file__).parent / "schemas"
    stale = []
    for name in schemagen.all_names():
        path = target / f"{name}.schema.json"
        fresh = schemagen.render(name)
        if not path.exists() or path.read_bytes() != fresh:
            stale.append(name)
            if args.write:
                path.write_bytes(fresh)
    if args.write:
        print(f"wrote {len(stale)} schema(s): {', '.join(stale) or 'none changed'}")
        return 0
    if stale:
        print(
            f"schemas out of date: {', '.join(stale)} (run `catalog schemas --write`)",
            file=sys.stderr,
        )
        return 1
    print("schemas up to date")
    return 0


def cmd_build_fallback(args: argparse.Namespace) -> int:
    from pipeline.publishing.store import LocalStore
    from pipeline.runs import fallback
    from pipeline.runs.sync import SyncRequest, sync_openrouter

    config = load_config(args.config)
    # The embedded catalog is served as is when the feed is down: decide its flags with the
    # same override files as a live run, or it would contradict them.
    overrides = load_overrides(resolve_dir(None, config.overrides_dir))
    with tempfile.TemporaryDirectory() as scratch:
        store = LocalStore(Path(scratch))
        result = sync_openrouter(
            store,
            config,
            SyncRequest(
                now=_parse_now(args.now),
                from_file=Path(args.from_file),
                job="fallback",
                overrides=overrides,
            ),
        )
        if not result.published or result.catalog is None:
            print(f"error: {result.error}", file=sys.stderr)
            return 1
        path = fallback.write_embedded(result.catalog, Path(args.output) if args.output else None)
    print(f"wrote {path}: {result.catalog.count} models, data as of {result.catalog.generated_at}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.registry import service  # FastAPI and uvicorn load only for `serve`

    config = load_config(args.config)
    reader = config.extra.get("reader") or {}
    if not isinstance(reader, dict):
        raise ConfigError(f"config {args.config}: `reader` must be a mapping")

    def setting(cli: float | None, key: str, default: float) -> float:
        value = cli if cli is not None else reader.get(key, default)
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{key}: {value!r} is not a number") from exc
        if number < 0:
            raise UsageError(f"{key}: must not be negative (got {number})")
        return number

    service.serve(
        resolve_store_uri(args.store, config),
        host=args.host or str(reader.get("host", "127.0.0.1")),
        port=int(setting(args.port, "port", 8080)),
        refresh_seconds=setting(
            args.refresh_seconds, "refresh_seconds", service.DEFAULT_REFRESH_SECONDS
        ),
        max_age_seconds=setting(
            args.max_age_seconds, "max_age_seconds", service.DEFAULT_MAX_AGE_SECONDS
        ),
        config_path=args.config,
        # The token is read here and handed over; it is never logged or echoed.
        admin_token=redact.read_secret(service.ADMIN_TOKEN_ENV),
        store_options={
            "endpoint_url": config.s3_endpoint_url,
            "region": config.s3_region,
            "addressing_style": config.s3_addressing_style,
        },
        cors_origins=_cors_origins(args.cors_origins, reader.get("cors_origins", "*")),
    )
    return 0


def cmd_crosscheck(args: argparse.Namespace) -> int:
    """The published catalog against an independent catalog file; 0 unless unreadable."""
    from pydantic import ValidationError

    from pipeline.crosscheck import ReferenceError, render_text, run_crosscheck

    config = load_config(args.config)
    store = _open(args, config)
    try:
        result = run_crosscheck(store, args.reference)
    except ReferenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(f"error: {keys.CURRENT} in {store.uri} is unreadable: {exc}", file=sys.stderr)
        return 1
    if not result.sources:
        print(
            f"error: nothing published in {store.uri}: run `syncmodels all` first", file=sys.stderr
        )
        return 1
    if args.json:
        sys.stdout.write(jsonio.dumps(result.as_json()).decode("utf-8"))
        return 0
    print("\n".join(render_text(result)))
    return 0


def _register_crosscheck(sub: Any, common: Any) -> None:
    check = sub.add_parser(
        "crosscheck", help="compare the published catalog with models.dev or LiteLLM data"
    )
    check.add_argument("reference", metavar="REFERENCE_FILE", help="api.json or LiteLLM JSON")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    common(check)
    check.set_defaults(func=cmd_crosscheck)


def _cors_origins(cli: str | None, configured: Any) -> list[str]:
    """``--cors-origins`` (comma list), else the config's ``reader.cors_origins`` (a list or a
    comma list); ``*`` = any origin (the default), empty = no CORS."""
    value = cli if cli is not None else configured
    if isinstance(value, str):
        return [o.strip() for o in value.split(",") if o.strip()]
    if isinstance(value, list) and all(isinstance(o, str) for o in value):
        return [o.strip() for o in value if o.strip()]
    raise UsageError(f"cors_origins: {value!r} is not a list of origins")


def cmd_verify(args: argparse.Namespace) -> int:
    """`syncmodels verify`: probe models through an OpenAI-compatible chat endpoint (issue 17)."""
    import time
    from decimal import Decimal

    from pipeline.resolve import CatalogIndex, resolve
    from pipeline.telemetry import probes
    from pipeline.telemetry.events import CAPABILITIES, CatalogLookup
    from pipeline.telemetry.intake import Intake

    config = load_config(args.config)
    store = _open(args, config)
    current = _published_or_say(store, keys.CURRENT, "no catalog")
    if current is None:
        return 1
    catalog = CurrentCatalog.model_validate(current)
    by_id = {m.id: m for m in catalog.models}
    index = CatalogIndex(current, _read_published(store, keys.DEPRECATIONS), {})
    refs = args.models or [
        m["id"] for m in (_read_published(store, keys.CURATED) or {}).get("models", [])
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
    kept = intake.submit([r.event(now) for r in results])
    intake.flush()
    for r in results:
        print(f"{r.model:<44}{r.capability:<18}{r.outcome:<18}{r.latency_ms:>8.0f} ms  {r.detail}")
    print(f"{kept.accepted} outcome(s) recorded as telemetry (consumer `probe`) in {store.uri}")
    return 0 if all(r.outcome == "ok" for r in results) else 1


def cmd_telemetry(args: argparse.Namespace) -> int:
    """`catalog telemetry`: what the intake received, per consumer and model, and rejections."""
    import json
    import time

    from pipeline.telemetry.rollup import INTAKE, iter_recent

    config = load_config(args.config)
    store = _open(args, config)
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
    from pipeline.telemetry.events import OUTCOMES

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
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalog", description="Keep the LLM model catalog fresh and publish it."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--store",
            help="store URI (directory, file://… or s3://bucket/prefix); "
            "default $CATALOG_STORE or ./catalog-data",
        )
        p.add_argument("--config", help="catalog.yaml (default $CATALOG_CONFIG)")
        p.add_argument("-v", "--verbose", action="store_true", help="debug logs")

    sync = sub.add_parser("sync", help="fetch, normalize and publish the catalog")
    sync.add_argument(
        "target",
        choices=None,
        metavar="TARGET",
        help=f"{' | '.join(TARGETS)} | a provider source (openai, ...)",
    )
    common(sync)
    sync.add_argument("--now", help="the run's clock, ISO-8601 (replays and tests)")
    sync.add_argument("--from-file", help="use a recorded payload instead of the network")
    sync.add_argument(
        "--force",
        action="store_true",
        help="publish despite the publish guard, or a --now older than the published set",
    )
    sync.add_argument(
        "--overrides",
        help="override files directory (default $CATALOG_OVERRIDES or the repository's overrides/)",
    )
    sync.add_argument(
        "--explain",
        metavar="MODEL_ID",
        help="after the run, print each capability flag of this model (id or alias) with its "
        "value, deciding layer and evidence",
    )
    sync.add_argument("-q", "--quiet", action="store_true", help="no per-stage progress")
    sync.add_argument(
        "--offline-ok",
        action="store_true",
        help="exit 0 when OpenRouter is unreachable and the published catalog was kept "
        "(interactive use and `make sync`; schedulers leave it off so the failure shows)",
    )
    sync.add_argument(
        "--list",
        action="store_true",
        help="with `providers`: show each source, enabled, TTL and why it is skipped",
    )
    sync.add_argument(
        "--refresh", action="store_true", help="provider sources: ignore fresh caches"
    )
    sync.add_argument(
        "--wait", action="store_true", help="wait for the run lease instead of exiting (code 3)"
    )
    sync.set_defaults(func=cmd_sync)

    schedule = sub.add_parser("schedule", help="run the cron table in the foreground")
    common(schedule)
    schedule.add_argument(
        "--list", action="store_true", help="print every job with its trigger and next run"
    )
    schedule.set_defaults(func=cmd_schedule)

    status = sub.add_parser("status", help="show the last outcome of each job")
    common(status)
    status.add_argument("--json", action="store_true", help="print status.json as is")
    status.add_argument("--now", help=argparse.SUPPRESS)
    status.set_defaults(func=cmd_status)

    resolve = sub.add_parser(
        "resolve",
        help="resolve a model id or alias the way downstream callers do",
        description="Follow a model reference (id, alias, old id or old alias) through "
        "redirects, alias history, same-family fallback and auto; print the model, every "
        "hop taken and the notice to show the caller once.",
    )
    resolve.add_argument("ref", metavar="REF", help="model id or alias")
    common(resolve)
    resolve.add_argument("--json", action="store_true", help="print the resolution as JSON")
    resolve.set_defaults(func=cmd_resolve)

    serve = sub.add_parser("serve", help="serve the published catalog over HTTP (the reader)")
    common(serve)
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")
    serve.add_argument(
        "--refresh-seconds",
        type=float,
        help="poll the store for a new set every N seconds (default 30; 0 = never)",
    )
    serve.add_argument(
        "--max-age-seconds",
        type=float,
        help="/readyz fails when the catalog is older than this (default 86400)",
    )
    serve.add_argument(
        "--cors-origins",
        help="origins whose pages may read the catalog, comma-separated (default *: any; "
        "'' = none); admin routes never answer CORS",
    )
    serve.set_defaults(func=cmd_serve)

    validate = sub.add_parser("validate", help="validate the override files")
    validate.add_argument("directory", nargs="?", help="default: the overrides directory in use")
    validate.add_argument("--config")
    validate.add_argument(
        "--store",
        help="check curated-core.json against this store's catalog (default: the embedded one)",
    )
    validate.add_argument("-v", "--verbose", action="store_true")
    validate.set_defaults(func=cmd_validate)

    schemas = sub.add_parser("schemas", help="check (or --write) the committed JSON Schemas")
    schemas.add_argument("--write", action="store_true")
    schemas.add_argument("-v", "--verbose", action="store_true")
    schemas.set_defaults(func=cmd_schemas, config=None)

    cost = sub.add_parser("cost", help="USD cost of a request from the published prices")
    cost.add_argument("model", help="model id or alias")
    cost.add_argument("--input", type=int, required=True, help="prompt tokens (cached included)")
    cost.add_argument("--output", type=int, required=True, help="completion tokens")
    cost.add_argument("--cached", type=int, default=0, help="prompt tokens read from the cache")
    cost.add_argument("--at", help="request time, HH:MM UTC (time-of-day prices)")
    cost.add_argument("--on", help="price on this date (YYYY-MM-DD), from the published history")
    cost.add_argument("--json", action="store_true", help="machine-readable output")
    common(cost)
    cost.set_defaults(func=cmd_cost)

    export = sub.add_parser(
        "export-registry", help="write the per-family YAML registry from current.json"
    )
    common(export)
    export.add_argument("--output", help="write to this directory instead of the store")
    export.set_defaults(func=cmd_export_registry)

    # Read-only views of the published store and the history (pipeline/cli_views.py).
    cli_views.register(sub, common, lambda a: _open(a, load_config(a.config)), cmd_history_rebuild)

    core = sub.add_parser("core", help="the curated core: specialty, concise alias, summary")
    core.add_argument("--specialty", help="only this specialty (coding, chat, ...)")
    core.add_argument("--json", action="store_true", help="machine-readable output")
    common(core)
    core.set_defaults(func=cmd_core)

    verify = sub.add_parser(
        "verify", help="probe models' claimed capabilities (also: syncmodels verify)"
    )
    verify.add_argument(
        "models", nargs="*", metavar="MODEL", help="ids or aliases (default: curated)"
    )
    verify.add_argument(
        "--capability", action="append", help="only these (repeat or comma-separate)"
    )
    verify.add_argument(
        "--budget-usd", type=float, default=0.05, help="refuse when the estimate exceeds it"
    )
    verify.add_argument(
        "--base-url", default="https://openrouter.ai/api/v1", help="OpenAI-compatible API base"
    )
    verify.add_argument("--timeout", type=float, default=60.0, help="seconds per probe")
    common(verify)
    verify.set_defaults(func=cmd_verify)

    telemetry = sub.add_parser("telemetry", help="what the telemetry intake received")
    telemetry.add_argument("--hours", type=int, default=24, help="how far back (default 24)")
    telemetry.add_argument("--json", action="store_true", help="machine-readable output")
    common(telemetry)
    telemetry.set_defaults(func=cmd_telemetry)

    build = sub.add_parser("build-fallback", help="rebuild the embedded offline catalog")
    build.add_argument("--from-file", required=True, help="recorded OpenRouter payload")
    build.add_argument("--now", help="date of the payload's data (ISO-8601)")
    build.add_argument("--output", help=argparse.SUPPRESS)
    build.add_argument("--config")
    build.add_argument("-v", "--verbose", action="store_true")
    build.set_defaults(func=cmd_build_fallback)
    _register_crosscheck(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Before anything can print: every byte on stdout/stderr (logs included) is scrubbed of
    # the keys in the environment (docs/hardening.md).
    redact.remember_env(())
    redact.guard_std_streams()
    formatters.configure(verbose=getattr(args, "verbose", False))
    try:
        code: int = args.func(args)
    except (UsageError, UnknownJob, OlderThanPublished) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UnknownModel as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN_MODEL
    except NoPrice as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OverrideError as exc:
        print(f"error: overrides: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: store: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # a path the user gave (--output, a directory argument, ...)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except redact.SecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


def syncmodels_main(argv: Sequence[str] | None = None) -> int:
    """``syncmodels X …`` ≡ ``catalog sync X …``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(
            "usage: syncmodels TARGET [options]   (same as: catalog sync TARGET)\n"
            f"targets: {', '.join(TARGETS)}; options: see `catalog sync --help`"
        )
        return 0 if args else 2
    if args[0] == "verify":  # a probe run, not a sync target
        return main(args)
    return main(["sync", *args])


if __name__ == "__main__":
    sys.exit(main())
