"""Issue 27's surfaces under `make chaos`: hostile ids in the feed, `catalog export-site` and
`catalog history rebuild` killed at random moments, file inputs that are not files.

bench/chaos.py calls these around each faulted sync, on the same shared store:

- :func:`hostile_ids_body`: a real payload plus records whose ids and names hold bidi
  controls, NUL, ESC, ``\\x0b`` or 5,000 characters, and ids no file system can hold as pages
  side by side (``p`` beside ``p.html/x``, 70 emoji);
- :func:`file_input_args`: now and then the sync reads ``--from-file`` a FIFO or
  ``/dev/zero`` instead of the network (it must end, exit 1, no traceback);
- :func:`after_sync`: checks that nothing unprintable was published, then sometimes exports
  the explorer (SIGKILL in a third of them) or rebuilds the history from a folder holding a
  truncated capture (SIGKILL in a third), and checks the site and the store after each.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Protocol

from pipeline.printable import identity_problem

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "real"
HOSTILE_IDS = [
    "evil/\u202egpt-4o",
    "evil/nul\x00",
    "evil/esc\x1b[2J",
    "evil/" + "x" * 5000,
    "evil/isolate\u2066x",
]
HOSTILE_NAMES = ["Tab\x0bbed", "\x1b[31mRed", "n" * 300]
AWKWARD_IDS = ["p", "p.html/x", "🦙" * 70]
"""Fine ids that a file system cannot all hold as pages side by side: one is skipped."""
EXPORT_SHARE, REBUILD_SHARE, FILE_INPUT_SHARE = 0.2, 0.04, 0.05
KILL_SHARE = 0.33
STEP_SECONDS = 300


class Checks(Protocol):
    def check(self, name: str, ok: bool, detail: str = "") -> None: ...


def hostile_ids_body(rng: random.Random, payload: str) -> bytes:
    """A real payload with copies of real records under hostile ids and names appended."""
    document = json.loads((FIXTURES / payload).read_bytes())
    template = rng.choice(document["data"])
    extra = [{**template, "id": i, "canonical_slug": None} for i in HOSTILE_IDS + AWKWARD_IDS]
    extra += [{**template, "id": f"evil/named-{n}", "name": v} for n, v in enumerate(HOSTILE_NAMES)]
    document["data"] += rng.sample(extra, rng.randint(1, len(extra)))
    return json.dumps(document).encode()


def file_input_args(rng: random.Random, workdir: Path) -> tuple[str, list[str]]:
    """(what, extra sync arguments): mostly nothing, sometimes a file input that is no file."""
    if rng.random() >= FILE_INPUT_SHARE:
        return "network", []
    if rng.random() < 0.5 and Path("/dev/zero").exists():
        return "dev-zero", ["--from-file", "/dev/zero"]
    fifo = workdir / "chaos-fifo.json"
    if not fifo.exists():
        os.mkfifo(fifo)
    return "fifo", ["--from-file", str(fifo)]


def _cli(args: list[str], kill_after: float | None) -> tuple[int | None, str, str]:
    """``catalog ARGS`` in a subprocess; None as the code when it was killed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=kill_after or STEP_SECONDS)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        out, err = process.communicate()
        return None, out, err
    return process.returncode, out, err


def published_ids_are_printable(root: Path, inv: Checks, index: int) -> None:
    current = root / "models" / "openrouter" / "current.json"
    if not current.exists():
        return
    try:
        models = json.loads(current.read_bytes())["models"]
    except (ValueError, KeyError):
        return  # a torn read is the other invariants' business
    bad = [
        problem
        for m in models
        for problem in (identity_problem(str(m["id"])), identity_problem(str(m["name"]), "name"))
        if problem is not None
    ]
    inv.check("no unprintable or overlong id or name published", not bad, f"run {index}: {bad[:3]}")


