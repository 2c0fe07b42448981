"""Buckets and selection: the curated shortlist (``curated.json``) from the ranked catalog.

Membership rules (every rule also needs: lifecycle `active`, not a router, not a `~` alias
pointer — the model it points to is curated instead). "chat" below means kind `chat` and
not an image generator (those belong to `imageGen` only).

| bucket      | member when                                                                   |
|-------------|-------------------------------------------------------------------------------|
| `coding`    | chat · tools · (coder family name, or feed coding index ≥ CODING_INDEX_MIN)   |
| `reasoning` | chat · reasoning `fixed` or `configurable`                                    |
| `chat`      | chat · text in and text out                                                   |
| `fastCheap` | chat · price tier `free` or `budget` · latency score ≥ the neutral 0.5        |
| `vision`    | chat · accepts image input                                                    |
| `imageGen`  | generates images (`isImageGen`)                                               |

Selection: each bucket takes eligible models by rank (then id) until its size, with at most
``max_per_family`` per provider family; a `:variant` (`:free`, `:batch`, ...) and its base
model are one line, so a bucket holds at most one of them and they never use two family slots.
Buckets pick in rounds (one model each per round) and a model sits in at most
``max_buckets_per_model`` buckets, so the same few top models do not fill every bucket. A bucket
below its minimum is published short with a `shortfalls` entry — never padded.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.config import CurationConfig
from pipeline.overrides.files import CoreEntry, Overrides, QualityScore, QualityScores
from pipeline.records.catalog import CurrentCatalog, Deprecations
from pipeline.records.curated import (
    BucketName,
    Constraints,
    CoreIssue,
    CoreModel,
    CoreSource,
    CuratedCatalog,
    CuratedModel,
    CuratedRef,
    Shortfall,
    Weights,
)
from pipeline.stages import core as core_stage
from pipeline.stages.normalize import variant_base
from pipeline.stages.rank import DEFAULT, Ranked, rank_catalog
from pipeline.timeutil import iso

QUALITY_FILE = "quality-scores.json"

# Coder lines by name (the design note's "Qwen coder line, Devstral line, ...").
CODER_RE = re.compile(r"(coder|codestral|devstral|codex|code)", re.IGNORECASE)
# Artificial Analysis Coding Index at or above which a general model counts as a coding model:
# on the 2026-08-19 full feed the index of active chat models runs from 2.7 to 78.0, and 72 of
# the 166 benchmarked ones (43%) reach 50 — a round bar just above the median.
CODING_INDEX_MIN = 50.0


def _is_chat(r: Ranked) -> bool:
    # Image generators that also write text (kind chat) belong to imageGen only.
    return r.record.kind == "chat" and not r.record.is_image_gen


def _coding(r: Ranked) -> bool:
    record = r.record
    bench = record.benchmarks
    strong = bench is not None and (bench.coding_index or 0) >= CODING_INDEX_MIN
    named = CODER_RE.search(record.id.split("/", 1)[-1]) is not None
    return _is_chat(r) and record.supports_tools and (named or strong)


def _reasoning(r: Ranked) -> bool:
    return _is_chat(r) and r.record.reasoning != "none"


def _chat(r: Ranked) -> bool:
    mods = r.record.modalities
    return _is_chat(r) and "text" in mods.input and "text" in mods.output


def _fast_cheap(r: Ranked) -> bool:
    return (
        _is_chat(r)
        and r.record.price_tier in ("free", "budget")
        and r.scores.latency.value >= DEFAULT
    )


def _vision(r: Ranked) -> bool:
    return _is_chat(r) and r.record.supports_vision


def _image_gen(r: Ranked) -> bool:
    return r.record.is_image_gen


@dataclass(frozen=True)
class BucketRule:
    name: BucketName
    rule: str
    """The rule in words (shown in shortfall reasons)."""
    member: Callable[[Ranked], bool]


BUCKETS: tuple[BucketRule, ...] = (
    BucketRule("coding", "chat, tools, coder name or coding index ≥ 50", _coding),
    BucketRule("reasoning", "chat with reasoning fixed or configurable", _reasoning),
    BucketRule("chat", "chat, text in and out", _chat),
    BucketRule("fastCheap", "chat, free or budget tier, not slow", _fast_cheap),
    BucketRule("vision", "chat accepting image input", _vision),
    BucketRule("imageGen", "generates images", _image_gen),
)


def curatable(r: Ranked) -> bool:
    """Common to every bucket: active (already true of ranked models), no router, no alias."""
    return r.record.kind != "router" and not r.record.id.startswith("~")


@dataclass
class Selection:
    """One bucket's picks and why others were passed over."""

    rule: BucketRule
    size: int
    candidates: list[Ranked]
    """Eligible models, best ranked first."""
    chosen: list[Ranked] = field(default_factory=list)
    families: Counter[str] = field(default_factory=Counter)
    lines: set[str] = field(default_factory=set)
    family_capped: int = 0
    variant_skipped: int = 0
    spread_skipped: int = 0
    cursor: int = 0
    pinned: set[str] = field(default_factory=set)
    """Ids placed by a pin (skipped when rank order reaches them)."""

    @property
    def eligible(self) -> int:
        return len(self.candidates)

    def pin(self, item: Ranked, max_per_family: int, used: Counter[str], max_buckets: int) -> str:
        """Place a pinned model ahead of rank order; the refusal in words, or "" when placed.
        Pins still meet the bucket's rule and the constraints, so a pin never breaks them."""
        line = variant_base(item.record.id)
        if not self.rule.member(item):
            return f"it does not meet the rule of {self.rule.name} ({self.rule.rule})"
        if len(self.chosen) >= self.size:
            return f"{self.rule.name} is already full of pinned models ({self.size})"
        if line in self.lines:
            return f"a variant of it is already pinned to {self.rule.name}"
        if self.families[item.record.family] >= max_per_family:
            return f"{max_per_family} {item.record.family} models are already pinned there"
        if used[item.record.id] >= max_buckets:
            return f"it is already pinned to {max_buckets} buckets (max_buckets_per_model)"
        self.chosen.append(item)
        self.pinned.add(item.record.id)
        self.families[item.record.family] += 1
        self.lines.add(line)
        used[item.record.id] += 1
        return ""

    def take_next(self, max_per_family: int, used: Counter[str], max_buckets: int) -> bool:
        """Pick this bucket's next model; False when the bucket is full or exhausted."""
        while len(self.chosen) < self.size and self.cursor < len(self.candidates):
            item = self.candidates[self.cursor]
            self.cursor += 1
            if item.record.id in self.pinned:  # placed ahead of its turn
                continue
            line = variant_base(item.record.id)
            if line in self.lines:
                self.variant_skipped += 1
            elif self.families[item.record.family] >= max_per_family:
                self.family_capped += 1
            elif used[item.record.id] >= max_buckets:
                self.spread_skipped += 1
            else:
                self.chosen.append(item)
                self.families[item.record.family] += 1
                self.lines.add(line)
                used[item.record.id] += 1
                return True
        return False


