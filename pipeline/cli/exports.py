"""The published catalog written out in other forms: ``catalog export-registry`` (the
per-family YAML registry, into the store or a directory) and ``catalog export-site`` (the web
explorer as static files, for a bucket or CDN)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.cli.common import UsageError, load_current, open_registry, stale_after, store_for


def cmd_export_registry(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.publishing.registry_export import build_registry, registry_key

    config = load_config(args.config)
    store = store_for(args, config)
    files = build_registry(load_current(store))
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


SKIPPED_SHOWN = 20
"""Models without a page named one per line; the rest are counted."""


def cmd_export_site(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.web.site import ExportError, export_site

    config = load_config(args.config)
    registry = open_registry(args, config)
    try:
        exported = export_site(
            registry, Path(args.directory), base_url=args.base_url, stale_after=stale_after(config)
        )
    except ExportError as exc:
        raise UsageError(str(exc)) from exc
    for model_id, why in exported.skipped[:SKIPPED_SHOWN]:
        print(f"warning: no page for model {model_id!r}: {why}", file=sys.stderr)
    if len(exported.skipped) > SKIPPED_SHOWN:
        more = len(exported.skipped) - SKIPPED_SHOWN
        print(f"warning: no page for {more} more model(s)", file=sys.stderr)
    print(
        f"wrote {exported.written} file(s) to {args.directory} "
        f"(catalog run {registry.snapshot.run_id}"
        + (f"; {len(exported.skipped)} model(s) without a page" if exported.skipped else "")
        + ")"
    )
    return 0
