"""Command line: ``catalog`` and ``syncmodels`` (``syncmodels X`` is ``catalog sync X``, so
``syncmodels all`` works as operators type it).

    parser.py     every subcommand and its options; ``args.func`` runs it
    common.py     errors and the exit codes table, the store of --store/--config, close
                  matches, published documents: what the command modules share
    jobs.py       sync, schedule, status, build-fallback, history rebuild
    views.py      list, show, explain, changes, history, resolve, cost, core
    exports.py    export-registry, export-site
    checks.py     validate, schemas, check (the laws), crosscheck
    serve.py      serve
    telemetry.py  verify, telemetry

Each command module is imported when its command runs (parser.py) and imports what it needs
inside the command: ``catalog --version`` and ``--help`` load only argparse and the parser.
Errors are one line on stderr, never a traceback, and every command exits with a code of the
table in common.py (docs/jobs.md, "Exit codes").
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.cli.parser import build_parser

    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(words).parse_args(words)
    # `--version`, `--help` and usage errors have exited above: what follows loads only for a
    # command. Before anything can print, every byte on stdout/stderr (logs included) is
    # scrubbed of the keys in the environment, then stripped of the power to drive the
    # terminal: unprintable characters are escaped (docs/hardening.md).
    from pipeline import printable
    from pipeline.logs import formatters, redact

    redact.remember_env(())
    printable.guard_std_streams()
    redact.guard_std_streams()
    formatters.configure(
        verbose=getattr(args, "verbose", False), quiet=getattr(args, "quiet_logs", False)
    )
    try:
        code: int = args.func(args)
        sys.stdout.flush()  # a reader that went away shows here, not at the interpreter's exit
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, BrokenPipeError) and _reader_gone():
            return 0  # `catalog list | head`: the reader had what it wanted
        from pipeline.cli.common import failure

        failed = failure(exc)
        if failed is None:
            raise
        print(f"error: {failed[1]}", file=sys.stderr)
        return failed[0]
    return code


def _reader_gone() -> bool:
    """True when stdout is a pipe whose reader has closed it (``catalog list | head``); stdout
    then points at /dev/null, so the interpreter's last flush does not fail again. A broken
    pipe elsewhere (a socket) is an error like any other."""
    import os
    import select

    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        # The write end of a pipe without a reader polls as an error (Linux, macOS).
        if not any(events & select.POLLERR for _, events in poller.poll(0)):
            return False
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    except (OSError, ValueError, AttributeError):  # no real stdout (captured, closed)
        return False
    return True


def syncmodels_main(argv: Sequence[str] | None = None) -> int:
    """``syncmodels X …`` ≡ ``catalog sync X …``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        from pipeline.runs.jobs import TARGETS

        print(
            "usage: syncmodels TARGET [options]   (same as: catalog sync TARGET)\n"
            f"targets: {', '.join(TARGETS)}; options: see `catalog sync --help`"
        )
        return 0 if args else 2
    if args[0] == "verify":  # a probe run, not a sync target
        return main(args)
    return main(["sync", *args])
