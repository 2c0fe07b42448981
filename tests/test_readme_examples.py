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
cannot run here (an S3 bucket, a foreground scheduler) goes in a block of its own, preceded by
a marker giving the reason, which this test reports as a skip::

    <!-- examples: skip: needs an S3 bucket -->

Commands that talk to the HTTP service go in a block marked ``<!-- examples: serve -->``
that starts the service itself (``catalog serve --port 8080 &``, as a reader types it). Such a
block runs as one bash session (``pipefail``; variables carry from line to line) in the same
sandbox, with the real ``curl``, ``jq`` and ``openssl``: after the ``catalog serve … &`` line
the test waits until the service answers, and stops it at the end. Two things differ from a
reader's shell, both so that a wrong answer cannot pass: ``curl`` reads a ``.curlrc`` holding
``fail-with-body``, so an HTTP error (a 422, a 401) fails the command with exit 22 (write
``# exit 22`` where a doc shows an error on purpose); and port 8080 is replaced by a free
port, so parallel runs do not collide.

Adding a doc file or a command needs no change here.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
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
    r"(?:<!--\s*examples:\s*(?:skip:\s*(?P<why>[^\n]*?)|(?P<serve>serve))\s*-->\s*\n)?"
    r"^```sh\n(?P<body>.*?)^```",
    re.S | re.M,
)
_SERVE = re.compile(r"^catalog serve\b.*&$")
_PORT = re.compile(r"(?<=localhost:)8080\b|(?<=127\.0\.0\.1:)8080\b|(?<=--port )8080\b")
_EXIT = re.compile(r"\bexit (\d+)\b")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    command: str
    """The command as written, continuation lines joined, its comment removed."""
    expect: int
    skip: str | None = None
    serve: int | None = None
    """In a ``serve`` block: the line the block starts on (its commands run as one session)."""


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
            serve = first if block.group("serve") else None
            found.append(Example(name, start, command.strip(), expect, block.group("why"), serve))
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
        "<!-- examples: skip: needs a bucket -->\n"
        "```sh\ncatalog sync openrouter --store s3://b/c\n```\n"
        "```yaml\nnot: run\n```\n"
        "<!-- examples: serve -->\n"
        "```sh\ncatalog serve --port 8080 &\ncurl -sf localhost:8080/nope   # exit 22\n```\n"
    )
    found = examples(doc, root=tmp_path)
    assert [(e.command, e.expect, e.skip, e.serve) for e in found] == [
        ("catalog status", 0, None, None),
        ("catalog resolve gpt4o", 4, None, None),
        ("A=$(echo '#x')    catalog cost gpt-4o --input 1 --output 1", 0, None, None),
        ("catalog sync openrouter --store s3://b/c", 0, "needs a bucket", None),
        ("catalog serve --port 8080 &", 0, None, 18),
        ("curl -sf localhost:8080/nope", 22, None, 18),
    ]
    assert [e.line for e in found] == [2, 4, 5, 11, 18, 19]
    # A served session: the port replaced, the wait after the serve line, every exit recorded.
    script = _session(found[-2:], 41234, tmp_path / "codes")
    assert "catalog serve --port 41234 &\n__ready\n" in script
    assert "curl -sf localhost:41234/nope\n" in script and script.count(" >> ") == 2


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
        runnable = [e for e in found if e.skip is None and e.serve is None]
        if runnable:
            cases.append(pytest.param(runnable, id=str(doc.relative_to(REPO))))
        for e in found:
            if e.skip is not None:
                reason = f"{e.doc}:{e.line} `{e.command}`: {e.skip}"
                cases.append(
                    pytest.param([e], id=f"{e.doc}:{e.line}", marks=pytest.mark.skip(reason))
                )
    return cases


def _served_cases() -> list[object]:
    blocks: dict[tuple[str, int], list[Example]] = {}
    for doc in DOCS:
        for e in examples(doc):
            if e.serve is not None:
                blocks.setdefault((e.doc, e.serve), []).append(e)
    return [pytest.param(found, id=f"{doc}:{line}") for (doc, line), found in blocks.items()]


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _session(commands: list[Example], port: int, results: Path) -> str:
    """One bash script running ``commands`` in order, each exit code appended to ``results``,
    waiting for the service after the line that starts it; the service stops at the end."""
    lines = [
        "set -o pipefail",
        "trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT",
        # `curl -q` skips the .curlrc: waiting is no HTTP error.
        f"__ready() {{ for _ in $(seq 100); do curl -q -s -o /dev/null "
        f"http://127.0.0.1:{port}/healthz && return 0; sleep 0.2; done; return 1; }}",
    ]
    for number, example in enumerate(commands):
        command = _PORT.sub(str(port), example.command)
        lines.append(command)
        if _SERVE.match(example.command):
            lines.append("__ready")
        lines.append(f'echo "{number} $?" >> {results}')
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("commands", _served_cases())
def test_documented_server_commands_run_as_written(
    commands: list[Example], published: Path, tmp_path: Path
) -> None:
    for tool in ("curl", "jq", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: `make test` installs it (tests/system-tools.sh)")
    assert any(_SERVE.match(e.command) for e in commands), (
        f"{commands[0].doc}:{commands[0].serve}: a serve block starts `catalog serve … &`"
    )
    work = tmp_path / "work"
    shutil.copytree(published, work)
    (work / ".curlrc").write_text("fail-with-body\nmax-time = 60\n")
    env = _env(published.parent / "offline.yaml")
    env["CURL_HOME"] = str(work)
    for name in ("CATALOG_ADMIN_TOKEN", "CATALOG_RUNTIME_TOKEN", "CATALOG_TELEMETRY_TOKEN"):
        env[name] = secrets.token_hex(32)  # what a reader exports before `catalog serve`
    results = tmp_path / "results"
    done = subprocess.run(
        ["bash", "-c", _session(commands, _free_port(), results)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    recorded = results.read_text().splitlines() if results.exists() else []
    codes = {int(n): int(c) for n, c in (line.split() for line in recorded)}
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    for number, example in enumerate(commands):
        where = f"{example.doc}:{example.line} `{example.command}`"
        assert codes.get(number) == example.expect, (
            f"{where}: exit {codes.get(number)}, documented {example.expect}\n"
            f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-3000:]}"
        )


def test_every_doc_has_its_commands_found() -> None:
    """A guard on the parser: the files that show commands yield some."""
    counts = {doc.name: len(examples(doc)) for doc in DOCS}
    assert counts["README.md"] >= 5 and counts["sync.md"] >= 4 and counts["reader.md"] >= 2
