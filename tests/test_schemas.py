"""The committed JSON Schemas match the models they are generated from."""

from __future__ import annotations

import pytest

from pipeline import schemas


@pytest.mark.parametrize("name", sorted(schemas.ARTIFACTS))
def test_committed_schema_matches_the_models(name):
    assert schemas.committed(name) == schemas.render(name), (
        f"pipeline/schemas/{name}.schema.json is stale: run `make schemas`"
    )
