"""Structured logs: JSON lines when stderr is not a terminal (cron, containers), short human
lines when it is. Extra fields passed with ``extra={...}`` become JSON keys."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from pipeline.logs.redact import redact

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        # Scrubbed here, at the last step: an exception text may quote a header or a key.
        return redact(json.dumps(payload, default=str))


class HumanFormatter(logging.Formatter):
    """``warning: openrouter fetch retry attempt=1 problem=HTTP 503``."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD and not k.startswith("_")
        )
        return redact(
            f"{record.levelname.lower()}: {record.getMessage()}" + (f" {extras}" if extras else "")
        )


def configure(verbose: bool = False, json_logs: bool | None = None, quiet: bool = False) -> None:
    """Set up the root logger once for a CLI invocation: info and above, debug with
    ``verbose``; warnings and above with ``quiet`` (the read-only views, whose output is the
    answer: ``catalog loaded`` on every `list` is noise, `-v` shows it)."""
    if json_logs is None:
        json_logs = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else HumanFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    for noisy in ("httpx", "httpcore", "botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