def select_all(
    pool: Sequence[Ranked],
    sizes: dict[BucketName, int],
    config: CurationConfig,
    pins: Mapping[str, Sequence[BucketName]] | None = None,
    refused: list[tuple[str, BucketName, str]] | None = None,
) -> list[Selection]:
    """Fill the buckets in rounds, one pick per bucket per round, so the best models spread
    over the buckets instead of the same few filling all of them (``max_buckets_per_model``).
    ``pins`` (model id → buckets, from the curated core) are placed first, best ranked first;
    each pin a rule or constraint refuses is appended to ``refused`` as (id, bucket, why)."""
    ordered = sorted(pool, key=lambda r: (-r.rank, r.record.id))
    selections = [
        Selection(rule, sizes[rule.name], [r for r in ordered if rule.member(r)])
        for rule in BUCKETS
    ]
    used: Counter[str] = Counter()
    by_id = {r.record.id: r for r in ordered}
    pinned = sorted(
        (pins or {}).items(),
        key=lambda kv: (-by_id[kv[0]].rank if kv[0] in by_id else 1.0, kv[0]),
    )
    for selection in selections:
        for model_id, buckets in pinned:
            if selection.rule.name not in buckets:
                continue
            item = by_id.get(model_id)
            why = (
                "it is not an active, curatable model"
                if item is None
                else selection.pin(item, config.max_per_family, used, config.max_buckets_per_model)
            )
            if why and refused is not None:
                refused.append((model_id, selection.rule.name, why))
    progress = True
    while progress:
        progress = False
        for selection in selections:
            if selection.take_next(config.max_per_family, used, config.max_buckets_per_model):
                progress = True
    return selections


