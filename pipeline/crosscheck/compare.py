"""Published records against a reference catalog, field by field.

A published record takes part in a field's overlap only where both sides state a value: an
absent price, limit or flag (unknown) is never compared with the reference's figure; it is
counted as ``unknown`` (the reference states it, we do not). OpenRouter's catalog publishes
every flag, so a flag no layer had a signal for shows up there with our evidence
``default: …``; provider lists leave such a flag out (issue 14).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.crosscheck.reference import FieldValue, Reference, ReferenceModel
from pipeline.records.model import ModelRecord
from pipeline.stages.enrich import match_key

FIELDS = (
    "input",
    "output",
    "cacheRead",
    "cacheWrite",
    "maxContext",
    "maxOutput",
    "supportsVision",
    "supportsTools",
    "reasoning",
    "structuredOutput",
)
PRICE_FIELDS = frozenset({"input", "output", "cacheRead", "cacheWrite"})
# Prices in the references are binary floats (models.dev) or per-token floats scaled by us
# (LiteLLM): equal within a millionth relative is the same price.
PRICE_TOLERANCE = Decimal("1e-6")
# Which part of a reference entry each field was read from (the raw evidence shown).
MODELSDEV_KEYS = {
    "input": ("cost", "input"),
    "output": ("cost", "output"),
    "cacheRead": ("cost", "cache_read"),
    "cacheWrite": ("cost", "cache_write"),
    "maxContext": ("limit", "context"),
    "maxOutput": ("limit", "output"),
    "supportsVision": ("modalities", "input"),
    "supportsTools": ("tool_call",),
    "reasoning": ("reasoning",),
    "structuredOutput": ("structured_output",),
}
LITELLM_KEYS = {
    "input": ("input_cost_per_token",),
    "output": ("output_cost_per_token",),
    "cacheRead": ("cache_read_input_token_cost",),
    "cacheWrite": ("cache_creation_input_token_cost",),
    "maxContext": ("max_input_tokens",),
    "maxOutput": ("max_output_tokens",),
    "supportsVision": ("supports_vision",),
    "supportsTools": ("supports_function_calling",),
    "reasoning": ("supports_reasoning",),
    "structuredOutput": ("supports_response_schema",),
}
FLAG_ATTRS = {
    "supportsVision": "supports_vision",
    "supportsTools": "supports_tools",
    "structuredOutput": "structured_output",
}
PROVENANCE_FIELD = {
    "input": "pricing",
    "output": "pricing",
    "cacheRead": "pricing",
    "cacheWrite": "pricing",
    "maxContext": "maxContext",
    "maxOutput": "maxOutput",
}


@dataclass
class PublishedList:
    """One published list to check: OpenRouter's catalog or one provider's list."""

    source: str
    source_type: str
    models: Sequence[ModelRecord]
    provenance: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Disagreement:
    source: str
    id: str
    reference_id: str
    field: str
    ours: Any
    theirs: Any
    our_evidence: str
    their_evidence: Any
    origin: str = ""
    """Where our value came from: ``native`` (the provider's own list), ``openrouter`` (the
    OpenRouter feed or enrichment from it), ``api``/``heuristic``/``override`` (the layer
    that decided a flag) or ``default`` (no layer had a signal)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "id": self.id,
            "referenceId": self.reference_id,
            "field": self.field,
            "ours": self.ours,
            "theirs": self.theirs,
            "ourEvidence": self.our_evidence,
            "theirEvidence": self.their_evidence,
            "origin": self.origin,
        }


@dataclass
class FieldCount:
    overlap: int = 0
    agree: int = 0
    unknown: int = 0
    """Matched records where the reference states the field and our record does not."""

    @property
    def disagree(self) -> int:
        return self.overlap - self.agree


@dataclass
class SourceSummary:
    source: str
    reference_provider: str | None
    records: int = 0
    matched: int = 0
    ambiguous: list[str] = field(default_factory=list)


