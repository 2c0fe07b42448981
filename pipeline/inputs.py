"""Files the pipeline is pointed at — a recorded payload (``--from-file``, ``--from-dir``), a
crosscheck reference, override files and pinned manifests, the configuration and the cron
table — read whole, but only regular files and only up to a limit (issue 27).

``/dev/zero`` would otherwise be read until memory runs out and a FIFO would block the run
forever on its first read; both, a directory, a socket or a file over its limit are an OSError
whose ``strerror`` says why, so every caller's existing "cannot read PATH (why)" message names
the file and the problem. The file is opened without blocking and judged on what the opened
descriptor is (``fstat``), so it cannot be swapped for something else between a check and the
read; a file that grows past the limit while it is read is refused too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MIB = 1 << 20
CONFIG_BYTES = 4 * MIB
"""catalog.yaml, the cron table, an override file, a pinned manifest: hand-written, a few kB."""
CHUNK = MIB


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit >= MIB and limit % MIB == 0 else f"{limit:,} bytes"


def read_input(path: str | Path, limit: int | None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them (None: any size, as
    long as it is a regular file); OSError (with the reason in ``strerror`` and the path in
    ``filename``) otherwise."""
    name = str(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)  # a FIFO opens at once without a writer: O_NONBLOCK
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(
                errno.EINVAL, f"{_kind(info.st_mode)}, not a regular file; name a file", name
            )
        if limit is not None and info.st_size > limit:
            raise _too_big(limit, name)
        chunks: list[bytes] = []
        total = 0
        while True:
            # The whole file in one read (one allocation); then one more to see the end.
            wanted = info.st_size + 1 - total if total <= info.st_size else CHUNK
            if limit is not None:
                wanted = min(wanted, limit + 1 - total)
            chunk = os.read(fd, wanted)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:
                raise _too_big(limit, name)  # it grew while being read
    finally:
        os.close(fd)


def _too_big(limit: int, name: str) -> OSError:
    return OSError(errno.EFBIG, f"larger than {_size(limit)}, the limit for it", name)


def read_text_input(path: str | Path, limit: int = CONFIG_BYTES) -> str:
    """:func:`read_input` decoded as UTF-8 (UnicodeDecodeError when it is not)."""
    return read_input(path, limit).decode("utf-8")
