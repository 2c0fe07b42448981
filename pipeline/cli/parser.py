"""The ``catalog`` argument parser: every subcommand, its options and the function that runs
it (``args.func``).

Building the parser imports only argparse: each command's module is imported when the
command runs (``_command``) and imports its heavy dependencies inside the command, so
``catalog --version`` and ``catalog --help`` load nothing they do not print.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from pipeline import __version__


def _command(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """Command ``name`` of ``pipeline.cli.<module>``, imported when it runs: building the parser
    (all ``--help`` and ``--version`` need) imports none of the command modules."""

    def run(args: argparse.Namespace) -> int:
        from importlib import import_module

        command: Callable[[argparse.Namespace], int] = getattr(
            import_module(f"pipeline.cli.{module}"), name
        )
        return command(args)

    run.__name__ = run.__qualname__ = name
    return run


class _SyncTarget(argparse.Action):
    """``sync TARGET``, stored as given. Its help lists the job targets of pipeline.runs.jobs,
    read when the help is printed: importing that module to build the parser would load the
    whole job machinery for every command, ``catalog --version`` included."""

    @property
    def help(self) -> str:
        from pipeline.runs.jobs import TARGETS

        return f"{' | '.join(TARGETS)} | a provider source (openai, ...)"

    @help.setter
    def help(self, value: object) -> None:
        """argparse.Action sets the help it was given (none): this one is computed."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)


def _tokens(value: str) -> int:
    """A token count: a whole number, 0 or more (else a usage error, exit 2)."""
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a token count (a whole number >= 0)")
    return count


def _store_options(p: argparse.ArgumentParser) -> None:
    """--store, --config and -v: the options of every command that reads or writes a store."""
    p.add_argument(
        "--store",
        help="store URI (directory, file://… or s3://bucket/prefix); "
        "default $CATALOG_STORE or ./catalog-data",
    )
    p.add_argument("--config", help="catalog.yaml (default $CATALOG_CONFIG)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logs")


def _output_options(p: argparse.ArgumentParser) -> None:
    """The views' output mode (a table on a terminal, JSON in a pipe) and the store options."""
    p.add_argument("--json", action="store_true", help="JSON output (the default when piped)")
    p.add_argument("--table", action="store_true", help="a table even when piped")
    _view_options(p)


