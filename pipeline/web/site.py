"""``catalog export-site DIR``: the explorer as static files, for a bucket or a CDN.

The same pages as ``catalog serve``, from the same templates, with relative links, so the
folder works from any path (and from ``file://``): ``index.html`` (the table's first page; the
script filters ``data/rows.json`` in the browser), ``models/<id>.html`` for every model (and
every removed model the history remembers), ``compare.html`` (rendered by the script from the
rows), ``curated.html``, ``changes.html``, ``feeds/changes.atom``, ``providers.html`` and
``providers/<provider>.html`` for every provider list, ``assets/``. Each page states the
explorer's Content-Security-Policy in a ``<meta>`` (no server sends the header).

The whole site is written into a staging folder beside ``DIR`` and then swapped in (one
``renameat2`` exchange on Linux; elsewhere two renames), so a host serving the folder sees the
previous site or the new one, never a mix, and an export that fails leaves the previous site
as it was (issue 27). A model whose id cannot be a file name (``p`` beside ``p.html/x``, a
name over the file system's limit, NUL, ``..``) gets no page and is reported; the export goes
on. ``DIR`` must be new, empty or a previous export: a folder holding anything else is refused,
since the swap replaces it whole.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.printable import escaped
from pipeline.registry.core import Registry
from pipeline.registry.freshness import DEFAULT_STALE_AFTER
from pipeline.web import pages, rows
from pipeline.web import providers as web_providers
from pipeline.web.pages import Links
from pipeline.web.routes import STATIC, end_of_data, masthead, model_html

CHANGES_SHOWN = 500
SITE_ENTRIES = frozenset(
    {"index.html", "compare.html", "curated.html", "changes.html", "data", "feeds", "assets"}
    | {"models", "providers.html", "providers"}
)
"""What an export writes at the top of its folder: a folder holding anything else is not
replaced."""
CLASH = "its file name clashes with another model's page"
UNNAMEABLE = {
    errno.ENAMETOOLONG: "its file name is longer than the file system allows",
    errno.ENOTDIR: CLASH,
    errno.EISDIR: CLASH,
    errno.EEXIST: CLASH,
    errno.EINVAL: "the file system refuses its file name",
    errno.EILSEQ: "the file system refuses its file name",
}
"""Errors that say a model's id cannot be a file name here (skipped, with this reason); any
other error (a full disk, no permission) fails the export."""


class ExportError(Exception):
    """The site cannot be exported to that folder; the message names it and says why."""


@dataclass
class Exported:
    """What an export wrote and which models got no page."""

    written: int = 0
    """Files written."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(model id, escaped for display; why) of each model without a page."""


def export_site(
    registry: Registry,
    target: Path,
    *,
    base_url: str = "",
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> Exported:
    """Write the whole site and swap it in at ``target``; ExportError when ``target`` holds
    something that is not a previous export. Pages over data older than ``stale_after`` at the
    registry's clock carry a banner saying how old (and the script renews it when the site is
    read later)."""
    # A link to the site folder is followed: the folder it names is replaced, not the link.
    target = Path(os.path.realpath(target))
    _check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.staging-"))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would hide the site from a server
        exported = _write_site(registry, staging, base_url, stale_after)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return exported


def _write_site(registry: Registry, root: Path, base_url: str, stale_after: timedelta) -> Exported:
    snapshot = registry.snapshot
    history = registry.history()
    top = Links("./", True)
    title = masthead(snapshot, datetime.fromtimestamp(int(registry.clock()), UTC), stale_after)
    exported = Exported()

    def put(relative: str, data: bytes | str) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        exported.written += 1

    def put_model(model_id: str, render: Any) -> None:
        if not _safe(model_id):
            exported.skipped.append((escaped(model_id), "not a file name below models/"))
            return
        try:
            put(f"models/{model_id}.html", render(top.for_depth(1 + model_id.count("/"))))
        except ValueError:  # an embedded NUL
            exported.skipped.append((escaped(model_id), "its id holds NUL"))
        except OSError as exc:
            if exc.errno not in UNNAMEABLE:
                raise
            exported.skipped.append(
                (escaped(model_id), f"{UNNAMEABLE[exc.errno]} ({exc.strerror})")
            )

    all_rows = rows.all_rows(snapshot)
    view = rows.View()
    first, pages_count = rows.page_of(rows.select(snapshot, view), view)
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
        put_model(model_id, lambda links, m=model: model_html(registry, snapshot, m, links, title))
    end = end_of_data(snapshot)
    for model_id in sorted(set(history.by_model) - current):
        put_model(
            model_id,
            lambda links, i=model_id: pages.removed_page(
                i, history.timeline(i), links, end=end, subtitle=title
            ),
        )
    return exported


def _safe(model_id: str) -> bool:
    """An id that maps to a file below ``models/`` (upstream ids are not trusted)."""
    parts = model_id.split("/")
    return bool(model_id) and all(p not in ("", ".", "..") for p in parts) and "\\" not in model_id


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_replaceable(target: Path) -> None:
    """ExportError unless ``target`` is absent, an empty folder or a previous export."""
    if not target.exists():
        return
    if not target.is_dir():
        raise ExportError(f"{target} exists and is not a folder")
    foreign = sorted(entry.name for entry in target.iterdir() if entry.name not in SITE_ENTRIES)
    if foreign:
        shown = ", ".join(escaped(name, 80) for name in foreign[:5])
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise ExportError(
            f"{target} holds {shown}{more}, which export-site did not write; the export "
            "replaces the whole folder, so give it a new or empty folder (or a previous export)"
        )


def _swap_in(staging: Path, target: Path) -> None:
    """Put the finished ``staging`` folder at ``target``, the old site (if any) removed."""
    if not target.exists():
        staging.rename(target)
        return
    if _exchange(staging, target):
        shutil.rmtree(staging)  # it now holds the previous site
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    target.replace(old)  # an empty directory is replaced; the window is two renames wide
    staging.rename(target)
    shutil.rmtree(old)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or the file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(second))
