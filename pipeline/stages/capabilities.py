"""Capability flags with the provenance of every decision.

Layers, in order of authority (DESIGN.md §5):

1. **override** — an entry of ``overrides/capability-overrides.json`` (``match`` = exact id,
   ``pattern`` = regular expression searched in the id). Always wins.
2. **api** — an explicit signal in the feed: modalities (or the 2024 ``modality`` string),
   ``supported_parameters``, the ``reasoning`` object, pricing.
3. **heuristic** — the first row of ``HEURISTICS`` whose pattern matches the id or the display
   name. It fills a flag only where the API said nothing about it. Where it contradicts an API
   signal, the API wins and the contradiction is reported as a conflict.
4. else the default (``false`` / ``none`` / ``chat``), published with source ``heuristic`` and
   evidence starting with ``default:`` in OpenRouter's catalog. A provider list publishes such a
   flag as unknown instead (absent, see ``as_provider_record``); ``kind`` keeps ``chat``.

``detectionSource`` names the deciding layer per flag; ``evidence`` says what matched (the
parameter, modality, pattern or override entry); ``catalog sync … --explain ID`` prints both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.overrides.files import CapabilityOverride
from pipeline.overrides.patterns import Pattern, compile_pattern
from pipeline.records.base import Kind, Reasoning
from pipeline.records.model import ModelRecord, ProviderModelRecord
from pipeline.stages.normalize import Normalized
from pipeline.stages.signals import NO_TOKEN_PRICE, Signal, Value, api_signals, rule_signals
from pipeline.stages.tiers import tier_evidence

FLAGS = (
    "kind",
    "supportsVision",
    "supportsTools",
    "reasoning",
    "structuredOutput",
    "isImageGen",
    "isFree",
)
DEFAULTS: dict[str, Value] = {
    "kind": "chat",
    "supportsVision": False,
    "supportsTools": False,
    "reasoning": "none",
    "structuredOutput": False,
    "isImageGen": False,
    "isFree": False,
}

# Image-generation families. Shared by the `kind` and `isImageGen` rows below. The negative
# look-ahead keeps video siblings out (black-forest-labs/flux-3-video); `flux` needs a version
# or edition after it so that deepgram/flux-tts (speech) does not match.
_IMAGE_FAMILIES = (
    r"(^|/)(flux[.-]?\d|flux-(pro|dev|schnell|kontext)|seedream|recraft|gpt-image|imagen"
    r"|dall-e|stable-diffusion|sdxl|ideogram|midjourney|riverflow|krea-|qwen-image|mai-image"
    r"|grok-imagine-image|hidream)(?!.*video)"
)


@dataclass(frozen=True)
class Heuristic:
    """One row of the heuristic table."""

    flag: str
    value: Value
    label: str
    """What the row recognises, for the evidence (e.g. `reasoning-first family`)."""
    pattern: re.Pattern[str]
    kinds: frozenset[str] | None = None
    """Only for models of these kinds (None: any). Tool and reasoning families are chat
    families; their names also appear on embedding models (mistralai/codestral-embed)."""

    def evidence(self, found: str, where: str) -> str:
        return f"{where} contains {found!r}: {self.label} (heuristic /{self.pattern.pattern}/)"


def _row(flag: str, value: Value, label: str, regex: str, *, chat_only: bool = False) -> Heuristic:
    kinds = frozenset({"chat", "router"}) if chat_only else None
    # Matched against lower-cased text (see Resolver.resolve): IGNORECASE would make every
    # search several times slower.
    return Heuristic(flag, value, label, re.compile(regex, re.MULTILINE), kinds)


# Rows are tried in order; the first match per flag counts. Every row was checked against the
# real payloads in ../shared/fixtures/real (tests/test_capabilities.py keeps them honest).
HEURISTICS: tuple[Heuristic, ...] = (
    # kind: OpenRouter's own routers, for feeds without the "Router" tokenizer. openrouter/free
    # is priced 0, not -1, so pricing cannot tell it from a model; other openrouter/ ids are
    # real models (openrouter/cinematika-7b in 2024, openrouter/owl-alpha in 2026), hence an
    # explicit list, never `^openrouter/`.
    _row(
        "kind",
        "router",
        "an OpenRouter router",
        r"^openrouter/(auto|auto-beta|free|fusion|bodybuilder|pareto-[a-z-]+)$",
    ),
    # kind: embedding models by name, for feeds that give no output modalities (voyageai's
    # voyage-* are all embedders; its rerankers are voyageai/rerank-*).
    _row(
        "kind",
        "embedding",
        "an embedding family",
        r"embed|(^|/)(e5|gte|bge)-|multilingual-e5|minilm|mpnet|voyageai/voyage-",
    ),
    # kind: rerankers (cohere/rerank-4-pro, voyageai/rerank-2.5, qwen/qwen3-reranker-8b).
    _row("kind", "rerank", "a reranker", r"rerank"),
    # kind: speech-to-text (whisper, *-transcribe, *-asr, *-stt, deepgram nova, parakeet, chirp).
    _row(
        "kind",
        "transcription",
        "a speech-to-text family",
        r"whisper|transcribe|-asr\b|-stt\b|deepgram/nova|parakeet|/chirp",
    ),
    # kind: text-to-speech (*-tts, *-voice, minimax speech-*, kokoro, orpheus, aura, csm,
    # fish-audio s1/s2).
    _row(
        "kind",
        "speech",
        "a text-to-speech family",
        r"(^|[-/])tts\b|[-/]voice\b|/speech-|kokoro|orpheus|/aura-|/csm-|fish-audio/s\d",
    ),
    # kind: video generation (veo, sora, seedance, kling, hailuo, wan, runway gen/aleph, …).
    _row(
        "kind",
        "video",
        "a video-generation family",
        r"(^|/)(veo|sora|seedance|kling|hailuo|wan|gen|aleph|happyhorse)-|-video\b",
    ),
    # kind: image-only generators (gemini-*-image models also write text: those stay chat).
    _row("kind", "image", "an image-generation family", _IMAGE_FAMILIES),
    # supportsVision: video generators say in their name whether an image goes in. Together's
    # `type: video` covers text-to-video (Wan-AI/wan2.7-t2v, HappyHorse-1.0-T2V: no image in)
    # and image- or reference-to-video (Wan-AI/wan2.7-i2v, alibaba/happyhorse-1.0-r2v).
    _row("supportsVision", False, "a text-to-video model (text in)", r"[-/_.]t2v\b|text-to-video"),
    # supportsVision: image- or reference-to-video generators take an image (…-i2v, …-r2v).
    _row(
        "supportsVision",
        True,
        "an image-to-video model (an image in)",
        r"[-/_.][ir]2v\b|image-to-video",
    ),
    # supportsVision: vision / VL / omni model names (qwen3-vl, llava, pixtral, glm-4.6v, qvq).
    _row(
        "supportsVision",
        True,
        "a vision model name",
        r"vision|(^|[-/.])vl([-.:]|$)|internvl|omni|llava|pixtral|(^|/)qvq|glm-\d(\.\d+)?v\b",
    ),
    # supportsTools: agentic coder families are built for tool use (qwen3-coder, devstral,
    # codestral, *-codex, grok-code); only for feeds without supported_parameters.
    # moonshotai/kimi-dev-72b is left out: a patch-writing model, listed without tools.
    _row(
        "supportsTools",
        True,
        "an agentic coder family",
        r"qwen3?-coder|devstral|codestral|-codex\b|grok-code",
        chat_only=True,
    ),
    # reasoning: reasoning-first families that always think (o1/o3/o4, deepseek-r1 and its
    # distills, qwq/qvq, *-thinking, magistral, *-reasoning but not *-non-reasoning), whoever
    # serves them: OpenRouter's `openai/o3`, OpenAI's own `o3-deep-research`, a host's
    # `deepseek-ai/DeepSeek-R1-Distill-Llama-70B`.
    _row(
        "reasoning",
        "fixed",
        "a reasoning-first family",
        r"(^|/)o[134]\b|deepseek-r1|deepseek-reasoner|(^|/)r1-|qwq|qvq|thinking|-think\b"
        r"|magistral|(?<!non-)reasoning",
        chat_only=True,
    ),
    # isImageGen: the image-only families above.
    _row("isImageGen", True, "an image-generation family", _IMAGE_FAMILIES),
    # isImageGen: chat models named *-image that also draw (google/gemini-2.5-flash-image,
    # openai/gpt-5-image-mini, openai/gpt-5.4-image-2).
    _row(
        "isImageGen",
        True,
        "a chat model that draws",
        r"-image(-\d+(\.\d+)?)?(-(mini|preview|pro))?(:[a-z]+)?$",
    ),
)

# (flag, api value, heuristic value) pairs where the heuristic refines the API instead of
# contradicting it. A router is a chat endpoint as far as modalities go: only the router
# row can tell openrouter/free from a model. A reasoning-first family with reasoning
# controls is `configurable`, which is what the API says; the row only claims "it thinks".
REFINES: frozenset[tuple[str, Value, Value]] = frozenset({("kind", "chat", "router")})
AGREES: frozenset[tuple[str, Value, Value]] = frozenset({("reasoning", "configurable", "fixed")})


@dataclass
class Capabilities:
    """The decided flags, which layer decided each, and why."""

    kind: Kind = "chat"
    supports_vision: bool = False
    supports_tools: bool = False
    reasoning: Reasoning = "none"
    structured_output: bool = False
    is_image_gen: bool = False
    is_free: bool = False
    source: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    defaulted: set[str] = field(default_factory=set)
    """Flags no layer had a signal for (published as source `heuristic`, evidence `default:`)."""

    def value(self, flag: str) -> Value:
        value: Value = getattr(self, FLAG_ATTRS[flag])
        return value


FLAG_ATTRS = {
    "kind": "kind",
    "supportsVision": "supports_vision",
    "supportsTools": "supports_tools",
    "reasoning": "reasoning",
    "structuredOutput": "structured_output",
    "isImageGen": "is_image_gen",
    "isFree": "is_free",
}
"""Flag name as published → the record attribute holding it."""


def _match(row: Heuristic, model: Normalized, text: str) -> tuple[str, str] | None:
    """What ``row`` matches in ``text`` (the id, a newline, the lower-cased name) and where
    (``id`` or ``name``), searched once. Patterns compile with MULTILINE, so ``^``/``$``
    anchor at the id's and the name's ends as if searched apart, and the leftmost match is in
    the id whenever the id matches."""
    found = row.pattern.search(text)
    if found is None:
        return None
    return found.group(0), "id" if found.start() < len(model.id) else "name"


@dataclass
class _CompiledOverride:
    index: int
    match: str | None
    pattern: Pattern | None
    values: dict[str, Value]
    evidence: str


class Resolver:
    """Decides every flag of a model; built once per run with the loaded overrides."""

    def __init__(self, overrides: Sequence[CapabilityOverride] = ()) -> None:
        self._overrides: list[_CompiledOverride] = []
        self._search_plans: dict[tuple[str, Value | None, str], tuple[Heuristic, ...]] = {}
        for index, entry in enumerate(overrides):
            selector = (
                f"match {entry.match!r}"
                if entry.match is not None
                else f"pattern /{entry.pattern}/"
            )
            self._overrides.append(
                _CompiledOverride(
                    index=index,
                    match=entry.match,
                    # RE2: an override pattern cannot backtrack for hours (pipeline.patterns).
                    pattern=compile_pattern(entry.pattern) if entry.pattern is not None else None,
                    values=entry.set.model_dump(exclude_none=True),
                    evidence=(
                        f"capability-overrides.json $.overrides[{index}] ({selector}): {entry.note}"
                    ),
                )
            )

    def override_signals(self, model_id: str) -> dict[str, Signal]:
        """Layer 3: every override entry that selects ``model_id``; a later entry wins."""
        signals: dict[str, Signal] = {}
        for entry in self._overrides:
            if entry.match == model_id or (
                entry.pattern is not None and entry.pattern.search(model_id)
            ):
                for flag, value in entry.values.items():
                    signals[flag] = (value, entry.evidence)
        return signals

    def resolve(self, model: Normalized) -> Capabilities:
        caps = Capabilities()
        api = api_signals(model)
        overrides = self.override_signals(model.id) if self._overrides else {}
        text = f"{model.id}\n{model.name}".lower()
        # An adapter's rule is a heuristic about its list, more specific than a name pattern.
        heuristics: dict[str, Signal] = rule_signals(model) if model.rules else {}
        plans = self._search_plans
        for flag in FLAGS:
            if flag not in heuristics:
                from_api = api.get(flag)
                plan = (flag, from_api[0] if from_api is not None else None, caps.kind)
                rows = plans.get(plan)
                if rows is None:
                    rows = plans[plan] = self._rows_to_search(*plan)
                for row in rows:
                    found = _match(row, model, text)
                    if found is not None:
                        heuristics[flag] = (row.value, row.evidence(*found))
                        break
            self._decide(caps, model.id, flag, api=api, heuristics=heuristics, overrides=overrides)
        return caps

    @staticmethod
    def _rows_to_search(flag: str, stated: Value | None, kind: str) -> tuple[Heuristic, ...]:
        """The rows of ``flag`` to try, in table order, for a model of ``kind`` whose API
        states ``stated`` (None: says nothing), the first match counting.

        Where the API states the flag, a row can only matter by refining it or contradicting
        it (a conflict): the rows after the last one that could are left out, as a match of
        theirs would change nothing (issue 30: ~13 regex searches a model, now ~10). Worked
        out once per combination a run meets (``Resolver.resolve``)."""
        rows = tuple(
            r for r in HEURISTICS if r.flag == flag and (r.kinds is None or kind in r.kinds)
        )
        if stated is None:
            return rows
        live = [
            (flag, stated, r.value) in REFINES
            or (r.value != stated and (flag, stated, r.value) not in AGREES)
            for r in rows
        ]
        return rows[: len(live) - live[::-1].index(True)] if True in live else ()

    @staticmethod
    def _decide(
        caps: Capabilities,
        model_id: str,
        flag: str,
        *,
        api: dict[str, Signal],
        heuristics: dict[str, Signal],
        overrides: dict[str, Signal],
    ) -> None:
        from_api = api.get(flag)
        guess = heuristics.get(flag)
        manual = overrides.get(flag)
        refines = (
            from_api is not None and guess is not None and (flag, from_api[0], guess[0]) in REFINES
        )
        if manual is not None:
            value, evidence, layer = manual[0], manual[1], "override"
        elif refines and guess is not None and from_api is not None:
            value, layer = guess[0], "heuristic"
            evidence = f"{guess[1]}; API: {from_api[1]}"
        elif from_api is not None:
            value, evidence, layer = from_api[0], from_api[1], "api"
        elif guess is not None:
            value, evidence, layer = guess[0], guess[1], "heuristic"
        else:
            value, layer = DEFAULTS[flag], "heuristic"
            evidence = f"default: no API signal and no {flag} pattern matched"
            caps.defaulted.add(flag)
        setattr(caps, FLAG_ATTRS[flag], value)
        caps.source[flag] = layer
        caps.evidence[flag] = evidence

        if from_api is None:
            return
        if (
            guess is not None
            and guess[0] != from_api[0]
            and not refines
            and (flag, from_api[0], guess[0]) not in AGREES
        ):
            caps.conflicts.append(
                _conflict(model_id, flag, value, layer, ("api", from_api), ("heuristic", guess))
            )
        if manual is not None and manual[0] != from_api[0]:
            caps.conflicts.append(
                _conflict(model_id, flag, value, layer, ("api", from_api), ("override", manual))
            )


def _conflict(
    model_id: str,
    flag: str,
    value: Value,
    layer: str,
    *claims: tuple[str, Signal],
) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": model_id, "flag": flag, "value": value, "decidedBy": layer}
    for name, (claimed, evidence) in claims:
        entry[name] = claimed
        entry[f"{name}Evidence"] = evidence
    return entry


def resolve(model: Normalized, overrides: Sequence[CapabilityOverride] = ()) -> Capabilities:
    """Decide every flag for ``model`` (convenience for one model; runs use ``Resolver``)."""
    return Resolver(overrides).resolve(model)


UNSTATED_FLAGS = tuple(f for f in FLAGS if f != "kind")
"""Flags a provider list publishes as unknown when nothing states them (``kind`` is required)."""


def unknown_flags(caps: Capabilities) -> list[str]:
    """The flags of ``caps`` that no source stated: no layer had a signal (defaulted), or
    ``isFree`` decided only by the absence of a token price (the price itself is unknown)."""
    out = [f for f in UNSTATED_FLAGS if f in caps.defaulted]
    if caps.evidence.get("isFree", "").endswith(NO_TOKEN_PRICE) and "isFree" not in out:
        out.append("isFree")
    return out


def as_provider_record(record: ModelRecord, unknown: Iterable[str]) -> ProviderModelRecord:
    """``record`` as a provider list publishes it: each flag in ``unknown`` absent instead of
    its default, without a ``detectionSource`` entry, its evidence saying ``unknown: …``.

    OpenRouter's catalog keeps false/``none`` for such flags (DESIGN.md §5, and its replays
    stay byte-identical); a provider list states only what some source states (issue 14)."""
    data = record.model_dump()
    for flag in unknown:
        data[FLAG_ATTRS[flag]] = None
        data["detection_source"].pop(flag, None)
        why = data["evidence"].get(flag, "").removeprefix("default: ")
        data["evidence"][flag] = f"unknown: {why}" if why else "unknown"
    return ProviderModelRecord.model_validate(data)


def report(resolved: Iterable[Capabilities]) -> dict[str, Any]:
    """Run-report sections: per-flag counts by deciding layer, and every conflict.

    ``capabilities[flag]`` counts ``api``, ``heuristic`` (a pattern matched), ``override`` and
    ``default`` (nothing said anything; published as source ``heuristic``)."""
    counts = {flag: {"api": 0, "heuristic": 0, "override": 0, "default": 0} for flag in FLAGS}
    conflicts: list[dict[str, Any]] = []
    for caps in resolved:
        for flag in FLAGS:
            layer = "default" if flag in caps.defaulted else caps.source[flag]
            counts[flag][layer] += 1
        conflicts.extend(caps.conflicts)
    conflicts.sort(key=lambda c: (c["id"], FLAGS.index(c["flag"]), "override" in c))
    return {"capabilities": counts, "conflicts": conflicts}


def explain(record: ModelRecord, conflicts: Iterable[dict[str, Any]] = ()) -> list[str]:
    """Lines for ``--explain``: each flag with its value, deciding layer and evidence."""
    lines = [f"{record.id} ({record.name}), alias {record.alias}"]
    rows = [
        ("kind", record.kind),
        ("supportsVision", record.supports_vision),
        ("supportsTools", record.supports_tools),
        ("reasoning", record.reasoning),
        ("structuredOutput", record.structured_output),
        ("isImageGen", record.is_image_gen),
        ("isFree", record.is_free),
    ]
    for flag, value in rows:
        shown = str(value).lower() if isinstance(value, bool) else (value or "unknown")
        layer = record.detection_source.get(flag, "-" if value is None else "?")
        lines.append(f"  {flag:<17}{shown:<14}{layer:<10}{record.evidence.get(flag, '')}")
    evidence = tier_evidence(record.pricing, is_free=record.is_free)
    lines.append(f"  {'priceTier':<17}{record.price_tier:<14}{'pricing':<10}{evidence}")
    for conflict in conflicts:
        if conflict["id"] != record.id:
            continue
        first = "api" if "api" in conflict else "heuristic"
        other = next(k for k in ("override", "telemetry", "heuristic") if k in conflict)
        lines.append(
            f"  conflict on {conflict['flag']}: {first} says {conflict[first]} "
            f"({conflict[f'{first}Evidence']}), {other} says {conflict[other]} "
            f"({conflict[f'{other}Evidence']}); {conflict['decidedBy']} decided"
        )
    return lines


# -- telemetry layer (issue 17) -----------------------------------------------------------------
#
# Runs after the other layers, on the assembled record: a flag the API or a heuristic set true
# is published false while calls show it failing, and comes back when they show it working.
# "Calls show" is the verdict of the daily verification (`pipeline.telemetry.votes`): a strict
# majority of the identities that called the capability at least `min_calls` times, each
# judged by its own Wilson bounds (fails above `downgrade_above`, works from `recover_at` — a
# hysteresis band, so a flag does not flap between runs), or the operator's probes when the
# identities reach no majority. It is in `verification.failingCapabilities` and
# `verifiedCapabilities`. The downgrade in force lives in `verification.downgraded` with what
# it replaced, so any run can restore it.

TELEMETRY_FLAGS: dict[str, tuple[str, str]] = {
    # telemetry capability → (published flag, record attribute). Only boolean flags: a
    # reasoning value has no "false" to fall back to, so failing reasoning shows in
    # `verification.failingCapabilities` without changing the flag.
    "tools": ("supportsTools", "supports_tools"),
    "structuredOutput": ("structuredOutput", "structured_output"),
    "vision": ("supportsVision", "supports_vision"),
}


@dataclass(frozen=True)
class TelemetryRule:
    """Thresholds of the telemetry layer (config section `telemetry:`)."""

    min_calls: int
    downgrade_above: float
    recover_at: float
    window_days: int


def _figures(cap: str, check: Any, rule: TelemetryRule) -> str:
    if check is None or check.calls == 0:
        return f"no {cap} calls in the last {rule.window_days} days"
    failed = check.calls - check.ok
    figures = (
        f"{cap} failed {failed} of {check.calls} calls in {rule.window_days} days (failure "
        f"lower bound {check.failure_lower_bound:.2f}, success lower bound "
        f"{check.success_lower_bound:.2f}; downgrade above {rule.downgrade_above:g}, "
        f"recover at {rule.recover_at:g}, min {rule.min_calls} calls)"
    )
    return figures + _votes(check)


def _votes(check: Any) -> str:
    """The identities behind the verdict, as the evidence names them."""
    votes = getattr(check, "votes", None) or {}
    parts = []
    for says in ("fails", "works", "undecided"):
        names = sorted(name for name, said in votes.items() if said == says)
        if names:
            parts.append(f"{says}: {', '.join(names)}")
    probe = getattr(check, "probe", None)
    if probe is not None:
        parts.append(f"probe {probe}")
    if not parts:
        return ""
    return f"; votes of {len(votes)} identit{'y' if len(votes) == 1 else 'ies'}: " + "; ".join(
        parts
    )


def telemetry_layer(
    record: ModelRecord, verification: Any, rule: TelemetryRule, now: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Apply the telemetry layer to ``record`` in place; ``verification`` is its fresh
    `Verification` whose ``downgraded`` holds the downgrades in force before this run.

    Returns (conflicts, changelog entries). An override always wins; a flag the other layers
    set false has nothing to downgrade."""
    from pipeline.records.model import Downgrade

    conflicts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for cap, (flag, attr) in TELEMETRY_FLAGS.items():
        down = verification.downgraded.get(flag)
        layer = record.detection_source.get(flag, "heuristic")
        if layer == "telemetry" and down is not None:
            base = (down.was_value, down.was_source, down.was_evidence)
        else:
            base = (getattr(record, attr), layer, record.evidence.get(flag, ""))
        check = verification.capabilities.get(cap)
        failing = cap in verification.failing_capabilities
        working = cap in verification.verified_capabilities
        if base[1] == "override" or base[0] is not True:
            down = None  # an override decides; a false flag has nothing to downgrade
        elif down is None and failing:
            down = Downgrade(was_value=True, was_source=base[1], was_evidence=base[2], since=now)
            changes.append(
                _telemetry_change(record.id, flag, "downgraded", cap=cap, check=check, rule=rule)
            )
        elif down is not None and working:
            down = None
            changes.append(
                _telemetry_change(record.id, flag, "recovered", cap=cap, check=check, rule=rule)
            )
        if down is None:
            verification.downgraded.pop(flag, None)
            setattr(record, attr, base[0])
            record.detection_source[flag] = base[1]
            record.evidence[flag] = base[2]
            continue
        verification.downgraded[flag] = down
        evidence = (
            f"telemetry since {down.since[:10]}: {_figures(cap, check, rule)}; "
            f"{down.was_source} said true: {down.was_evidence}"
        )
        setattr(record, attr, False)
        record.detection_source[flag] = "telemetry"
        record.evidence[flag] = evidence
        conflicts.append(
            _conflict(
                record.id,
                flag,
                False,
                "telemetry",
                (down.was_source, (True, down.was_evidence)),
                ("telemetry", (False, evidence)),
            )
        )
    return conflicts, changes


def _telemetry_change(
    model_id: str, flag: str, change: str, *, cap: str, check: Any, rule: TelemetryRule
) -> dict[str, Any]:
    return {
        "id": model_id,
        "field": flag,
        "from": change == "downgraded",
        "to": change == "recovered",
        "change": change,
        "evidence": _figures(cap, check, rule),
        "identities": _behind(check, "fails" if change == "downgraded" else "works"),
    }


def _behind(check: Any, says: str) -> list[str]:
    """The identities whose votes made the verdict ``says`` (the probe's, when it decided)."""
    votes = getattr(check, "votes", None) or {}
    names = sorted(name for name, said in votes.items() if said == says)
    if len(names) * 2 > len(votes):
        return names
    return ["probe"] if getattr(check, "probe", None) == says else names
