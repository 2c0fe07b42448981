"""Every command shown in README.md and docs/*.md, run as written, offline, against a
temporary store, so the documentation cannot drift from the code.

What runs: each line of every ```` ```sh ```` block (a line ending in ``\\`` continues on the
next; a line that is only a comment is skipped; a trailing ``# comment`` is documentation).
The commands of one file run in order, in a sandbox of their own: a temporary working
directory whose ``./catalog-data`` already holds what ``make sync`` publishes offline (the
embedded catalog and the pinned provider lists), a recorded OpenRouter payload as
``./payload.json``, a copy of the default overrides as ``./my-overrides``, the project's
virtualenv first on ``PATH``, no API keys, and ``CATALOG_CONFIG`` pointing OpenRouter at a
closed local port (offline at once, without the retries).

Each command must exit 0 with no traceback, unless its comment says ``exit N`` (for example
``catalog resolve gpt4o   # exit 4: unknown model``), then it must exit N. A command that
cannot run here (a server, an S3 bucket, a foreground scheduler) goes in a block of its own,
preceded by a marker giving the reason, which this test reports as a skip::

    <!-- examples: skip: needs the service running on port 8080 -->

Adding a doc file or a command needs no change here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import fixture_path

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
PAYLOAD = "openrouter-models-2026-08-19.json"

_BLOCK = re.compile(
    r"(?:<!--\s*examples:\s*skip:\s*(?P<why>[^\n]*?)\s*-->\s*\n)?^```sh\n(?P<body>.*?)^```",
    re.S | re.M,
)
_EXIT = re.compile(r"\bexit (\d)\b")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    command: str
    """The command as written, continuation lines joined, its comment removed."""
    expect: int
    skip: str | None = None


def _strip_comment(line: str) -> tuple[str, str]:
    """(command, comment): ``#`` starts a comment outside quotes and ``$(…)``."""
    quote: str | None = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def examples(path: Path, root: Path = REPO) -> list[Example]:
    """The commands of one Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    name = str(path.relative_to(root))
    found: list[Example] = []
    for block in _BLOCK.finditer(text):
        first = text.count("\n", 0, block.start("body")) + 1
        pending, start = "", first
        for offset, raw in enumerate(block.group("body").splitlines()):
            if not pending:
                start = first + offset
            if raw.rstrip().endswith("\\"):
                pending += raw.rstrip()[:-1] + " "
                continue
            command, comment = _strip_comment(pending + raw)
            pending = ""
            if not command.strip():
                continue
            code = _EXIT.search(comment)
            expect = int(code.group(1)) if code else 0
            found.append(Example(name, start, command.strip(), expect, block.group("why")))
    return found


def test_the_parser_reads_continuations_comments_exit_codes_and_markers(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```sh\n"
        "catalog status            # a comment\n"
        "# only a comment\n"
        "catalog resolve gpt4o     # exit 4: unknown model\n"
        "A=$(echo '#x') \\\n"
        "  catalog cost gpt-4o --input 1 --output 1\n"
        "```\n\n"
        "<!-- examples: skip: needs a server -->\n"
        "```sh\ncurl localhost:8080\n```\n"
        "```yaml\nnot: run\n```\n"
    )
    found = examples(doc, root=tmp_path)
    assert [(e.command, e.expect, e.skip) for e in found] == [
        ("catalog status", 0, None),
        ("catalog resolve gpt4o", 4, None),
        ("A=$(echo '#x')    catalog cost gpt-4o --input 1 --output 1", 0, None),
        ("curl localhost:8080", 0, "needs a server"),
    ]
    assert [e.line for e in found] == [2, 4, 5, 11]


def _env(config: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and not k.startswith(("CATALOG_", "AWS_"))
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["CATALOG_CONFIG"] = str(config)
    env["COLUMNS"] = "120"
    return env


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory after the quick start's `make sync`, offline."""
    if shutil.which("syncmodels", path=str(BIN)) is None:
        pytest.skip(f"the console scripts are not installed in {BIN}")
    base = tmp_path_factory.mktemp("examples")
    config = base / "offline.yaml"
    # Port 9 on the loopback: refused at once, so "offline" costs no retries.
    config.write_text("openrouter: {url: 'http://127.0.0.1:9/api/v1/models', max_attempts: 1}\n")
    work = base / "work"
    work.mkdir()
    done = subprocess.run(
        "syncmodels all --offline-ok",
        shell=True,
        cwd=work,
        env=_env(config),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[degraded: embedded catalog, data as of 2026-08-19" in done.stdout
    shutil.copyfile(fixture_path(PAYLOAD), work / "payload.json")
    shutil.copytree(REPO / "overrides", work / "my-overrides")
    return work


def _cases() -> list[object]:
    cases: list[object] = []
    for doc in DOCS:
        found = examples(doc)
        runnable = [e for e in found if e.skip is None]
        if runnable:
            cases.append(pytest.param(runnable, id=str(doc.relative_to(REPO))))
        for e in found:
            if e.skip is not None:
                reason = f"{e.doc}:{e.line} `{e.command}`: {e.skip}"
                cases.append(
                    pytest.param([e], id=f"{e.doc}:{e.line}", marks=pytest.mark.skip(reason))
                )
    return cases


@pytest.mark.parametrize("commands", _cases())
def test_documented_commands_run_as_written(
    commands: list[Example], published: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    shutil.copytree(published, work)
    env = _env(published.parent / "offline.yaml")
    for example in commands:
        done = subprocess.run(
            example.command,
            shell=True,
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        where = f"{example.doc}:{example.line} `{example.command}`"
        assert "Traceback" not in done.stderr, f"{where}: traceback\n{done.stderr}"
        assert done.returncode == example.expect, (
            f"{where}: exit {done.returncode}, documented {example.expect}\n"
            f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-2000:]}"
        )


def test_every_doc_has_its_commands_found() -> None:
    """A guard on the parser: the files that show commands yield some."""
    counts = {doc.name: len(examples(doc)) for doc in DOCS}
    assert counts["README.md"] >= 5 and counts["sync.md"] >= 4 and counts["reader.md"] >= 2
