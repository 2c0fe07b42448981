"""Laws of evidence: an `api` flag cites a field its raw record has, and every value of a
provider list says where it came from."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pipeline.laws.published import NOT_HELD, Listing, PublishedSet, openrouter_key
from pipeline.laws.violation import Violation
from pipeline.records.model import ModelRecord
from pipeline.stages.capabilities import FLAG_ATTRS

CITATION = re.compile(
    r"^(?:(?P<origin>(?:openrouter(?:-endpoint)?|modelsdev|litellm|genai-prices):\S+) )?"
    r"(?P<path>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?=[:,]?(?:\s|$))"
)
"""The form of an `api` flag's evidence (``stages.capabilities.cite``): an optional origin
(``openrouter:<id>``, ``openrouter-endpoint:<tag>``, or an independent catalog's entry in a
merged list: ``modelsdev:<key>``, ``litellm:<key>``, ``genai-prices:<key>``), then the path of
the raw field."""

FLAGS = ("kind", "supportsVision", "supportsTools", "reasoning", "structuredOutput")
FLAGS_ALL = (*FLAGS, "isImageGen", "isFree")
UNKNOWN = "unknown"
# Provider-list fields that name their origin in `provenance` (record attribute each).
TRACED = {
    "maxContext": "max_context",
    "maxOutput": "max_output",
    "pricing": "pricing",
    "modalities": "modalities",
    "supportedParameters": "supported_parameters",
    "quantization": "quantization",
}


def api_cites_raw(published: PublishedSet) -> Iterator[Violation]:
    """An `api` flag cites a field present in the raw record: its evidence starts with the
    path of the field that states it (``architecture.input_modalities ['image', 'text']``,
    ``capabilities.image_input: …``), after the origin when the fact came from elsewhere
    (``openrouter:<id>``: that OpenRouter record; ``openrouter-endpoint:<tag>``: the
    provider's own offer there), and the raw record has that field. Where the store holds
    no raw snapshot to read (the embedded catalog), only the form is checked."""
    for listing in published.lists:
        for model in listing.models:
            api = [flag for flag, layer in model.detection_source.items() if layer == "api"]
            if not api:
                continue
            api.sort()
            # The model's own raw record, looked up (and unpacked) once for all its flags.
            own: list[tuple[Any, str]] = []
            for flag in api:
                evidence = model.evidence.get(flag, "")
                problem = _citation_problem(published, listing, model, evidence, own)
                if problem is not None:
                    yield Violation(
                        "api-cites-raw",
                        listing.source,
                        model.id,
                        f"{flag} ({_shown(getattr(model, FLAG_ATTRS[flag]))}): {problem}; "
                        f"evidence {evidence!r}",
                    )


@functools.lru_cache(maxsize=4096)
def _citation(evidence: str) -> tuple[str | None, str, tuple[str, ...]] | None:
    """(origin, path, path's parts) of an evidence text, or None when it cites no field.
    Cached: a sync checks ~3,600 citations of a few hundred distinct texts (issue 29)."""
    found = CITATION.match(evidence)
    if found is None:
        return None
    path = found.group("path")
    return found.group("origin"), path, tuple(path.split("."))


def _citation_problem(
    published: PublishedSet,
    listing: Listing,
    model: ModelRecord,
    evidence: str,
    own: list[tuple[Any, str]],
) -> str | None:
    cited = _citation(evidence)
    if cited is None:
        return "the evidence names no raw field"
    origin, path, parts = cited
    if origin is None and listing.served_by == "catalog":
        # A list built from OpenRouter's catalog carries its records' evidence as it was.
        origin = listing.provenance.get(model.id, {}).get("all")
    if origin is not None and origin.startswith("openrouter-endpoint:"):
        return _offer_problem(published, model, origin.split(":", 1)[1], path)
    if origin is not None and not origin.startswith("openrouter:"):
        source, key = origin.split(":", 1)
        raw, where = published.catalog_raw(source, key), f"{source}'s entry {key}"
    elif origin is not None:
        raw = published.openrouter_raw(origin.split(":", 1)[1])
        where = f"OpenRouter's record {origin.split(':', 1)[1]}"
    else:
        if not own:
            own.append(_own_raw(published, listing, model))
        raw, where = own[0]
    if raw is NOT_HELD:
        return None  # no snapshot in the store: the form is all there is to check
    if raw is None:
        return f"{where} is not there"
    if not _has_parts(raw, parts):
        return f"{where} has no field {path}"
    return None


def _own_raw(published: PublishedSet, listing: Listing, model: ModelRecord) -> tuple[Any, str]:
    """(raw record, where it is said to be) of a model in its own list's snapshot."""
    if listing.is_openrouter:
        snapshot = openrouter_key(model, published.catalog_key, published.generated_at)
        return published.raw.get(snapshot, "openrouter", model.id), f"the raw record ({snapshot})"
    raw = published.raw.get(listing.raw_key, listing.source_type, model.id)
    return raw, f"the raw record ({listing.raw_key})"


def _offer_problem(published: PublishedSet, model: ModelRecord, tag: str, path: str) -> str | None:
    linked = [s.native_id for s in model.sources if s.source == "openrouter"]
    for model_id in linked:
        record = published.openrouter_record(model_id)
        for offer in record.offers or () if record is not None else ():
            if (offer.tag or offer.provider) == tag and has_path(offer.model_dump(), path):
                return None
    return f"no offer {tag} with {path} on OpenRouter's {', '.join(linked) or 'match'}"


def has_path(raw: Any, path: str) -> bool:
    """Whether the dotted ``path`` leads to a field of ``raw`` (a null value counts)."""
    return _has_parts(raw, tuple(path.split(".")))


def _has_parts(raw: Any, parts: tuple[str, ...]) -> bool:
    node = raw
    for part in parts:
        # A parsed record's nodes are dicts: the exact type test first (an ABC isinstance
        # costs ~10 times more, a sync makes ~5,000 of them).
        if not (type(node) is dict or isinstance(node, Mapping)) or part not in node:
            return False
        node = node[part]
    return True


def provider_provenance(published: PublishedSet) -> Iterator[Violation]:
    """Every provider-list value has provenance: each model of a provider list has a
    `provenance` entry naming, for its context, output cap, prices, modalities, supported
    parameters and quantization, where the value came from (`native`, `openrouter:<id>`,
    `openrouter-endpoint:<tag>`), or `unknown` — and then the value is absent. A published
    flag has a `detectionSource`; an absent one is `unknown` in `provenance`."""
    for listing in published.lists:
        if listing.is_openrouter:
            continue
        for model in listing.models:
            for problem in _provenance_problems(listing, model):
                yield Violation("provider-provenance", listing.source, model.id, problem)


def _provenance_problems(listing: Listing, model: ModelRecord) -> Iterator[str]:
    origins = listing.provenance.get(model.id)
    if origins is None:
        yield "no provenance entry"
        return
    for name, attr in TRACED.items():
        origin = origins.get(name) or origins.get("all")
        present = _present(getattr(model, attr, None))
        if origin is None and (present or name != "quantization"):
            yield f"{name} has no provenance" + (" (value present)" if present else "")
        elif origin == UNKNOWN and present:
            yield f"{name} is published although its provenance is unknown"
    for flag in FLAGS_ALL:
        value = getattr(model, FLAG_ATTRS[flag])
        if value is None and origins.get(flag) != UNKNOWN:
            yield f"{flag} is absent but its provenance is not unknown"
        elif value is not None and flag not in model.detection_source:
            yield f"{flag} is published without a detectionSource"


def _present(value: Any) -> bool:
    if value is None:
        return False
    if hasattr(value, "model_dump"):
        dumped = value.model_dump(exclude_none=True, exclude_defaults=True)
        return bool(dumped)
    if isinstance(value, list):
        return bool(value)
    return True


def _shown(value: object) -> str:
    return "absent" if value is None else str(value).lower()
