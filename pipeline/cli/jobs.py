"""The job commands: run a job (``sync``, ``history rebuild``, ``schedule``), rebuild the
embedded catalog (``build-fallback``) and show how the jobs did (``status``).

Every sync target runs a job of ``pipeline.runs.jobs`` through ``run_job`` (lease, publish,
status). The last line of every sync is a one-line summary on stdout; errors are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.cli.common import (
    EXIT_OK,
    EXIT_UNKNOWN_MODEL,
    UnknownModel,
    UsageError,
    close_matches,
    config_file,
    parse_now,
    read_published,
    store_for,
)
from pipeline.timeutil import data_age, iso, parse_iso, utcnow

if TYPE_CHECKING:
    from pipeline.config import CatalogConfig
    from pipeline.publishing.store import Store
    from pipeline.records.catalog import CurrentCatalog


def _progress_printer() -> object:
    def show(stage: str, ms: float, detail: str) -> None:
        print(f"  {stage:<13}{ms:8.1f} ms  {detail}", file=sys.stderr, flush=True)

    return show


def cmd_sync(args: argparse.Namespace) -> int:
    from pipeline.config import curation_config, load_config
    from pipeline.overrides.files import load_overrides, resolve_dir
    from pipeline.runs.jobs import UnknownJob, job_for, run_job, stop_on_sigterm
    from pipeline.sources.config import load_providers_config

    config = load_config(args.config)
    try:
        job, only = job_for(args.target, load_providers_config(config).sources)
    except UnknownJob as exc:
        raise UsageError(str(exc)) from exc
    curation_config(config)  # a bad `curation:` section is a usage error before any work
    overrides = load_overrides(resolve_dir(args.overrides, config.overrides_dir))
    store = store_for(args, config)
    if args.list:
        if args.target != "providers":
            raise UsageError("--list goes with `sync providers`")
        return _list_providers(store, config, parse_now(args.now))
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
            now=parse_now(args.now) if args.now else None,
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
    from pipeline.publishing import keys
    from pipeline.records.catalog import CurrentCatalog

    if catalog is None:
        blob = store.get(keys.CURRENT)
        if blob is None:
            print(f"error: --explain: no catalog in {store.uri} to explain from", file=sys.stderr)
            return False
        catalog = CurrentCatalog.model_validate_json(blob.data)
        report = read_published(store, keys.run_report(catalog.run_id))
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

    record = next(
        (m for m in catalog.models if model_ref in (m.id, m.alias, *(m.aliases or ()))), None
    )
    if record is None:
        problem = UnknownModel(
            model_ref, "the published catalog", close_matches(model_ref, catalog)
        )
        print(f"error: --explain: {problem}", file=sys.stderr)
        return False
    for line in explain(record, details.get("conflicts", [])):
        print(line)
    return True


def cmd_history_rebuild(args: argparse.Namespace) -> int:
    """`catalog history rebuild [--from-dir DIR]`: the history_rebuild job, under the lease."""
    from pipeline.config import load_config
    from pipeline.overrides.files import load_overrides, resolve_dir
    from pipeline.runs.jobs import run_job, stop_on_sigterm

    if not args.verbose:  # `history REF` is a view, logging warnings only; a rebuild is a job
        logging.getLogger().setLevel(logging.INFO)
    config = load_config(args.config)
    overrides = load_overrides(resolve_dir(args.overrides, config.overrides_dir))
    store = store_for(args, config)
    source = Path(args.from_dir) if args.from_dir else None
    if source is not None and not source.is_dir():
        raise UsageError(f"--from-dir {args.from_dir}: not a directory")
    with stop_on_sigterm():
        result = run_job(
            "history_rebuild",
            store,
            config,
            now=parse_now(args.now) if args.now else None,
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


def cmd_schedule(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.overrides.files import load_overrides, resolve_dir
    from pipeline.runs.jobs import JOBS, run_job
    from pipeline.runs.schedule import describe, load_schedule, schedule_settings, serve

    config = load_config(args.config)
    jobs = load_schedule(config)
    if args.list:
        for line in describe(jobs, set(JOBS), utcnow()):
            print(line)
        return 0
    store = store_for(args, config)
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


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.publishing import keys
    from pipeline.runs import crontab
    from pipeline.runs.job_names import STATUS_KEYS
    from pipeline.runs.status_view import read_status

    # Without a config file nothing is built: the store, the schedule and status.json are
    # read without pydantic or APScheduler (issue 29: `catalog status` in < 250 ms).
    config = config_file(args)
    store = store_for(args, config)
    blob = store.get(keys.STATUS)
    if blob is None:
        print(
            f"error: {store.uri} has no {keys.STATUS}: nothing published yet "
            "(run `syncmodels all` against this store)",
            file=sys.stderr,
        )
        return 1
    status = read_status(blob.data)
    if status is None:
        print(f"{keys.STATUS} in {store.uri} is unreadable", file=sys.stderr)
        return 1
    now = parse_now(args.now)
    schedule = crontab.plain_schedule(config.extra if config is not None else {})
    if schedule is None:  # a `schedule:` section, or a table to check: the full reading
        from pipeline.config import load_config
        from pipeline.runs.schedule import load_schedule

        schedule = load_schedule(config or load_config(None))
    # Status entries are keyed by each job's status name (`curated` for curated_refresh);
    # a job of the table this build does not run is not expected to succeed.
    crons = {STATUS_KEYS[j.name]: j.cron for j in schedule if j.enabled and j.name in STATUS_KEYS}
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
        flagged, why = crontab.stale_reason(success or store_since, cron, now)
        if flagged:
            overdue[job] = (why or "overdue") if success else "never succeeded"
    if args.json:
        # status.json as published, plus `overdue`: the jobs whose last success is older than
        # twice their period, computed now (it is not stored: it depends on the reader's clock).
        from pipeline.publishing import jsonio

        document = jsonio.loads(blob.data)
        document["overdue"] = overdue
        sys.stdout.write(jsonio.dumps(document).decode("utf-8"))
        return 0
    # status.json is stamped with the clock of the run that last wrote it: its start.
    print(
        f"store {store.uri}, last run started {status.generated_at} "
        f"({_age(status.generated_at, now)})"
    )
    rows: list[list[str]] = []
    for job in sorted(set(status.jobs) | set(crons)):
        entry = status.jobs.get(job)
        why = overdue.get(job)
        name = ("! " if why else "") + job
        notes = [f"STALE: {why}"] if why else []
        if (
            job == "curated"
            and curated_by is not None
            and (entry is None or parse_iso(entry.last_start) < parse_iso(curated_by[1]))
        ):
            # A sync's curation newer than the curated job's own run is the last curated run:
            # its time is both the last run and the last success.
            rows.append(_curated_by_sync_row(store, name, notes, curated_by, now, ran=bool(entry)))
            continue
        if entry is None:
            rows.append([name, "-", "never", "never", "-", "", *(notes or ["not run yet"])])
            continue
        # The error says what went wrong; the first warning only when there is none (the
        # embedded-catalog warning repeats the error in other words).
        if entry.error:
            notes.append(entry.error)
        else:
            notes.extend([w for w in entry.warnings if not w.startswith("laws:")][:1])
        broken = entry.counts.get("lawViolations")
        if broken:
            notes.append(f"{broken} law violation(s): run `catalog check`")
        models = entry.counts.get("served", entry.counts.get("published", ""))
        data = _age(entry.data_as_of, now).replace(" ago", " old") if entry.data_as_of else "-"
        rows.append(
            [
                name,
                entry.outcome,
                _age(entry.last_start, now),  # as last success is: the run's start
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


def _curated_by_sync_row(
    store: Store,
    name: str,
    notes: list[str],
    curated_by: tuple[str, str],
    now: datetime,
    *,
    ran: bool,
) -> list[str]:
    """The `curated` row when an OpenRouter sync published curated.json after the curated
    job's own last run (or before it ever ran)."""
    from pipeline.publishing import keys

    who, when = curated_by
    curated = read_published(store, keys.CURATED)
    as_of = curated.get("dataAsOf") if isinstance(curated, dict) else None
    data = _age(str(as_of), now).replace(" ago", " old") if as_of else "-"
    # As the curated job counts them: the models of the shortlist.
    listed = curated.get("models") if isinstance(curated, dict) else None
    models = str(len(listed)) if isinstance(listed, list) else ""
    detail = f"curated.json published by {who}"
    if not ran:
        detail += "; the curated job itself has not run yet"
    return [name, "ok", _age(when, now), _age(when, now), data, models, "; ".join([*notes, detail])]


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