@dataclass
class CrosscheckResult:
    reference: str
    format: str
    sources: list[SourceSummary] = field(default_factory=list)
    counts: dict[str, dict[str, FieldCount]] = field(default_factory=dict)
    """Scope (``openrouter`` or ``providers``) → field → counts."""
    disagreements: list[Disagreement] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The compact figures (run report / status.json)."""
        return {
            "reference": self.reference,
            "format": self.format,
            "matched": {s.source: s.matched for s in self.sources},
            "fields": {
                scope: {
                    name: {
                        "overlap": c.overlap,
                        "agree": c.agree,
                        "disagree": c.disagree,
                        "unknown": c.unknown,
                    }
                    for name, c in fields.items()
                }
                for scope, fields in self.counts.items()
            },
            "disagreements": len(self.disagreements),
            "byOrigin": self.by_origin(),
        }

    def by_origin(self) -> dict[str, dict[str, int]]:
        """Scope → origin of our value → number of disagreements."""
        out: dict[str, dict[str, int]] = {}
        for d in self.disagreements:
            scope = "openrouter" if d.source == "openrouter" else "providers"
            out.setdefault(scope, {})
            out[scope][d.origin] = out[scope].get(d.origin, 0) + 1
        return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}

    def as_json(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "sources": [
                {
                    "source": s.source,
                    "referenceProvider": s.reference_provider,
                    "records": s.records,
                    "matched": s.matched,
                    "ambiguous": s.ambiguous,
                }
                for s in self.sources
            ],
            "disagreementList": [d.as_json() for d in self.disagreements],
        }


def _ours(record: ModelRecord, name: str) -> FieldValue | None:
    if name in PRICE_FIELDS:
        attr = {"cacheRead": "cache_read", "cacheWrite": "cache_write"}.get(name, name)
        value: Decimal | None = getattr(record.pricing, attr)
        return value
    if name == "maxContext":
        return record.max_context
    if name == "maxOutput":
        return record.max_output
    if name == "reasoning":
        # A provider record leaves an unstated flag out (ProviderModelRecord).
        reasoning: str | None = record.reasoning
        return None if reasoning is None else reasoning != "none"
    flag: bool | None = getattr(record, FLAG_ATTRS[name])
    return flag


def _same(name: str, ours: FieldValue, theirs: FieldValue) -> bool:
    if name in PRICE_FIELDS:
        a, b = Decimal(ours), Decimal(theirs)
        if a == b:
            return True
        return abs(a - b) <= PRICE_TOLERANCE * max(abs(a), abs(b))
    return ours == theirs


def _our_evidence(listed: PublishedList, record: ModelRecord, name: str) -> str:
    if name in PROVENANCE_FIELD:
        where = listed.provenance.get(record.id, {})
        origin = where.get(PROVENANCE_FIELD[name]) or where.get("all")
        return origin or ("openrouter feed" if listed.source == "openrouter" else "native")
    flag = "reasoning" if name == "reasoning" else name
    layer = record.detection_source.get(flag, "?")
    return f"{layer}: {record.evidence.get(flag, '')}"


def _origin(evidence: str, name: str) -> str:
    if name in PROVENANCE_FIELD:
        return "openrouter" if evidence.startswith("openrouter") else "native"
    layer, _, detail = evidence.partition(": ")
    return "default" if detail.startswith("default:") else layer


def _their_evidence(reference: Reference, model: ReferenceModel, name: str) -> Any:
    path = (MODELSDEV_KEYS if reference.format == "models.dev" else LITELLM_KEYS)[name]
    value: Any = model.raw
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return {".".join(path): value}


class _Matcher:
    """Published id → reference id: exact (case-insensitive), else a unique match key."""

    def __init__(self, models: dict[str, ReferenceModel]) -> None:
        self.models = models
        self.exact: dict[str, list[str]] = {}
        self.keyed: dict[str, list[str]] = {}
        for ref_id in models:
            self.exact.setdefault(ref_id.lower(), []).append(ref_id)
            self.keyed.setdefault(match_key(ref_id), []).append(ref_id)

    def match(self, model_id: str) -> tuple[str | None, bool]:
        """(reference id or None, ambiguous?)."""
        found = self.exact.get(model_id.lower(), [])
        if len(found) == 1:
            return found[0], False
        if ":" in model_id:
            # An OpenRouter variant (`:batch` at half price, `:free`, `:thinking`) is another
            # offer of the model: only the reference's own entry for the variant describes it.
            return None, False
        candidates = self.keyed.get(match_key(model_id), [])
        if len(candidates) == 1:
            return candidates[0], False
        return None, len(candidates) > 1


def crosscheck(reference: Reference, lists: Iterable[PublishedList]) -> CrosscheckResult:
    """Compare every list with the reference (see the module docstring)."""
    result = CrosscheckResult(reference.path, reference.format)
    for listed in lists:
        scope = "openrouter" if listed.source == "openrouter" else "providers"
        counts = result.counts.setdefault(scope, {name: FieldCount() for name in FIELDS})
        provider = reference.provider_for(listed.source, listed.source_type)
        summary = SourceSummary(listed.source, provider, records=len(listed.models))
        result.sources.append(summary)
        if provider is None:
            continue
        matcher = _Matcher(reference.providers[provider])
        for record in listed.models:
            ref_id, ambiguous = matcher.match(record.id)
            if ref_id is None:
                if ambiguous:
                    summary.ambiguous.append(record.id)
                continue
            summary.matched += 1
            theirs_all = matcher.models[ref_id]
            for name in FIELDS:
                ours = _ours(record, name)
                theirs = theirs_all.fields.get(name)
                if theirs is None:
                    continue
                if ours is None:
                    counts[name].unknown += 1
                    continue
                counts[name].overlap += 1
                if _same(name, ours, theirs):
                    counts[name].agree += 1
                    continue
                evidence = _our_evidence(listed, record, name)
                result.disagreements.append(
                    Disagreement(
                        source=listed.source,
                        id=record.id,
                        reference_id=f"{provider}/{ref_id}",
                        field=name,
                        ours=ours,
                        theirs=theirs,
                        our_evidence=evidence,
                        their_evidence=_their_evidence(reference, theirs_all, name),
                        origin=_origin(evidence, name),
                    )
                )
    result.disagreements.sort(key=lambda d: (d.source, d.id, FIELDS.index(d.field)))
    return result
