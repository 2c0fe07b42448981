"""The core sync over every real OpenRouter payload."""

from __future__ import annotations

import pytest
from conftest import fixture_path, openrouter_fixtures, read_json

from pipeline.publishing import keys


@pytest.mark.parametrize("name", openrouter_fixtures())
def test_every_real_payload_syncs(name, sync_file, store):
    path = fixture_path(name)
    result = sync_file(path)
    assert result.published, result.error
    assert result.exit_code == 0
    current = read_json(store, keys.CURRENT)
    quarantined = result.report.counts["quarantined"]
    assert current["count"] == result.report.counts["input"] - quarantined
    assert len(current["models"]) == current["count"]
    assert store.get(current["rawKey"]).data == path.read_bytes()
