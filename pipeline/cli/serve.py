"""``catalog serve``: the reader's HTTP service over the published catalog. Its settings come
from the options, else the config's ``reader:`` section, else the service's defaults."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.cli.common import UsageError, stale_after


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline.config import ConfigError, load_config, resolve_store_uri
    from pipeline.logs import redact
    from pipeline.service import app as service  # FastAPI and uvicorn load only for `serve`

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
        stale_after=stale_after(config),
        public_url=_public_url(args.public_url, reader.get("public_url")),
    )
    return 0


def _public_url(cli: str | None, configured: Any) -> str:
    """``--public-url``, else the config's ``reader.public_url``, else none (the feed's links
    are then relative): an http(s) URL without query or fragment, trailing slash dropped."""
    import re

    from pipeline.config import PUBLIC_URL_PATTERN

    value = cli if cli is not None else configured
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not re.match(PUBLIC_URL_PATTERN, value):
        raise UsageError(
            f"public_url: {value!r} is not an http(s) URL without query or fragment "
            "(e.g. https://models.example.com)"
        )
    return value.rstrip("/")


def _cors_origins(cli: str | None, configured: Any) -> list[str]:
    """``--cors-origins`` (comma list), else the config's ``reader.cors_origins`` (a list or a
    comma list); ``*`` = any origin (the default), empty = no CORS."""
    value = cli if cli is not None else configured
    if isinstance(value, str):
        return [o.strip() for o in value.split(",") if o.strip()]
    if isinstance(value, list) and all(isinstance(o, str) for o in value):
        return [o.strip() for o in value if o.strip()]
    raise UsageError(f"cors_origins: {value!r} is not a list of origins")
