"""Who is writing: bearer tokens that each name an identity (issue 27).

The writers of runtime truth — services reporting call outcomes, gateways reporting their
clients' availability — are authenticated identities, not anonymous token holders. A
deployment gives each writer a token of its own, in one variable:

    CATALOG_TELEMETRY_TOKENS="gw-eu=<token>,gw-us=<token>"
    CATALOG_TELEMETRY_TOKENS=/run/secrets/telemetry-tokens    # a file, one `name=token` a line

A value without ``=`` is a file path (for fleets too large for an environment variable): a
regular file of at most ``MAX_FILE_BYTES``, one ``name=token`` per line, ``#`` comments and
blank lines allowed. The older single-token variable still works and is one identity, named by
the caller (``default`` for telemetry, ``gateway`` for the runtime API). Both may be set while
a fleet migrates; a name may not be used twice, nor a token.

Names are 1-64 of ``A-Za-z0-9._-`` (they appear in store keys, logs and published evidence);
tokens at least ``MIN_TOKEN_CHARS`` printable characters. Every token read is remembered by the
redaction step, so it never appears in any output, and errors name the variable, the file and
the line — never a token. A request's token is looked up by its SHA-256 digest, so neither
the lookup nor its timing depends on the configured tokens' characters.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipeline.logs import redact

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_TOKEN_CHARS = 16
"""A token shorter than this is refused (``openssl rand -hex 32`` gives 64)."""
MAX_FILE_BYTES = 1 << 20
"""A tokens file larger than this is refused (about 10,000 identities)."""
MAX_IDENTITIES = 10_000


class IdentityError(ValueError):
    """The token configuration is unusable; the message names the variable or file and line."""


@dataclass(frozen=True)
class Tokens:
    """Configured identities: token digest → identity name."""

    by_digest: Mapping[bytes, str] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    """Every configured identity, sorted."""

    def __bool__(self) -> bool:
        return bool(self.by_digest)

    def identify(self, authorization: str | None) -> str | None:
        """The identity of an ``Authorization: Bearer <token>`` header; None when the header
        is missing, malformed or carries no configured token."""
        header = authorization or ""
        if header[:7].lower() != "bearer ":
            return None
        given = header[7:].strip().encode("utf-8", "surrogateescape")
        digest = hashlib.sha256(given).digest()
        # Looked up by digest: the lookup's timing depends on the SHA-256 of what the client
        # sent, which tells nothing about any configured token (no prefix can be guessed).
        return self.by_digest.get(digest)


def _token(value: str, where: str) -> str:
    token = value.strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise IdentityError(f"{where}: the token is shorter than {MIN_TOKEN_CHARS} characters")
    if any(not ch.isprintable() or ch.isspace() for ch in token):
        raise IdentityError(
            f"{where}: the token holds whitespace or a control character (not shown)"
        )
    return token


def _name(value: str, where: str) -> str:
    name = value.strip()
    if not NAME_RE.fullmatch(name):
        raise IdentityError(
            f"{where}: identity name {name[:40]!r} is not 1-64 of letters, digits and . _ -"
        )
    return name


def read_tokens_file(path: str, variable: str) -> list[tuple[str, str, str]]:
    """(name, token, where) of each ``name=token`` line of a tokens file; the file must be a
    regular file of at most ``MAX_FILE_BYTES`` (a FIFO or a device is refused, not read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise IdentityError(
            f"{variable}: cannot open the tokens file {path}: {exc.strerror}"
        ) from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise IdentityError(f"{variable}: {path} is not a regular file")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise IdentityError(f"{variable}: {path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IdentityError(f"{variable}: {path} is not UTF-8 text") from exc
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{variable} file {path} line {number}"
        if "=" not in line:
            raise IdentityError(f"{where}: expected `name=token`")
        name, token = line.split("=", 1)
        entries.append((name, token, where))
    return entries


def parse_tokens(value: str, variable: str) -> list[tuple[str, str, str]]:
    """(name, token, where) of ``name=token,name=token`` — or of the file ``value`` names
    when it holds no ``=``."""
    value = value.strip()
    if "=" not in value:
        return read_tokens_file(value, variable)
    entries = []
    for index, part in enumerate(value.split(","), start=1):
        if not part.strip():
            continue
        where = f"{variable} entry {index}"
        if "=" not in part:
            raise IdentityError(f"{where}: expected `name=token`")
        name, token = part.split("=", 1)
        entries.append((name, token, where))
    return entries


def load_tokens(
    *,
    many_env: str,
    single_env: str,
    single_name: str,
    environ: Mapping[str, str] | None = None,
    reserved: Iterable[str] = (),
) -> Tokens:
    """The identities configured by ``many_env`` (``name=token`` list or file) and the
    single-token ``single_env`` (one identity called ``single_name``). Empty when neither is
    set (the routes they guard are then closed). Names in ``reserved`` are refused."""
    env = os.environ if environ is None else environ
    entries: list[tuple[str, str, str]] = []
    many = (env.get(many_env) or "").strip()
    if many:
        entries += parse_tokens(many, many_env)
    single = (env.get(single_env) or "").strip()
    if single:
        entries.append((single_name, single, single_env))
    if len(entries) > MAX_IDENTITIES:
        raise IdentityError(f"{many_env}: more than {MAX_IDENTITIES} identities")
    refused = set(reserved)
    by_digest: dict[bytes, str] = {}
    names: set[str] = set()
    for raw_name, raw_token, where in entries:
        name = _name(raw_name, where)
        # The single variable keeps its old leniency on length (it worked before issue 27).
        token = raw_token.strip() if where == single_env else _token(raw_token, where)
        if not token:
            raise IdentityError(f"{where}: empty token")
        if name in refused:
            raise IdentityError(f"{where}: the identity name {name!r} is reserved")
        if name in names:
            raise IdentityError(f"{where}: the identity {name!r} is configured twice")
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        if digest in by_digest:
            raise IdentityError(
                f"{where}: the same token is configured for {by_digest[digest]!r} too"
            )
        redact.remember(token)
        by_digest[digest] = name
        names.add(name)
    return Tokens(by_digest, tuple(sorted(names)))


__all__ = [
    "MAX_FILE_BYTES",
    "MAX_IDENTITIES",
    "MIN_TOKEN_CHARS",
    "NAME_RE",
    "IdentityError",
    "Tokens",
    "load_tokens",
    "parse_tokens",
    "read_tokens_file",
]