def _view_options(p: argparse.ArgumentParser) -> None:
    """The store options of a read-only view, which logs only warnings unless -v."""
    _store_options(p)
    p.set_defaults(quiet_logs=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalog", description="Keep the LLM model catalog fresh and publish it."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="fetch, normalize and publish the catalog")
    sync.add_argument("target", action=_SyncTarget, metavar="TARGET")
    _store_options(sync)
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
    sync.set_defaults(func=_command("jobs", "cmd_sync"))

    schedule = sub.add_parser("schedule", help="run the cron table in the foreground")
    _store_options(schedule)
    schedule.add_argument(
        "--list", action="store_true", help="print every job with its trigger and next run"
    )
    schedule.set_defaults(func=_command("jobs", "cmd_schedule"))

    status = sub.add_parser("status", help="show the last outcome of each job")
    _store_options(status)
    status.add_argument("--json", action="store_true", help="print status.json as is")
    status.add_argument("--now", help=argparse.SUPPRESS)
    status.set_defaults(func=_command("jobs", "cmd_status"))

    resolve = sub.add_parser(
        "resolve",
        help="resolve a model id or alias the way downstream callers do",
        description="Follow a model reference (id, alias, old id or old alias) through "
        "redirects, alias history, same-family fallback and auto; print the model, every "
        "hop taken and the notice to show the caller once.",
    )
    resolve.add_argument("ref", metavar="REF", help="model id or alias")
    _view_options(resolve)
    resolve.add_argument("--json", action="store_true", help="print the resolution as JSON")
    resolve.set_defaults(func=_command("views", "cmd_resolve"))

    serve = sub.add_parser("serve", help="serve the published catalog over HTTP (the reader)")
    _store_options(serve)
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
    serve.add_argument(
        "--public-url",
        help="the absolute URL clients reach this service at, for the Atom feed's links "
        "(default: relative links; never taken from the request's Host)",
    )
    serve.set_defaults(func=_command("serve", "cmd_serve"))

    validate = sub.add_parser("validate", help="validate the override files")
    validate.add_argument("directory", nargs="?", help="default: the overrides directory in use")
    validate.add_argument("--config")
    validate.add_argument(
        "--store",
        help="check curated-core.json against this store's catalog (default: the embedded one)",
    )
    validate.add_argument("-v", "--verbose", action="store_true")
    validate.set_defaults(func=_command("checks", "cmd_validate"))

    schemas = sub.add_parser("schemas", help="check (or --write) the committed JSON Schemas")
    schemas.add_argument("--write", action="store_true")
    schemas.add_argument("-v", "--verbose", action="store_true")
    schemas.set_defaults(func=_command("checks", "cmd_schemas"), config=None)

    cost = sub.add_parser("cost", help="USD cost of a request from the published prices")
    cost.add_argument("model", help="model id or alias")
    cost.add_argument(
        "--input", type=_tokens, required=True, help="prompt tokens (cached included)"
    )
    cost.add_argument("--output", type=_tokens, default=0, help="completion tokens (default 0)")
    cost.add_argument("--cached", type=_tokens, default=0, help="prompt tokens read from the cache")
    cost.add_argument("--at", help="request time, HH:MM UTC (time-of-day prices)")
    cost.add_argument(
        "--on",
        help="price on this date (YYYY-MM-DD): from the published history, or an announced "
        "price (genai-prices) for a later date",
    )
    cost.add_argument(
        "--provider",
        help="the price in this provider's list (catalog providers), e.g. anthropic, vertex",
    )
    cost.add_argument("--json", action="store_true", help="machine-readable output")
    _view_options(cost)
    cost.set_defaults(func=_command("views", "cmd_cost"))

    export = sub.add_parser(
        "export-registry", help="write the per-family YAML registry from current.json"
    )
    _store_options(export)
    export.add_argument("--output", help="write to this directory instead of the store")
    export.set_defaults(func=_command("exports", "cmd_export_registry"))

    # Read-only views of the published store and the history (pipeline/cli/views.py).
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
    _output_options(lst)
    lst.set_defaults(func=_command("views", "cmd_list"))

    show = sub.add_parser("show", help="one model: record, flags with evidence, lifecycle, history")
    show.add_argument("ref", help="model id or alias")
    show.add_argument("--recent", type=int, default=10, help="history events to show")
    _output_options(show)
    show.set_defaults(func=_command("views", "cmd_show"))

    explain = sub.add_parser("explain", help="how each capability flag of a model was decided")
    explain.add_argument("ref", help="model id or alias")
    _view_options(explain)
    explain.set_defaults(func=_command("views", "cmd_explain"))

    changes = sub.add_parser("changes", help="what changed in the catalog since a date or run")
    changes.add_argument("--since", help="YYYY-MM-DD, a UTC time, or a run id")
    changes.add_argument("--model", help="only this model (id or alias)")
    changes.add_argument("--limit", type=int, default=0, help="only the newest N")
    _output_options(changes)
    changes.set_defaults(func=_command("views", "cmd_changes"))

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
    _output_options(history)
    history.set_defaults(func=_command("views", "cmd_history"))

    site = sub.add_parser(
        "export-site", help="write the explorer as static files (for a bucket/CDN)"
    )
    site.add_argument("directory", help="output directory")
    site.add_argument(
        "--base-url", default="", help="absolute URL the site will live at (for the Atom feed)"
    )
    _store_options(site)
    site.set_defaults(func=_command("exports", "cmd_export_site"))

    core = sub.add_parser("core", help="the curated core: specialty, concise alias, summary")
    core.add_argument("--specialty", help="only this specialty (coding, chat, ...)")
    core.add_argument("--json", action="store_true", help="machine-readable output")
    _view_options(core)
    core.set_defaults(func=_command("views", "cmd_core"))

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
    _store_options(verify)
    verify.set_defaults(func=_command("telemetry", "cmd_verify"))

    telemetry = sub.add_parser("telemetry", help="what the telemetry intake received")
    telemetry.add_argument("--hours", type=int, default=24, help="how far back (default 24)")
    telemetry.add_argument("--json", action="store_true", help="machine-readable output")
    _store_options(telemetry)
    telemetry.set_defaults(func=_command("telemetry", "cmd_telemetry"))

    build = sub.add_parser(
        "build-fallback", help="rebuild the embedded offline catalog and its history"
    )
    build.add_argument("--from-file", required=True, help="recorded OpenRouter payload")
    build.add_argument(
        "--now", help="time of the payload's data (ISO-8601; default: the date in its name)"
    )
    build.add_argument(
        "--history-from",
        metavar="DIR",
        help="recorded payloads the history replays, up to the payload's time "
        "(default: the payload's folder)",
    )
    build.add_argument("--output", help=argparse.SUPPRESS)
    build.add_argument("--history-output", help=argparse.SUPPRESS)
    build.add_argument("--config")
    build.add_argument("-v", "--verbose", action="store_true")
    build.set_defaults(func=_command("jobs", "cmd_build_fallback"))
    laws = sub.add_parser(
        "check", help="hold the catalog's laws against a published store (exit 1 if one breaks)"
    )
    laws.add_argument("--json", action="store_true", help="machine-readable output")
    laws.add_argument(
        "--overrides", help="overrides directory whose alias reservations apply (default: in use)"
    )
    _store_options(laws)
    laws.set_defaults(func=_command("checks", "cmd_check"))

    check = sub.add_parser(
        "crosscheck",
        help="compare the published catalog with models.dev, LiteLLM or genai-prices data",
    )
    check.add_argument("reference", metavar="REFERENCE_FILE", help="api.json or LiteLLM JSON")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    _store_options(check)
    check.set_defaults(func=_command("checks", "cmd_crosscheck"))
    return parser
