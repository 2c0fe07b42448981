"""current.json encoded a chunk of models at a time, into memory or into a spool (issue 30):
the same bytes as the whole document encoded at once, validated and scrubbed the same way."""

from __future__ import annotations

import hashlib
import re

import pytest
from conftest import fixture_path

from pipeline.logs import redact
from pipeline.publishing import jsonio, publish
from pipeline.publishing.schemas import SchemaViolation
from pipeline.publishing.store import LocalStore, Spooled, spool
from pipeline.records.catalog import CurrentCatalog

PAYLOAD = "openrouter-models-all-2026-08-19.json"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> CurrentCatalog:
    """The 549-model catalog a sync of the real payload publishes (more than two chunks)."""
    from pipeline.config import CatalogConfig
    from pipeline.runs.sync import SyncRequest, sync_openrouter
    from pipeline.timeutil import parse_iso

    store = LocalStore(tmp_path_factory.mktemp("listing"))
    request = SyncRequest(now=parse_iso("2026-08-19T00:00:00Z"), from_file=fixture_path(PAYLOAD))
    result = sync_openrouter(store, CatalogConfig(), request)
    assert result.published and result.catalog is not None, result.error
    assert len(result.catalog.models) > 2 * publish.LISTING_CHUNK
    return result.catalog


@pytest.fixture(autouse=True)
def _nothing_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """No secret remembered by an earlier test (a CLI run remembers the environment's) is
    scrubbed here unless a test remembers it; each test's are forgotten after it."""
    monkeypatch.setattr(redact, "_values", frozenset())


def whole(catalog: CurrentCatalog) -> bytes:
    """The document encoded in one piece, as encode_listing did before it was chunked."""
    return jsonio.dump_model(catalog)


def test_chunks_give_the_bytes_of_the_whole_document(catalog: CurrentCatalog) -> None:
    assert bytes(publish.encode_listing("current", catalog, "models", "ModelRecord")) == whole(
        catalog
    )


@pytest.mark.parametrize("count", [0, 1, publish.LISTING_CHUNK, publish.LISTING_CHUNK + 1])
def test_any_number_of_models(catalog: CurrentCatalog, count: int) -> None:
    part = catalog.model_copy(update={"models": catalog.models[:count], "count": count})
    encoded = publish.encode_listing("current", part, "models", "ModelRecord")
    assert bytes(encoded) == whole(part)


def test_a_spool_holds_the_same_bytes_and_hash(catalog: CurrentCatalog, tmp_path) -> None:
    store = LocalStore(tmp_path / "store")
    with spool(store, "current.json") as current:
        publish.spool_listing("current", catalog, "models", "ModelRecord", current)
        expected = whole(catalog)
        assert current.read() == expected
        assert current.size == len(expected)
        assert current.sha256() == hashlib.sha256(expected).hexdigest()
    assert list((tmp_path / "store").iterdir()) == []  # the spool has no name to leave behind


@pytest.mark.parametrize("secret", ["sk-test-remembered-0123456789", "remembered-0123456789\n"])
def test_remembered_secrets_are_scrubbed_from_every_chunk(
    catalog: CurrentCatalog, secret: str
) -> None:
    """A secret quoted in the models is scrubbed as from the whole document; one with a newline
    (which could span two pieces) from the document in one piece."""
    models = list(catalog.models)
    at = [0, publish.LISTING_CHUNK - 1, publish.LISTING_CHUNK, len(models) - 1]
    for index in at:  # the first and last model of a chunk, and of the document
        models[index] = models[index].model_copy(update={"description": f"uses {secret} here"})
    tainted = catalog.model_copy(update={"models": models})
    redact.remember(secret)
    encoded = bytes(publish.encode_listing("current", tainted, "models", "ModelRecord"))
    assert encoded == redact.redact_bytes(whole(tainted), shapes=False)
    assert secret.strip().encode() not in encoded
    assert encoded.count(redact.MASK.encode()) >= len(at)


def test_an_invalid_model_is_refused_naming_it(catalog: CurrentCatalog) -> None:
    models = list(catalog.models)
    bad = models[publish.LISTING_CHUNK + 3]
    models[publish.LISTING_CHUNK + 3] = bad.model_copy(update={"kind": "tv"})
    broken = catalog.model_copy(update={"models": models})
    named = rf'current: ModelRecord {re.escape(bad.id)}: \$\.kind: "tv" is not one of'
    with pytest.raises(SchemaViolation, match=named):
        publish.encode_listing("current", broken, "models", "ModelRecord")
    with pytest.raises(SchemaViolation), Spooled(None, "test") as into:
        publish.spool_listing("current", broken, "models", "ModelRecord", into)
