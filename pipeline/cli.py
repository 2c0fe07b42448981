"""Command line: ``catalog`` (sync, status, schedule, serve, resolve, cost, export-registry,
schemas, build-fallback, validate) and ``syncmodels``.

``syncmodels X`` is ``catalog sync X``, so ``syncmodels all`` works as operators type it.
Every sync target runs a job of ``pipeline.runs.jobs`` through ``run_job`` (lease, publish, status).
Exit codes: 0 published (or the command succeeded), 1 nothing published / failed, 2 usage or
configuration error, 3 another run holds the lease. The last line of every sync is a one-line
summary on stdout; errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline import __version__, logs, redact
from pipeline.config import (
    CatalogConfig,
    ConfigError,
    curation_config,
    load_config,
    resolve_store_uri,
)
from pipeline.overrides import (
    OverrideError,
    load_overrides,
    resolve_dir,
    validate_directory,
)
from pipeline.publishing import jsonio, keys
from pipeline.publishing.store import Store, StoreError, open_store
from pipeline.records import CurrentCatalog
from pipeline.runs.jobs import TARGETS, UnknownJob
from pipeline.timeutil import parse_iso, utcnow


# `syncmodels TARGET` → job of pipeline.runs.jobs.JOBS; any other target naming a provider source
# (`syncmodels openai`) runs provider_refresh for just that source.
class UsageError(Exception):
    """Bad arguments; exit 2."""


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
    from pipeline.provider_config import load_providers_config
    from pipeline.runs.jobs import UnknownJob, job_for, run_job, stop_on_sigterm

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
    if args.explain and result.catalog is not None:
        explained = _explain(result.catalog, result.details, args.explain)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.error and result.exit_code != 0:
        print(f"error: {result.error}", file=sys.stderr)
    # One summary line on stdout: for `all`, OpenRouter's then the providers' (the providers'
    # alone when OpenRouter published nothing).
    shown = result.exit_code == 0 or result.published or job in ("full_refresh", "provider_refresh")
    if shown and result.outcome != "locked" and result.summary != result.error:
        print(result.summary)
    return result.exit_code if explained else 2


def _list_providers(store: Store, config: CatalogConfig, now: datetime) -> int:
    from pipeline.runs.providers import plan

    print(f"{'source':<20}{'type':<19}{'enabled':<9}{'ttl':>7}  state")
    for row in plan(store, config, now):
        enabled = "yes" if row.enabled else "no"
        print(f"{row.source:<20}{row.type_name:<19}{enabled:<9}{row.ttl_seconds:>6}s  {row.state}")
    return 0


def _explain(catalog: CurrentCatalog, details: dict[str, Any], model_ref: str) -> bool:
    """Print how each flag of one model (id or alias) was decided; False if it is unknown."""
    from pipeline.stages.capabilities import explain

    record = next((m for m in catalog.models if model_ref in (m.id, m.alias)), None)
    if record is None:
        print(f"error: --explain: {model_ref!r} is not in the published catalog", file=sys.stderr)
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
    catalog = _load_current(store)
    current = jsonio.loads_plain(jsonio.dump_model(catalog))
    found = resolve(args.model, CatalogIndex(current))
    if found.model_id is None or not found.exact:
        raise UsageError(f"no model {args.model!r} (id or alias) in {store.uri}")
    record = next(m for m in catalog.models if m.id == found.model_id)
    try:
        at = parse_at(args.at) if args.at else None
    except ValueError as exc:
        raise UsageError(f"--at {args.at!r} is not HH:MM (UTC) or an ISO-8601 time") from exc
    try:
        estimate = estimate_cost(
            record.pricing,
            input_tokens=args.input,
            output_tokens=args.output,
            cached_tokens=args.cached,
            at=at,
            model_id=record.id,
        )
    except CostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        document = {
            "model": record.id,
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
    print(f"{record.id}: ${estimate.usd:.6f} (prices: {estimate.rule})")
    for line in estimate.lines:
        print(f"  {line.what:<13}{line.tokens:>12,} × ${line.usd_per_million}/1M = ${line.usd:.6f}")
    for note in estimate.notes:
        print(f"  note: {note}")
    return 0


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
    overdue: dict[str, str] = {}
    for job, cron in crons.items():
        entry = status.jobs.get(job)
        flagged, why = stale_reason(entry.last_success if entry else None, cron, now)
        if flagged:
            overdue[job] = why or "overdue"
    if args.json:
        # status.json as published, plus `overdue`: the jobs whose last success is older than
        # twice their period, computed now (it is not stored: it depends on the reader's clock).
        document = jsonio.loads(blob.data)
        document["overdue"] = overdue
        sys.stdout.write(jsonio.dumps(document).decode("utf-8"))
        return 0
    written = status.generated_at
    print(f"store {store.uri}, status written {written} ({_age(written, now)})")
    header = (
        f"{'job':<19}{'outcome':<10}{'last run':<22}{'age':<10}{'last success':<14}"
        f"{'models':>7}  detail"
    )
    print(header)
    for job in sorted(set(status.jobs) | set(crons)):
        entry = status.jobs.get(job)
        why = overdue.get(job)
        mark = "! " if why else ""
        if entry is None:
            print(f"{mark + job:<19}{'-':<10}{'never':<22}{'':<10}{'never':<14}{'':>7}  {why}")
            continue
        detail = entry.error or ", ".join(entry.warnings[:1]) or ""
        if why:
            detail = f"STALE: {why}" + (f"; {detail}" if detail else "")
        models = entry.counts.get("published", "")
        print(
            f"{mark + job:<19}{entry.outcome:<10}{entry.last_end:<22}"
            f"{_age(entry.last_end, now):<10}{_age(entry.last_success, now):<14}"
            f"{models!s:>7}  {detail[:160]}"
        )
        if job == "providers":
            _print_provider_sources(entry.sources, now)
    return 0


def _print_provider_sources(sources: dict[str, Any], now: datetime) -> None:
    """One line per provider source: the tier that served it, data age, and why."""
    for name, info in sorted(sources.items()):
        if not isinstance(info, dict):
            continue
        tier = str(info.get("servedBy", "?"))
        age = _age(info.get("dataAsOf"), now) if info.get("dataAsOf") else "-"
        why = str(info.get("reason") or "")
        print(f"  {name:<16}{tier:<10}{age:<12}{info.get('count', 0)!s:>6}  {why[:110]}")


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


def cmd_resolve(args: argparse.Namespace) -> int:
    import json

    from pipeline.resolve import CatalogIndex, ranks_from_curated, resolve

    config = load_config(args.config)
    store = _open(args, config)
    current = _read_published(store, keys.CURRENT)
    if current is None:
        print(f"no catalog in {store.uri}: run `syncmodels all` first", file=sys.stderr)
        return 1
    # Same-family fallback ranks by curated.json; without one, resolve.py's stand-in score.
    ranks = ranks_from_curated(_read_published(store, keys.CURATED))
    index = CatalogIndex(current, _read_published(store, keys.DEPRECATIONS), ranks)
    result = resolve(args.ref, index)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0 if result.model is not None else 1
    if result.model is None:
        print(
            f"error: {args.ref!r} does not resolve: no current id or alias, redirect, alias "
            f"history or removed model matches it in {store.uri}",
            file=sys.stderr,
        )
        return 1
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
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    names = sorted(p.name for p in directory.glob("*.json"))
    pinned = sorted(p.name for p in (directory / "pinned").glob("*.yaml"))
    print(
        f"{directory}: {len(names)} override file(s) valid ({', '.join(names) or 'none'}), "
        f"{len(pinned)} pinned manifest(s) valid ({', '.join(pinned) or 'none'})"
    )
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
    )
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
    sync.add_argument("--force", action="store_true", help="publish despite the publish guard")
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
    serve.set_defaults(func=cmd_serve)

    validate = sub.add_parser("validate", help="validate the override files")
    validate.add_argument("directory", nargs="?", help="default: the overrides directory in use")
    validate.add_argument("--config")
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
    cost.add_argument("--json", action="store_true", help="machine-readable output")
    common(cost)
    cost.set_defaults(func=cmd_cost)

    export = sub.add_parser(
        "export-registry", help="write the per-family YAML registry from current.json"
    )
    common(export)
    export.add_argument("--output", help="write to this directory instead of the store")
    export.set_defaults(func=cmd_export_registry)

    build = sub.add_parser("build-fallback", help="rebuild the embedded offline catalog")
    build.add_argument("--from-file", required=True, help="recorded OpenRouter payload")
    build.add_argument("--now", help="date of the payload's data (ISO-8601)")
    build.add_argument("--output", help=argparse.SUPPRESS)
    build.add_argument("--config")
    build.add_argument("-v", "--verbose", action="store_true")
    build.set_defaults(func=cmd_build_fallback)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Before anything can print: every byte on stdout/stderr (logs included) is scrubbed of
    # the keys in the environment (docs/hardening.md).
    redact.remember_env(())
    redact.guard_std_streams()
    logs.configure(verbose=getattr(args, "verbose", False))
    try:
        code: int = args.func(args)
    except (UsageError, UnknownJob) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OverrideError as exc:
        print(f"error: overrides: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: store: {exc}", file=sys.stderr)
        return 1
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
    return main(["sync", *args])


if __name__ == "__main__":
    sys.exit(main())