def _site_problems(site: Path) -> list[str]:
    """Why ``site`` is not one whole export (empty when it is)."""
    try:
        rows = json.loads((site / "data" / "rows.json").read_bytes())
        ET.fromstring((site / "feeds" / "changes.atom").read_bytes())
    except (OSError, ValueError, ET.ParseError) as exc:
        return [f"{type(exc).__name__}: {exc}"[:200]]
    problems = [
        f"no {name}" for name in ("index.html", "curated.html") if not (site / name).exists()
    ]
    is_page = os.path.isfile  # Path.is_file raises on a name over the limit
    missing = [r["id"] for r in rows if not is_page(site / "models" / f"{r['id']}.html")]
    unnameable = [m for m in missing if m not in AWKWARD_IDS]
    if unnameable or len(missing) > 2:
        problems.append(f"{len(missing)} model pages missing: {missing[:3]}")
    return problems


def after_sync(rng: random.Random, index: int, root: Path, now: str, inv: Checks) -> dict[str, str]:
    """The checks and the extra commands of one chaos run (``now``: its clock); returns what
    it did, for the tallies."""
    published_ids_are_printable(root, inv, index)
    did = {"export": "none", "rebuild": "none"}
    if rng.random() < EXPORT_SHARE:
        did["export"] = _export(rng, index, root, inv)
    if rng.random() < REBUILD_SHARE:
        did["rebuild"] = _rebuild(rng, index, root, now, inv)
    return did


def _export(rng: random.Random, index: int, root: Path, inv: Checks) -> str:
    site = root.parent / "site"
    existed = (site / "index.html").exists()
    kill_after = rng.uniform(0.5, 4.0) if rng.random() < KILL_SHARE else None
    config = str(root.parent / "chaos.yaml")
    args = ["export-site", str(site), "--store", str(root), "--config", config]
    code, _, err = _cli(args, kill_after)
    if code is not None:
        inv.check("export-site exits 0 or 2", code in (0, 2), f"run {index}: {code} {err[-300:]}")
        inv.check("export-site: no traceback", "Traceback" not in err, err[-500:])
    if existed or site.exists():
        problems = _site_problems(site)
        inv.check(
            "the exported site is always one whole export",
            not problems,
            f"run {index} ({'killed' if code is None else f'exit {code}'}): {problems}",
        )
    return "killed" if code is None else f"exit {code}"


def _rebuild(rng: random.Random, index: int, root: Path, now: str, inv: Checks) -> str:
    folder = root.parent / "replays"
    if not folder.exists():
        folder.mkdir()
        for name in ("openrouter-models-2026-08-17.json", "openrouter-models-2026-08-19.json"):
            (folder / name).write_bytes((FIXTURES / name).read_bytes())
        cut = json.loads((FIXTURES / "openrouter-models-2026-08-19.json").read_bytes())
        cut["data"] = cut["data"][:4]  # a truncated capture: skipped, never 400 removals
        (folder / "openrouter-models-2026-08-18.json").write_text(json.dumps(cut))
    kill_after = rng.uniform(1.0, 8.0) if rng.random() < KILL_SHARE else None
    # The chaos config (its 3-second lease: a killed rebuild blocks the next runs briefly) and
    # the runs' clock (a commit at the wall clock would put the store ahead of every later run).
    args = ["history", "rebuild", "--from-dir", str(folder), "--store", str(root)]
    args += ["--config", str(root.parent / "chaos.yaml"), "--now", now]
    code, out, err = _cli(args, kill_after)
    if code is not None:
        inv.check(
            "history rebuild exits 0, 1 or 3", code in (0, 1, 3), f"run {index}: {err[-300:]}"
        )
        inv.check("history rebuild: no traceback", "Traceback" not in err, err[-500:])
        if code == 0:
            inv.check(
                "a truncated capture is skipped, not replayed",
                "1 skipped" in out,
                f"run {index}: {out[-300:]}",
            )
    return "killed" if code is None else f"exit {code}"