def _curated_writer(store: Store, jobs: dict[str, Any]) -> tuple[str, str] | None:
    """(who, when) wrote the published curated.json, from the manifest, when it is not the
    curated job itself: every OpenRouter sync publishes curated.json too."""
    from pipeline.publishing import keys
    from pipeline.publishing.store import StoreError

    try:
        manifest = read_published(store, keys.MANIFEST)
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


def cmd_build_fallback(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.overrides.files import load_overrides, resolve_dir
    from pipeline.runs import fallback
    from pipeline.runs.build_fallback import BuildError, build

    config = load_config(args.config)
    # The embedded catalog is served as is when the feed is down: decide its flags with the
    # same override files as a live run, or it would contradict them.
    overrides = load_overrides(resolve_dir(None, config.overrides_dir))
    source = Path(args.from_file)
    history_from = Path(args.history_from) if args.history_from else source.parent
    if not source.is_file():
        raise UsageError(f"--from-file {args.from_file}: no such file")
    if not history_from.is_dir():
        raise UsageError(f"--history-from {history_from}: not a directory")
    try:
        built = build(
            source,
            history_from=history_from,
            now=parse_now(args.now) if args.now else None,
            config=config,
            overrides=overrides,
        )
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    catalog, history = built.catalog, built.history
    path = fallback.write_embedded(catalog, Path(args.output) if args.output else None)
    folder = fallback.write_embedded_history(
        history, Path(args.history_output) if args.history_output else None
    )
    print(f"wrote {path}: {catalog.count} models, data as of {catalog.generated_at}")
    size = len(history.index_bytes) + sum(len(d) for d in history.segments.values())
    span = (
        f"from {history.index.segments[0].first_at} to {history.index.segments[-1].last_at}"
        if history.index.segments
        else "none"
    )
    print(
        f"wrote {folder}: history of {len(built.replayed)} payloads, "
        f"{history.index.events} events {span}, {size:,} bytes"
    )
    return 0
