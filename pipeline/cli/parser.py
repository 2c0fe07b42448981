"""The ``catalog`` argument parser: every subcommand, its options and the function that runs
it (``args.func``).

Building the parser imports only argparse: each command's module is imported when the
command runs (``_command``) and imports its heavy dependencies inside the command, so
``catalog --version`` and ``catalog --help`` load nothing they do not print. A command's
options are added only when that command is named (``build_parser(argv)``): every run
builds the list of commands (what ``--help`` and a usage error print) and one command's
options, not all twenty-one.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence

from pipeline import __version__

# Read by mypy only: importing typing costs `catalog --help` a few milliseconds.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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


def _sync(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", action=_SyncTarget, metavar="TARGET")
    _store_options(p)
    p.add_argument("--now", help="the run's clock, ISO-8601 (replays and tests)")
    p.add_argument("--from-file", help="use a recorded payload instead of the network")
    p.add_argument(
        "--force",
        action="store_true",
        help="publish despite the publish guard, or a --now older than the published set",
    )
    p.add_argument(
        "--overrides",
        help="override files directory (default $CATALOG_OVERRIDES or the repository's overrides/)",
    )
    p.add_argument(
        "--explain",
        metavar="MODEL_ID",
        help="after the run, print each capability flag of this model (id or alias) with its "
        "value, deciding layer and evidence",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no per-stage progress")
    p.add_argument(
        "--offline-ok",
        action="store_true",
        help="exit 0 when OpenRouter is unreachable and the published catalog was kept "
        "(interactive use and `make sync`; schedulers leave it off so the failure shows)",
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="with `providers`: show each source, enabled, TTL and why it is skipped",
    )
    p.add_argument("--refresh", action="store_true", help="provider sources: ignore fresh caches")
    p.add_argument(
        "--wait", action="store_true", help="wait for the run lease instead of exiting (code 3)"
    )
    p.set_defaults(func=_command("jobs", "cmd_sync"))


def _schedule(p: argparse.ArgumentParser) -> None:
    _store_options(p)
    p.add_argument(
        "--list", action="store_true", help="print every job with its trigger and next run"
    )
    p.set_defaults(func=_command("jobs", "cmd_schedule"))


def _status(p: argparse.ArgumentParser) -> None:
    _store_options(p)
    p.add_argument("--json", action="store_true", help="print status.json as is")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(func=_command("jobs", "cmd_status"))


def _resolve(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Follow a model reference (id, alias, old id or old alias) through "
        "redirects, alias history, same-family fallback and auto; print the model, every "
        "hop taken and the notice to show the caller once."
    )
    p.add_argument("ref", metavar="REF", help="model id or alias")
    _view_options(p)
    p.add_argument("--json", action="store_true", help="print the resolution as JSON")
    p.set_defaults(func=_command("views", "cmd_resolve"))


def _serve(p: argparse.ArgumentParser) -> None:
    _store_options(p)
    p.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8080)")
    p.add_argument(
        "--refresh-seconds",
        type=float,
        help="poll the store for a new set every N seconds (default 30; 0 = never)",
    )
    p.add_argument(
        "--max-age-seconds",
        type=float,
        help="/readyz fails when the catalog is older than this (default 86400)",
    )
    p.add_argument(
        "--cors-origins",
        help="origins whose pages may read the catalog, comma-separated (default *: any; "
        "'' = none); admin routes never answer CORS",
    )
    p.add_argument(
        "--public-url",
        help="the absolute URL clients reach this service at, for the Atom feed's links "
        "(default: relative links; never taken from the request's Host)",
    )
    p.set_defaults(func=_command("serve", "cmd_serve"))


def _validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", nargs="?", help="default: the overrides directory in use")
    p.add_argument("--config")
    p.add_argument(
        "--store",
        help="check curated-core.json against this store's catalog (default: the embedded one)",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=_command("checks", "cmd_validate"))


def _schemas(p: argparse.ArgumentParser) -> None:
    p.add_argument("--write", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=_command("checks", "cmd_schemas"), config=None)


def _cost(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model id or alias")
    p.add_argument("--input", type=_tokens, required=True, help="prompt tokens (cached included)")
    p.add_argument("--output", type=_tokens, default=0, help="completion tokens (default 0)")
    p.add_argument("--cached", type=_tokens, default=0, help="prompt tokens read from the cache")
    p.add_argument("--at", help="request time, HH:MM UTC (time-of-day prices)")
    p.add_argument(
        "--on",
        help="price on this date (YYYY-MM-DD): from the published history, or an announced "
        "price (genai-prices) for a later date",
    )
    p.add_argument(
        "--provider",
        help="the price in this provider's list (catalog providers), e.g. anthropic, vertex",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _view_options(p)
    p.set_defaults(func=_command("views", "cmd_cost"))


def _export_registry(p: argparse.ArgumentParser) -> None:
    _store_options(p)
    p.add_argument("--output", help="write to this directory instead of the store")
    p.set_defaults(func=_command("exports", "cmd_export_registry"))


def _list(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", help="substring of id, alias or name")
    p.add_argument(
        "--capability",
        help="vision, tools, reasoning, structured-output, image-gen, free (comma = all)",
    )
    p.add_argument(
        "--tier", help="free, budget, standard, pro, premium, variable, unknown (comma = any)"
    )
    p.add_argument("--state", help="active, stale, deprecated (comma = any)")
    p.add_argument(
        "--kind", help="chat, image, embedding, video, speech, transcription, rerank, router"
    )
    p.add_argument("--provider", help="provider or family (vendor prefix)")
    p.add_argument("--bucket", help="curated bucket")
    p.add_argument(
        "--sort", default="id", help="id, name, input, output, context, max-output, created, rank"
    )
    p.add_argument("--desc", action="store_true", help="descending")
    p.add_argument("--limit", type=int, default=0, help="at most this many rows")
    _output_options(p)
    p.set_defaults(func=_command("views", "cmd_list"))


def _show(p: argparse.ArgumentParser) -> None:
    p.add_argument("ref", help="model id or alias")
    p.add_argument("--recent", type=int, default=10, help="history events to show")
    _output_options(p)
    p.set_defaults(func=_command("views", "cmd_show"))


def _explain(p: argparse.ArgumentParser) -> None:
    p.add_argument("ref", help="model id or alias")
    _view_options(p)
    p.set_defaults(func=_command("views", "cmd_explain"))


def _changes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", help="YYYY-MM-DD, a UTC time, or a run id")
    p.add_argument("--model", help="only this model (id or alias)")
    p.add_argument("--limit", type=int, default=0, help="only the newest N")
    _output_options(p)
    p.set_defaults(func=_command("views", "cmd_changes"))


def _history(p: argparse.ArgumentParser) -> None:
    p.add_argument("ref", help="model id or alias, or `rebuild`")
    p.add_argument("--at", help="also print the prices at this date (YYYY-MM-DD)")
    p.add_argument(
        "--from-dir",
        help="rebuild: a folder of recorded payloads (default: the store's raw snapshots)",
    )
    p.add_argument("--now", help="rebuild: the run's clock (ISO-8601)")
    p.add_argument("--wait", action="store_true", help="rebuild: wait for the run lease")
    p.add_argument("--overrides", help="rebuild: overrides directory")
    _output_options(p)
    p.set_defaults(func=_command("views", "cmd_history"))


def _export_site(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", help="output directory")
    p.add_argument(
        "--base-url", default="", help="absolute URL the site will live at (for the Atom feed)"
    )
    _store_options(p)
    p.set_defaults(func=_command("exports", "cmd_export_site"))


def _core(p: argparse.ArgumentParser) -> None:
    p.add_argument("--specialty", help="only this specialty (coding, chat, ...)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _view_options(p)
    p.set_defaults(func=_command("views", "cmd_core"))


def _verify(p: argparse.ArgumentParser) -> None:
    p.add_argument("models", nargs="*", metavar="MODEL", help="ids or aliases (default: curated)")
    p.add_argument("--capability", action="append", help="only these (repeat or comma-separate)")
    p.add_argument(
        "--budget-usd", type=float, default=0.05, help="refuse when the estimate exceeds it"
    )
    p.add_argument(
        "--base-url", default="https://openrouter.ai/api/v1", help="OpenAI-compatible API base"
    )
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per probe")
    _store_options(p)
    p.set_defaults(func=_command("telemetry", "cmd_verify"))


def _telemetry(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hours", type=int, default=24, help="how far back (default 24)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _store_options(p)
    p.set_defaults(func=_command("telemetry", "cmd_telemetry"))


def _build_fallback(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from-file", required=True, help="recorded OpenRouter payload")
    p.add_argument(
        "--now", help="time of the payload's data (ISO-8601; default: the date in its name)"
    )
    p.add_argument(
        "--history-from",
        metavar="DIR",
        help="recorded payloads the history replays, up to the payload's time "
        "(default: the payload's folder)",
    )
    p.add_argument("--output", help=argparse.SUPPRESS)
    p.add_argument("--history-output", help=argparse.SUPPRESS)
    p.add_argument("--config")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=_command("jobs", "cmd_build_fallback"))


def _check(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--overrides", help="overrides directory whose alias reservations apply (default: in use)"
    )
    _store_options(p)
    p.set_defaults(func=_command("checks", "cmd_check"))


def _crosscheck(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="REFERENCE_FILE", help="api.json or LiteLLM JSON")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _store_options(p)
    p.set_defaults(func=_command("checks", "cmd_crosscheck"))


_COMMANDS: tuple[tuple[str, str, Callable[[argparse.ArgumentParser], None]], ...] = (
    ("sync", "fetch, normalize and publish the catalog", _sync),
    ("schedule", "run the cron table in the foreground", _schedule),
    ("status", "show the last outcome of each job", _status),
    ("resolve", "resolve a model id or alias the way downstream callers do", _resolve),
    ("serve", "serve the published catalog over HTTP (the reader)", _serve),
    ("validate", "validate the override files", _validate),
    ("schemas", "check (or --write) the committed JSON Schemas", _schemas),
    ("cost", "USD cost of a request from the published prices", _cost),
    ("export-registry", "write the per-family YAML registry from current.json", _export_registry),
    # Read-only views of the published store and the history (pipeline/cli/views.py).
    ("list", "the published models, filtered and sorted (table or JSON)", _list),
    ("show", "one model: record, flags with evidence, lifecycle, history", _show),
    ("explain", "how each capability flag of a model was decided", _explain),
    ("changes", "what changed in the catalog since a date or run", _changes),
    ("history", "a model's timeline (`history REF [--at DATE]`), or `history rebuild`", _history),
    ("export-site", "write the explorer as static files (for a bucket/CDN)", _export_site),
    ("core", "the curated core: specialty, concise alias, summary", _core),
    ("verify", "probe models' claimed capabilities (also: syncmodels verify)", _verify),
    ("telemetry", "what the telemetry intake received", _telemetry),
    ("build-fallback", "rebuild the embedded offline catalog and its history", _build_fallback),
    ("check", "hold the catalog's laws against a published store (exit 1 if one breaks)", _check),
    (
        "crosscheck",
        "compare the published catalog with models.dev, LiteLLM or genai-prices data",
        _crosscheck,
    ),
)
"""Each command, in the order ``--help`` lists them: (name, help, what adds its options)."""


def _help_width() -> int:
    """The width argparse formats help to: the terminal's columns (``$COLUMNS`` first, else
    80) less 2, as ``shutil.get_terminal_size`` finds them. Read once per parser here: argparse
    reads it again for every option added, importing shutil (and bz2, lzma) to do so."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        stdout = sys.__stdout__
        try:
            columns = 0 if stdout is None else os.get_terminal_size(stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


def _named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is not an option (``catalog`` itself
    takes only ``-h`` and ``--version``, neither with a value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of ``catalog``: every command listed with its help, and the options of the
    command ``argv`` names (of every command when ``argv`` is None). The help, the usage and
    the errors printed are the same either way."""
    named = None if argv is None else _named(argv)
    formatter = functools.partial(argparse.HelpFormatter, width=_help_width())
    parser = argparse.ArgumentParser(
        prog="catalog",
        description="Keep the LLM model catalog fresh and publish it.",
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, add_options in _COMMANDS:
        command = sub.add_parser(name, help=help_text, formatter_class=formatter)
        if argv is None or name == named:
            add_options(command)
    return parser