def _shortfall(rule: BucketRule, minimum: int, picked: Selection, cap: int) -> Shortfall:
    reason = f"only {picked.eligible} active model(s) meet the rule ({rule.rule})"
    if picked.family_capped or picked.variant_skipped or picked.spread_skipped:
        reason += (
            f"; {picked.family_capped} more left out by the cap of {cap} per family, "
            f"{picked.variant_skipped} as variants of a model already in the bucket and "
            f"{picked.spread_skipped} already curated in enough other buckets"
        )
    return Shortfall(
        bucket=rule.name,
        minimum=minimum,
        selected=len(picked.chosen),
        eligible=picked.eligible,
        reason=reason,
    )


def quality_overrides(overrides: Overrides) -> list[QualityScore]:
    """The entries of quality-scores.json, when it was loaded."""
    loaded = overrides.files.get(QUALITY_FILE)
    return list(loaded.scores) if isinstance(loaded, QualityScores) else []


def build_curated(
    catalog: CurrentCatalog,
    *,
    now: datetime,
    run_id: str,
    config: CurationConfig,
    overrides: Sequence[QualityScore] = (),
    core: Mapping[str, CoreEntry] | None = None,
    deprecations: Deprecations | None = None,
) -> CuratedCatalog:
    """Score, rank, bucket and select: the curated.json document (pure). ``core`` is
    curated-core.json (merged in: pins, exclusions, the ``core`` section); ``deprecations``
    the redirects and tombstones its entries are followed through."""
    ranked = rank_catalog(catalog.models, now=now, config=config, quality_overrides=overrides)
    attachments = core_stage.attach(
        core or {},
        {m.id: m for m in catalog.models},
        deprecations,
        _replacer(catalog, deprecations, ranked),
    )
    excluded = sorted({a.model.id for a in attachments if a.entry.exclude and a.model is not None})
    pins = {
        a.model.id: a.entry.pin
        for a in attachments
        if a.model is not None and a.entry.pin and not a.entry.exclude
    }
    pool = [r for r in ranked.values() if curatable(r) and r.record.id not in excluded]
    refused: list[tuple[str, BucketName, str]] = []
    buckets: dict[BucketName, list[CuratedRef]] = {}
    member_of: dict[str, list[BucketName]] = {}
    shortfalls: list[Shortfall] = []
    sizes: dict[BucketName, int] = {
        rule.name: max(config.minimums[rule.name], config.sizes[rule.name]) for rule in BUCKETS
    }
    for picked in select_all(pool, sizes, config, pins, refused):
        rule = picked.rule
        minimum = config.minimums[rule.name]
        buckets[rule.name] = [
            CuratedRef(id=r.record.id, alias=r.record.alias) for r in picked.chosen
        ]
        if len(picked.chosen) < minimum:
            shortfalls.append(_shortfall(rule, minimum, picked, config.max_per_family))
    for rule in BUCKETS:
        for ref in buckets[rule.name]:
            member_of.setdefault(ref.id, []).append(rule.name)
    models = [
        CuratedModel(
            id=ranked[model_id].record.id,
            alias=ranked[model_id].record.alias,
            rank=ranked[model_id].rank,
            scores=ranked[model_id].scores,
            buckets=names,
        )
        for model_id, names in member_of.items()
    ]
    models.sort(key=lambda m: (-m.rank, m.id))
    core_models, issues = _core_section(attachments, ranked, member_of, refused)
    weights = config.weights
    return CuratedCatalog(
        generated_at=iso(now),
        run_id=run_id,
        catalog_run_id=catalog.run_id,
        buckets=buckets,
        models=models,
        ranks={model_id: ranked[model_id].rank for model_id in sorted(ranked)},
        weights=Weights(
            quality=weights.quality,
            reliability=weights.reliability,
            latency=weights.latency,
            cost=weights.cost,
        ),
        constraints=Constraints(
            minimums=dict(config.minimums),
            sizes=dict(sizes),
            max_per_family=config.max_per_family,
            max_buckets_per_model=config.max_buckets_per_model,
        ),
        shortfalls=shortfalls,
        core=core_models,
        excluded=excluded,
        core_issues=issues,
    )


