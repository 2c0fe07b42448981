"""Command line: ``catalog`` (sync, status, schedule, schemas, build-fallback) and ``syncmodels``.

``syncmodels X`` is ``catalog sync X``, so ``syncmodels all`` works as operators type it.
Every sync target runs a job of ``pipeline.jobs`` through ``run_job`` (lease, publish, status).
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

from pipeline import __version__, keys, logs
from pipeline.config import CatalogConfig, ConfigError, load_config, resolve_store_uri
from pipeline.jobs import UnknownJob
from pipeline.overrides import OverrideError, load_overrides, resolve_dir, validate_directory
from pipeline.store import Store, StoreError, open_store
from pipeline.timeutil import parse_iso, utcnow

# `syncmodels TARGET` → job of pipeline.jobs.JOBS. `curated` (issue 5) and `providers` /
# `<source>` (issue 6) are added with their jobs at merge.
SYNC_TARGETS: dict[str, str] = {
    "all": "full_refresh",
    "openrouter": "openrouter",
    "sweep": "deprecation_sweep",
}


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
    from pipeline.jobs import run_job, stop_on_sigterm

    job = SYNC_TARGETS.get(args.target)
    if job is None:
        raise UsageError(
            f"unknown sync target {args.target!r}; choose one of: {', '.join(SYNC_TARGETS)}"
        )
    config = load_config(args.config)
    overrides = load_overrides(resolve_dir(args.overrides, config.overrides_dir))
    store = _open(args, config)
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
            progress=_progress_printer() if interactive else None,  # type: ignore[arg-type]
        )
    if result.exit_code == 0:
        print(result.summary)
    else:
        print(f"error: {result.error}", file=sys.stderr)
    return result.exit_code


def cmd_schedule(args: argparse.Namespace) -> int:
    from pipeline.jobs import JOBS, run_job
    from pipeline.schedule import describe, load_schedule, schedule_settings, serve

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
    from pipeline.publish import read_status
    from pipeline.schedule import load_schedule, stale_reason

    config = load_config(args.config)
    store = _open(args, config)
    blob = store.get(keys.STATUS)
    if blob is None:
        print(f"no status yet in {store.uri}: run `syncmodels all` first", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(blob.data.decode("utf-8"))
        return 0
    status = read_status(store)
    if status is None:
        print(f"{keys.STATUS} in {store.uri} is unreadable", file=sys.stderr)
        return 1
    now = _parse_now(args.now)
    crons = {j.name: j.cron for j in load_schedule(config) if j.enabled}
    written = status.generated_at
    print(f"store {store.uri}, status written {written} ({_age(written, now)})")
    header = (
        f"{'job':<19}{'outcome':<10}{'last run':<22}{'age':<10}{'last success':<14}"
        f"{'models':>7}  detail"
    )
    print(header)
    for job in sorted(set(status.jobs) | set(crons)):
        entry = status.jobs.get(job)
        flagged, why = (
            stale_reason(entry.last_success if entry else None, crons[job], now)
            if job in crons
            else (False, None)
        )
        mark = "! " if flagged else ""
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
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    directory = Path(args.directory) if args.directory else resolve_dir(None, config.overrides_dir)
    problems = validate_directory(directory)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    names = sorted(p.name for p in directory.glob("*.json"))
    print(f"{directory}: {len(names)} override file(s) valid ({', '.join(names) or 'none'})")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from pipeline import schemas

    target = Path(__file__).parent / "schemas"
    stale = []
    for name in schemas.all_names():
        path = target / f"{name}.schema.json"
        fresh = schemas.render(name)
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
    from pipeline import fallback
    from pipeline.store import LocalStore
    from pipeline.sync import SyncRequest, sync_openrouter

    config = load_config(args.config)
    with tempfile.TemporaryDirectory() as scratch:
        store = LocalStore(Path(scratch))
        result = sync_openrouter(
            store,
            config,
            SyncRequest(now=_parse_now(args.now), from_file=Path(args.from_file), job="fallback"),
        )
        if not result.published or result.catalog is None:
            print(f"error: {result.error}", file=sys.stderr)
            return 1
        path = fallback.write_embedded(result.catalog, Path(args.output) if args.output else None)
    print(f"wrote {path}: {result.catalog.count} models, data as of {result.catalog.generated_at}")
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
    sync.add_argument("target", choices=None, metavar="TARGET", help=" | ".join(SYNC_TARGETS))
    common(sync)
    sync.add_argument("--now", help="the run's clock, ISO-8601 (replays and tests)")
    sync.add_argument("--from-file", help="use a recorded payload instead of the network")
    sync.add_argument("--force", action="store_true", help="publish despite the publish guard")
    sync.add_argument(
        "--overrides",
        help="override files directory (default $CATALOG_OVERRIDES or the repository's overrides/)",
    )
    sync.add_argument("-q", "--quiet", action="store_true", help="no per-stage progress")
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

    validate = sub.add_parser("validate", help="validate the override files")
    validate.add_argument("directory", nargs="?", help="default: the overrides directory in use")
    validate.add_argument("--config")
    validate.add_argument("-v", "--verbose", action="store_true")
    validate.set_defaults(func=cmd_validate)

    schemas = sub.add_parser("schemas", help="check (or --write) the committed JSON Schemas")
    schemas.add_argument("--write", action="store_true")
    schemas.add_argument("-v", "--verbose", action="store_true")
    schemas.set_defaults(func=cmd_schemas, config=None)

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
            f"targets: {', '.join(SYNC_TARGETS)}; options: see `catalog sync --help`"
        )
        return 0 if args else 2
    return main(["sync", *args])


if __name__ == "__main__":
    sys.exit(main())
