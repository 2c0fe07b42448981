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

from pipeline.crosscheck import genai_prices
from pipeline.crosscheck.reference import FieldValue, Reference, ReferenceModel
from pipeline.records.model import ModelRecord
from pipeline.stages.enrich import match_key, split_date

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
    match: str = "exact"
    """How the records were paired (``MATCHES``)."""

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
            "match": self.match,
        }


MATCHES = {
    "exact": "the same id (case aside)",
    "key": "the same id once separators and a date tag both carry are set aside",
    "undated": "a dated snapshot and the reference's undated entry (or the reverse): the "
    "reference may describe another snapshot",
    "rule": "the reference's own match rule (genai-prices) names our id",
}
"""How a published record and a reference entry were paired, weakest last but one."""


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
            "byMatch": self.by_match(),
        }

    def by_match(self) -> dict[str, int]:
        """How the records of the disagreements were paired (``MATCHES``) → how many."""
        counts: dict[str, int] = {}
        for d in self.disagreements:
            counts[d.match] = counts.get(d.match, 0) + 1
        return {k: counts[k] for k in MATCHES if k in counts}

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
    if reference.format == "genai-prices":
        return genai_prices.raw_value(model.raw, name)
    path = (MODELSDEV_KEYS if reference.format == "models.dev" else LITELLM_KEYS)[name]
    value: Any = model.raw
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return {".".join(path): value}


class _Matcher:
    """Published id → reference entry (see ``match``)."""

    def __init__(self, models: dict[str, ReferenceModel]) -> None:
        self.models = models
        self.exact: dict[str, list[str]] = {}
        self.keyed: dict[str, list[str]] = {}
        self.rules = [m for m in models.values() if m.rule is not None]
        for ref_id in models:
            self.exact.setdefault(ref_id.lower(), []).append(ref_id)
            if ":" not in ref_id:
                # A reference's variant entry (`…:free`) describes that offer only: it is
                # never paired with the paid base model by a stripped key.
                self.keyed.setdefault(match_key(ref_id), []).append(ref_id)

    def match(self, model_id: str) -> tuple[ReferenceModel | None, str, bool]:
        """(reference entry or None, how it was paired, ambiguous?): the same id (case aside;
        of case-duplicate entries the one spelled like ours, or the first when they say the
        same); for genai-prices the first entry whose match rule names the id; else a unique
        entry with the same key (``match_key``), flagged ``undated`` when only one side
        carries a date."""
        found = self.exact.get(model_id.lower(), [])
        if found:
            chosen = _one_of(found, model_id, self.models)
            if chosen is not None:
                return self.models[chosen], "exact", False
            return None, "", True
        if self.rules:
            ruled = next((m for m in self.rules if m.rule is not None and m.rule(model_id)), None)
            return ruled, "rule", False
        if ":" in model_id:
            # An OpenRouter variant (`:batch` at half price, `:free`, `:thinking`) is another
            # offer of the model: only the reference's own entry for the variant describes it.
            return None, "", False
        key, date = split_date(model_id)
        candidates = self.keyed.get(key, [])
        if len(candidates) != 1:
            return None, "", len(candidates) > 1
        theirs = candidates[0]
        dated = (date is None) != (split_date(theirs)[1] is None)
        return self.models[theirs], "undated" if dated else "key", False


def _one_of(found: list[str], model_id: str, models: dict[str, ReferenceModel]) -> str | None:
    """Among reference ids equal to ``model_id`` but for case: the one spelled the same, else
    the first when they all state the same fields (LiteLLM lists some twice), else None."""
    if len(found) == 1:
        return found[0]
    if model_id in found:
        return model_id
    if all(models[f].fields == models[found[0]].fields for f in found):
        return sorted(found)[0]
    return None


def crosscheck(reference: Reference, lists: Iterable[PublishedList]) -> CrosscheckResult:
    """Compare every list with the reference (see the module docstring)."""
    result = CrosscheckResult(reference.path, reference.format)
    for listed in lists:
        scope = "openrouter" if listed.source == "openrouter" else "providers"
        counts = result.counts.setdefault(scope, {name: FieldCount() for name in FIELDS})
        providers = reference.providers_for(listed.source, listed.source_type)
        summary = SourceSummary(
            listed.source, "+".join(providers) or None, records=len(listed.models)
        )
        result.sources.append(summary)
        if not providers:
            continue
        pool: dict[str, ReferenceModel] = {}
        for provider in providers:
            for ref_id, model in reference.providers[provider].items():
                pool.setdefault(ref_id, model)
        matcher = _Matcher(pool)
        for record in listed.models:
            theirs_all, how, ambiguous = matcher.match(record.id)
            if theirs_all is None:
                if ambiguous:
                    summary.ambiguous.append(record.id)
                continue
            summary.matched += 1
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
                        reference_id=f"{theirs_all.provider}/{theirs_all.id}",
                        field=name,
                        ours=ours,
                        theirs=theirs,
                        our_evidence=evidence,
                        their_evidence=_their_evidence(reference, theirs_all, name),
                        origin=_origin(evidence, name),
                        match=how,
                    )
                )
    result.disagreements.sort(key=lambda d: (d.source, d.id, FIELDS.index(d.field)))
    return result
