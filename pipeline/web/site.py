"""``catalog export-site DIR``: the explorer as static files, for a bucket or a CDN.

The same pages as ``catalog serve``, from the same templates, with relative links, so the
folder works from any path (and from ``file://``): ``index.html`` (the table's first page; the
script filters ``data/rows.json`` in the browser), ``models/<id>.html`` for every model (and
every removed model the history remembers), ``compare.html`` (rendered by the script from the
rows), ``curated.html``, ``changes.html``, ``feeds/changes.atom``, ``providers.html`` and
``providers/<provider>.html`` for every provider list, ``assets/``. Files are
written atomically (a temporary file, then a rename), so a host serving the folder never sees
half a page.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path

from pipeline.registry.core import Registry
from pipeline.web import pages, rows
from pipeline.web import providers as web_providers
from pipeline.web.pages import Links
from pipeline.web.routes import STATIC, end_of_data, model_html, subtitle

CHANGES_SHOWN = 500


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        Path(tmp).chmod(0o666 & ~_umask())  # readable by a web server, as the umask allows
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_site(registry: Registry, target: Path, *, base_url: str = "") -> int:
    """Write the whole site into ``target``; returns the number of files written."""
    snapshot = registry.snapshot
    history = registry.history()
    top = Links("./", True)
    title = subtitle(snapshot)
    written = 0

    root = target.resolve()

    def put(relative: str, data: bytes | str) -> None:
        nonlocal written
        path = (target / relative).resolve()
        if not path.is_relative_to(root) or ".." in Path(relative).parts:
            raise ValueError(f"refusing to write {relative!r} outside {target}")
        _write(path, data)
        written += 1

    all_rows = rows.all_rows(snapshot)
    view = rows.View()
    first, pages_count = rows.page_of(rows.select(all_rows, view), view)
    put(
        "index.html", pages.table_page(first, len(all_rows), pages_count, view, top, subtitle=title)
    )
    put("data/rows.json", json.dumps(all_rows, separators=(",", ":")))
    put("compare.html", pages.compare_page([], top, subtitle=title))
    put(
        "curated.html",
        pages.curated_page(snapshot.curated(), top, subtitle=title, core=snapshot.core()),
    )
    latest = history.latest(CHANGES_SHOWN)
    put(
        "changes.html",
        pages.changes_page(latest, top, subtitle=title, heading="Latest changes", older=None),
    )
    put(
        "feeds/changes.atom",
        pages.atom(latest, base=base_url or ".", updated=end_of_data(snapshot), links=top),
    )
    put("providers.html", web_providers.providers_page(registry.providers(), top, subtitle=title))
    for entry in registry.providers():
        name = str(entry["provider"])
        if _safe(name) and "/" not in name:
            page = web_providers.provider_page(
                registry.provider(name), top.for_depth(1), subtitle=title
            )
            put(f"providers/{name}.html", page)
    for name in STATIC:
        put(
            f"assets/{name}",
            resources.files("pipeline.web").joinpath(f"static/{name}").read_bytes(),
        )
    current = set()
    for model in snapshot.models:
        model_id = str(model["id"])
        current.add(model_id)
        links = top.for_depth(1 + model_id.count("/"))
        if _safe(model_id):
            put(f"models/{model_id}.html", model_html(registry, snapshot, model, links))
    for model_id in sorted(set(history.by_model) - current):
        if not _safe(model_id):
            continue
        links = top.for_depth(1 + model_id.count("/"))
        page = pages.removed_page(
            model_id, history.timeline(model_id), links, end=end_of_data(snapshot), subtitle=title
        )
        put(f"models/{model_id}.html", page)
    return written


def _safe(model_id: str) -> bool:
    """An id that maps to a file below ``models/`` (upstream ids are not trusted)."""
    parts = model_id.split("/")
    return bool(model_id) and all(p not in ("", ".", "..") for p in parts) and "\\" not in model_id
