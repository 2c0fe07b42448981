"""Checks: ``catalog validate`` (the override files and pinned manifests, and the curated
core against a catalog), ``catalog schemas`` (the committed JSON Schemas against the models
they come from), ``catalog check`` (the catalog's laws against a published store) and
``catalog crosscheck`` (the published catalog against models.dev, LiteLLM or genai-prices
data)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, load_current, store_for


def cmd_validate(args: argparse.Namespace) -> int:
    from pipeline.config import load_config
    from pipeline.overrides.files import resolve_dir, validate_directory

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


def _pinned_problems(directory: Path) -> list[str]:
    """Every problem in the pinned provider manifests (``<overrides>/pinned/*.yaml``)."""
    from pipeline.inputs import CONFIG_BYTES, read_input
    from pipeline.sources.pinned import ManifestError, load

    problems = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            load(read_input(path, CONFIG_BYTES), str(path), path.stem)
        except ManifestError as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"{path}: cannot read it ({exc.strerror})")
    return problems


def _core_problems(directory: Path, args: argparse.Namespace) -> list[str]:
    """curated-core.json against a catalog: the store's (``--store``) or the embedded one.
    Entries to update are warnings on stderr; entries that cannot stand are errors."""
    from pipeline.config import load_config
    from pipeline.overrides.files import CORE_FILE, OverrideError, load_file, load_overrides
    from pipeline.publishing import keys
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
        store = store_for(args, load_config(args.config))
        catalog = load_current(store)
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


def cmd_schemas(args: argparse.Namespace) -> int:
    from pipeline import schemagen

    # The committed schemas are pipeline/schemas/, next to schemagen.py.
    target = Path(schemagen.__file__).parent / "schemas"
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


def cmd_crosscheck(args: argparse.Namespace) -> int:
    """The published catalog against an independent catalog file; 0 unless unreadable."""
    from pydantic import ValidationError

    from pipeline.config import load_config
    from pipeline.crosscheck import ReferenceError, render_text, run_crosscheck
    from pipeline.publishing import jsonio, keys

    config = load_config(args.config)
    store = store_for(args, config)
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


def cmd_check(args: argparse.Namespace) -> int:
    """The laws (pipeline/laws) against a published store: 0 when every law holds, 1 naming
    each violation with its model and values (and when nothing is published to check)."""
    from pydantic import ValidationError

    from pipeline.config import load_config
    from pipeline.laws import LAWS, check, read_set
    from pipeline.laws.check import describe
    from pipeline.overrides.files import OverrideError, load_overrides, resolve_dir
    from pipeline.publishing import jsonio

    config = load_config(args.config)
    store = store_for(args, config)
    try:
        # An alias-overrides.json reservation is the one lawful way to give a natural alias
        # to another model: the laws need the reservations in use.
        reserved = load_overrides(resolve_dir(args.overrides, config.overrides_dir)).aliases
    except OverrideError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        published = read_set(store, reserved)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(
            f"error: the catalog in {store.uri} is unreadable ({where}: {first['msg']})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if not published.lists:
        print(
            f"error: nothing published in {store.uri}: run `syncmodels all` first", file=sys.stderr
        )
        return EXIT_FAILED
    violations = check(published)
    models = sum(len(listing.models) for listing in published.lists)
    if args.json:
        document = {
            "store": store.uri,
            "lists": [listing.source for listing in published.lists],
            "models": models,
            "holds": not violations,
            "laws": {name: describe(name) for name in LAWS},
            "violations": [v.as_dict() for v in violations],
        }
        sys.stdout.write(jsonio.dumps(document).decode("utf-8"))
        return EXIT_FAILED if violations else EXIT_OK
    for name in LAWS:
        broken = [v for v in violations if v.law == name]
        print(f"{name:<30}{'holds' if not broken else f'VIOLATED ({len(broken)})'}")
        for violation in broken:
            print(f"  {violation.source}:{violation.model}: {violation.detail}")
    scope = f"{len(published.lists)} list(s), {models} models in {store.uri}"
    if not violations:
        print(f"all {len(LAWS)} laws hold: {scope}")
        return EXIT_OK
    laws = sorted({v.law for v in violations}, key=list(LAWS).index)
    print(
        f"{len(violations)} violation(s) of {len(laws)} law(s) ({', '.join(laws)}): {scope}",
        file=sys.stderr,
    )
    return EXIT_FAILED