def _replacer(
    catalog: CurrentCatalog, deprecations: Deprecations | None, ranked: Mapping[str, Ranked]
) -> Callable[[str], str | None]:
    """What the reader's resolution serves for an id (redirects, family fallback), built on
    first use: only a deprecated or removed core entry needs it."""
    from pipeline.resolve import CatalogIndex, resolve

    index: list[CatalogIndex] = []

    def replacement(model_id: str) -> str | None:
        if not index:
            index.append(
                CatalogIndex(
                    core_stage.plain(catalog),
                    core_stage.plain(deprecations) if deprecations else None,
                    {i: r.rank for i, r in ranked.items()},
                )
            )
        found = resolve(model_id, index[0]).model_id
        return found if found != model_id else None

    return replacement


CORE_FIELDS: dict[str, CoreSource] = {
    "specialty": "curated-core",
    "summary": "curated-core",
    "help": "curated-core",
    "alias": "curated-core",
    "name": "feed",
    "description": "feed",
    "state": "computed",
    "rank": "computed",
    "scores": "computed",
    "buckets": "computed",
}


def _core_section(
    attachments: Sequence[core_stage.Attachment],
    ranked: Mapping[str, Ranked],
    member_of: Mapping[str, list[BucketName]],
    refused: Sequence[tuple[str, BucketName, str]],
) -> tuple[list[CoreModel], list[CoreIssue]]:
    """The published core (file order) and every issue with it."""
    out: list[CoreModel] = []
    issues: list[CoreIssue] = []
    for attachment in attachments:
        issues.extend(attachment.issues)
        record, entry = attachment.model, attachment.entry
        if record is None or entry.exclude:
            continue
        defaults, default_sources, refused_defaults = core_stage.safe_defaults(
            attachment.entry_id, entry, record
        )
        issues.extend(refused_defaults)
        for model_id, bucket, why in refused:
            if model_id == record.id:
                issues.append(
                    CoreIssue(
                        entry=attachment.entry_id,
                        problem="pin-refused",
                        field=f"pin.{bucket}",
                        detail=f"{record.id} is not pinned to {bucket}: {why}",
                    )
                )
        names = (record.alias, *(record.aliases or ()))
        if entry.alias is not None and entry.alias not in names:
            issues.append(
                CoreIssue(
                    entry=attachment.entry_id,
                    problem="alias-taken",
                    field="alias",
                    detail=f"{record.id} is published as {record.alias!r} without its concise "
                    f"alias {entry.alias!r}: another model's alias holds that name, or the sync "
                    "that published the catalog ran without this curated core",
                )
            )
        concise = entry.alias if entry.alias in names else None
        scored = ranked.get(record.id)
        sources = dict(CORE_FIELDS)
        if concise is None:
            sources["alias"] = "computed"
        if record.description is None:
            del sources["description"]
        if scored is None:
            del sources["rank"], sources["scores"]
        sources.update(default_sources)
        out.append(
            CoreModel(
                id=record.id,
                entry=attachment.entry_id if attachment.entry_id != record.id else None,
                name=record.name,
                alias=concise or record.alias,
                specialty=entry.specialty or "",
                summary=entry.summary or "",
                help=entry.help or "",
                description=record.description,
                defaults=defaults,
                state=record.lifecycle.state,
                rank=scored.rank if scored else None,
                scores=scored.scores if scored else None,
                buckets=list(member_of.get(record.id, [])),
                pinned=list(entry.pin),
                sources=dict(sorted(sources.items())),
                reviewed=entry.reviewed,
                note=entry.note,
            )
        )
    return out, issues


def core_entries(overrides: Overrides) -> dict[str, CoreEntry]:
    """The entries of curated-core.json, when it was loaded."""
    return dict(overrides.core)


def summary(curated: CuratedCatalog) -> dict[str, Any]:
    """The run report's `curation` section."""
    return {
        "models": len(curated.models),
        "buckets": {name: len(refs) for name, refs in curated.buckets.items()},
        "shortfalls": [s.bucket for s in curated.shortfalls],
        "core": len(curated.core),
        "coreIssues": len(curated.core_issues),
    }
