"""Helpers of the fault-injection suite (tests/test_hardening.py) and `make chaos`.

- :class:`HostileUpstream`: a real HTTP server on 127.0.0.1 (port 0) that answers the
  OpenRouter listing with whatever body a test sets: bytes, a generator of chunks (bodies far
  larger than memory, sent without Content-Length), a trickle of one byte at a time, a status.
  It records the Authorization headers it received.
- :func:`run_cli`: ``catalog …`` in a subprocess, returning its exit code, stdout, stderr and
  peak RSS (``ru_maxrss`` of that process alone, printed by :data:`CLI_WRAPPER`).
- :func:`reader_flood`: tests/reader_flood.py in a subprocess, with the figures it prints.
- Hostile bodies as generators, so the test process never holds them either, and hostile
  files (:data:`GARBAGE_EXPIRY_LOCK`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"

Body = bytes | Callable[[], Iterable[bytes]]


@dataclass
class Answer:
    status: int = 200
    body: Body = b""
    delay_per_chunk: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class HostileUpstream:
    """``with HostileUpstream() as up: up.answer = Answer(...); up.url``."""

    def __init__(self) -> None:
        self.answer = Answer()
        self.auth: list[str | None] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                upstream.auth.append(self.headers.get("Authorization"))
                answer = upstream.answer
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                try:
                    if isinstance(answer.body, bytes) and not answer.delay_per_chunk:
                        self.send_header("Content-Length", str(len(answer.body)))
                        self.end_headers()
                        self.wfile.write(answer.body)
                        return
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunks: Iterable[bytes] = (
                        [answer.body[i : i + 1] for i in range(len(answer.body))]
                        if isinstance(answer.body, bytes)
                        else answer.body()
                    )
                    for chunk in chunks:
                        if answer.delay_per_chunk:
                            time.sleep(answer.delay_per_chunk)
                        if chunk:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on purpose (size limit, deadline)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients killed or cut off on purpose reset their connections

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/api/v1/models?output_modalities=all"

    def __enter__(self) -> HostileUpstream:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- hostile bodies -------------------------------------------------------------------------


def many_items(count: int, item: bytes = b"1") -> Callable[[], Iterator[bytes]]:
    """``{"data": [1, 1, …]}`` with ``count`` items, in 64 KB chunks."""

    def chunks() -> Iterator[bytes]:
        yield b'{"data": ['
        per = 65536 // (len(item) + 1)
        sent = 0
        while sent < count:
            n = min(per, count - sent)
            block = b",".join([item] * n)
            yield (b"," if sent else b"") + block
            sent += n
        yield b"]}"

    return chunks


def deep(levels: int) -> bytes:
    return b'{"data": ' + b"[" * levels + b"]" * levels + b"}"


def endless(total: int, chunk: int = 1 << 20) -> Callable[[], Iterator[bytes]]:
    """A valid-looking list of ``total`` bytes of padding strings (no Content-Length)."""

    def chunks() -> Iterator[bytes]:
        yield b'{"data": ['
        pad = b'"' + b"x" * (chunk - 3) + b'",'
        for _ in range(total // chunk):
            yield pad
        yield b'"end"]}'

    return chunks


# A lock file whose expiry is not a time: it must read as expired (tests/test_hardening.py)
# and a sync must get past it (bench/chaos.py plants it in the shared store).
GARBAGE_EXPIRY_LOCK = json.dumps(
    {
        "runId": "x",
        "job": "openrouter",
        "host": "h",
        "pid": 1,
        "startedAt": "garbage",
        "expiresAt": "garbage",
    }
).encode()


# -- the CLI in a subprocess ------------------------------------------------------------------

# ``python -c CLI_WRAPPER ARGS`` runs ``catalog ARGS`` and writes `PEAK_RSS_KB n` last on
# stderr: run_cli here, and bench/chaos.py, which must SIGKILL its runs at random moments.
CLI_WRAPPER = (
    "import sys\n"
    "from pipeline.cli import main\n"
    "def peak_kb():\n"
    "    # VmHWM: the high-water mark of this process's own memory. ru_maxrss would not do: on\n"
    "    # Linux it inherits the parent's peak across fork/exec (a big pytest process).\n"
    "    try:\n"
    "        for line in open('/proc/self/status'):\n"
    "            if line.startswith('VmHWM:'):\n"
    "                return int(line.split()[1])\n"
    "    except OSError:\n"
    "        pass\n"
    "    import resource\n"
    "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "finally:\n"
    "    sys.__stderr__.write(f'\\nPEAK_RSS_KB {peak_kb()}\\n')\n"
    "sys.exit(code)\n"
)


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    seconds: float


def run_cli(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> CliRun:
    """``catalog ARGS`` in its own process; peak RSS is that process's own."""
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full_env.update(env or {})
    began = time.monotonic()
    done = subprocess.run(
        [str(PYTHON if PYTHON.exists() else sys.executable), "-c", CLI_WRAPPER, *args],
        capture_output=True,
        env=full_env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - began
    stderr = done.stderr.decode("utf-8", "replace")
    peak = 0.0
    for line in stderr.splitlines():
        if line.startswith("PEAK_RSS_KB "):
            peak = int(line.split()[1]) / 1024
    return CliRun(done.returncode, done.stdout.decode("utf-8", "replace"), stderr, peak, seconds)


def store_bytes(root: Path) -> dict[str, bytes]:
    """Every file under a local store, by relative path."""
    return {
        str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


def write_config(path: Path, url: str, **openrouter: Any) -> Path:
    lines = ["openrouter:", f"  url: {url!r}", "  max_attempts: 1"]
    lines += [f"  {key}: {value!r}" for key, value in openrouter.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def reader_flood(
    store_root: Path | str,
    requests: int,
    seed: int,
    *,
    timeout: float,
    check: bool,
    mode: str = "filters",
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """tests/reader_flood.py over the store at ``store_root`` in its own process (so its peak
    RSS is the reader's own): the finished process and the ``name=value`` figures it printed.
    ``mode``: ``filters`` (random cursors and filters) or ``feed-hosts`` (a Host per request)."""
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).parent / "reader_flood.py"),
            str(store_root),
            str(requests),
            str(seed),
            mode,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )
    figures = dict(item.split("=", 1) for item in done.stdout.split() if "=" in item)
    return done, figures
