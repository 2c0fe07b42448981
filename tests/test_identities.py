"""Tokens that name identities (issue 27): the list and file forms, the single-token form,
refusals that name the entry and never the token, and redaction of every token read."""

from __future__ import annotations

import os
import threading

import pytest

from pipeline.identities import (
    MAX_FILE_BYTES,
    IdentityError,
    Tokens,
    load_tokens,
    parse_tokens,
)
from pipeline.logs import redact

EU = "eu-token-0123456789abcdef"
US = "us-token-0123456789abcdef"


def _load(**environ: str) -> Tokens:
    return load_tokens(
        many_env="X_TOKENS", single_env="X_TOKEN", single_name="default", environ=environ
    )


def test_a_list_of_tokens_names_one_identity_each():
    tokens = _load(X_TOKENS=f"gw-eu={EU}, gw-us={US}")
    assert tokens.names == ("gw-eu", "gw-us")
    assert tokens.identify(f"Bearer {EU}") == "gw-eu"
    assert tokens.identify(f"bearer {US}") == "gw-us"
    assert tokens.identify("Bearer nope-nope-nope-nope") is None
    assert tokens.identify(EU) is None  # not a bearer header
    assert tokens.identify(None) is None


def test_the_single_token_is_one_identity_and_both_forms_combine():
    tokens = _load(X_TOKEN="short-ok", X_TOKENS=f"gw-eu={EU}")
    assert tokens.identify("Bearer short-ok") == "default"
    assert tokens.identify(f"Bearer {EU}") == "gw-eu"
    assert not _load()  # nothing set: closed


def test_a_tokens_file_for_larger_fleets(tmp_path):
    path = tmp_path / "tokens"
    entries = (f"gw-{i}=token-{i:04d}-0123456789ab" for i in range(300))
    lines = ["# one gateway a line", "", *entries]
    path.write_text("\n".join(lines) + "\n")
    tokens = _load(X_TOKENS=str(path))
    assert len(tokens.names) == 300
    assert tokens.identify("Bearer token-0042-0123456789ab") == "gw-42"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"gw-eu={EU},gw-eu={US}", "configured twice"),
        (f"gw-eu={EU},gw-us={EU}", "same token is configured for 'gw-eu'"),
        ("gw-eu=too-short", "shorter than 16"),
        (f"gw eu={EU}", "not 1-64 of letters"),
        (f"../x={EU}", "not 1-64 of letters"),
        (f"probe={EU}", "reserved"),
        (f"gw-eu={EU[:8]}\x01{EU[8:]}", "control character"),
        ("/no/such/tokens-file", "cannot open the tokens file /no/such/tokens-file"),
    ],
)
def test_bad_entries_are_refused_naming_the_entry_never_the_token(value, message):
    with pytest.raises(IdentityError) as caught:
        load_tokens(
            many_env="X_TOKENS",
            single_env="X_TOKEN",
            single_name="default",
            environ={"X_TOKENS": value},
            reserved=("probe",),
        )
    text = str(caught.value)
    assert message in text and "X_TOKENS" in text
    assert EU not in text and US not in text and EU[:8] not in text


def test_a_fifo_or_a_huge_file_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # Opening a FIFO for reading blocks until a writer comes; the loader must not wait.
    refused: list[str] = []

    def load() -> None:
        try:
            parse_tokens(str(fifo), "V")
        except IdentityError as exc:
            refused.append(str(exc))

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "reading the FIFO blocked"
    assert refused and "not a regular file" in refused[0]
    big = tmp_path / "big"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(IdentityError, match="larger than"):
        parse_tokens(str(big), "V")
    with pytest.raises(IdentityError, match="not a regular file"):
        parse_tokens("/dev/zero", "V")


def test_every_token_read_is_scrubbed_from_output(tmp_path):
    path = tmp_path / "tokens"
    secret = "file-token-never-printed-0123"
    path.write_text(f"gw-a={secret}\n")
    _load(X_TOKENS=str(path))
    assert secret not in redact.redact(f"a line quoting {secret} by mistake")


def test_catalog_serve_refuses_to_start_on_a_bad_entry(tmp_path, monkeypatch, capsys):
    from pipeline import cli

    monkeypatch.setenv("CATALOG_RUNTIME_TOKENS", f"gw-eu={EU},gw-us=tiny-secret")
    code = cli.main(["serve", "--store", str(tmp_path / "empty"), "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "CATALOG_RUNTIME_TOKENS entry 2: the token is shorter" in err
    assert "tiny-secret" not in err and "Traceback" not in err
