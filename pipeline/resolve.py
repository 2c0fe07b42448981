"""Resolving a model reference the way downstream callers need it (DESIGN.md §5).

    exact id or current alias → redirects and alias history → provider-native id → dated id
    → same-family fallback → auto

Works on the published JSON documents as plain dicts (``current.json``, ``deprecations.json``
and optionally ranks from ``curated.json``), so the reader can use it without loading the
pipeline's models. Every hop taken is returned, and a notice with a stable id that the caller
shows once ("X was retired on D; using Y").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

AUTO_ID = "openrouter/auto"
MAX_HOPS = 8

# A release tag at the end of an id: `-20250929`, `-2024-08-06`, `-05-20`, `-0314`, `-latest`
# (Anthropic, OpenAI and Google spell them so). Stripped only when the ref resolves no other way.
DATE_TAG = re.compile(
    r"^(?P<base>.+?)[-@](?P<tag>\d{8}|\d{4}-\d{2}-\d{2}|\d{2}-\d{2}|\d{4}|latest)$"
)
# Anthropic writes versions with dashes (`claude-3-5-sonnet`); catalog aliases use dots.
DASHED_VERSION = re.compile(r"(?<=-)(\d)-(\d)(?=-|$)")
NOTICE_STEPS = frozenset({"redirect", "alias-history", "family-fallback", "auto"})
"""Hops that mean the caller asked for something that moved or is gone (a notice is due);
native and dated ids are just other spellings of a listed model."""


class Hop(NamedTuple):
    """One step of a resolution."""

    step: str
    """`id`, `alias`, `redirect`, `alias-history`, `native-id`, `dated-id`, `spelling`,
    `family-fallback` or `auto`."""
    ref: str
    """What was looked up."""
    to: str
    """The id it led to."""
    detail: str = ""
    """Why (redirect reason, dates)."""

    def as_dict(self) -> dict[str, str]:
        return {"step": self.step, "ref": self.ref, "to": self.to, "detail": self.detail}


class Notice(NamedTuple):
    """A message for the caller to show once; ``id`` is stable for the same ref and target."""

    id: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "text": self.text}


class Resolution:
    """Where a reference leads: ``ref``, the published ``model`` record it resolves to (None
    when nothing resolves), the ``hops`` taken and the ``notice`` due.

    A plain class (the hops grow while resolving): the reader imports no ``dataclasses``, a
    third of its import time (issue 29)."""

    __slots__ = ("hops", "model", "notice", "ref")

    def __init__(
        self,
        ref: str,
        model: dict[str, Any] | None,
        hops: list[Hop] | None = None,
        notice: Notice | None = None,
    ) -> None:
        self.ref = ref
        self.model = model
        self.hops: list[Hop] = [] if hops is None else hops
        self.notice = notice

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resolution):
            return NotImplemented
        return (self.ref, self.model, self.hops, self.notice) == (
            other.ref,
            other.model,
            other.hops,
            other.notice,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return (
            f"Resolution(ref={self.ref!r}, model={self.model!r}, hops={self.hops!r}, "
            f"notice={self.notice!r})"
        )

    @property
    def model_id(self) -> str | None:
        return None if self.model is None else str(self.model["id"])

    @property
    def exact(self) -> bool:
        """True when the reference named a current model directly."""
        return len(self.hops) == 1 and self.hops[0].step in ("id", "alias")

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "modelId": self.model_id,
            "hops": [hop.as_dict() for hop in self.hops],
            "notice": self.notice.as_dict() if self.notice else None,
        }


def ranks_from_curated(curated: Any) -> dict[str, float]:
    """Model id → rank from a published curated.json: its `ranks` map (every scored model),
    else the ranks of the curated shortlist (`models[].rank`). Empty when there is none."""
    if not isinstance(curated, Mapping):
        return {}
    ranks: dict[str, float] = {}
    for entry in curated.get("models") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("rank"), int | float):
            ranks[str(entry["id"])] = float(entry["rank"])
    table = curated.get("ranks")
    if isinstance(table, Mapping):
        ranks.update({str(k): float(v) for k, v in table.items() if isinstance(v, int | float)})
    return ranks


def _stand_in_rank(model: Mapping[str, Any]) -> float:
    """Until a curated rank exists: prefer newer models (``created``), then larger context."""
    created = float(model.get("created") or 0)
    context = float(model.get("maxContext") or 0)
    return created + context / 1e9


def profile(model: Mapping[str, Any]) -> tuple[Any, ...]:
    """The capability profile a same-family substitute must match."""
    return (
        model.get("kind"),
        bool(model.get("supportsVision")),
        bool(model.get("supportsTools")),
        (model.get("reasoning") or "none") != "none",
    )


class CatalogIndex:
    """Lookups over one published set, built once per catalog version."""

    def __init__(
        self,
        current: Mapping[str, Any],
        deprecations: Mapping[str, Any] | None = None,
        ranks: Mapping[str, float] | None = None,
    ) -> None:
        # A Mapping: the reader's compact load puts records parsed on first use here.
        self.models: Mapping[str, dict[str, Any]] = {m["id"]: m for m in current.get("models", [])}
        # Additional names first, so that a model's own alias wins should the two ever meet.
        self.by_alias: dict[str, str] = {
            name: m["id"] for m in self.models.values() for name in m.get("aliases") or ()
        }
        self.by_alias.update({m["alias"]: m["id"] for m in self.models.values() if m.get("alias")})
        deprecations = deprecations or {}
        self.redirects: dict[str, dict[str, Any]] = {
            r["from"]: r for r in deprecations.get("redirects", [])
        }
        self.tombstones: dict[str, dict[str, Any]] = {
            t["id"]: t for t in deprecations.get("tombstones", [])
        }
        self.tombstone_aliases: dict[str, str] = {
            t["alias"]: t["id"] for t in self.tombstones.values() if t.get("alias")
        }
        # Old alias → model id (the newest change wins when an alias moved twice).
        self.alias_history: dict[str, dict[str, Any]] = {}
        for change in deprecations.get("aliasHistory", []):
            self.alias_history[change["oldAlias"]] = change
        self.ranks = dict(ranks or {})
        self.native_ids = _native_ids(self.models)
        """Provider-native id (from ``sources``) or OpenRouter canonical slug → (model id,
        where the name comes from)."""

    def native(self, ref: str) -> tuple[str, str] | None:
        """(model id, source) of a provider-native id that is not itself a catalog id."""
        return self.native_ids.get(ref)

    def undated(self, ref: str) -> tuple[str, str] | None:
        """(listed id or alias, why) for another spelling of a listed model: a dated id whose
        base names it (``claude-opus-4-1-20250805`` → ``claude-opus-4.1``), or a dashed version
        (``claude-sonnet-4-5`` → ``claude-sonnet-4.5``)."""
        match = DATE_TAG.match(ref)
        base = match.group("base") if match else ref
        why = (
            f"release tag {match.group('tag')} stripped" if match else "version dashes read as dots"
        )
        candidates = [base, DASHED_VERSION.sub(r"\1.\2", base)] if match else []
        if not match:
            dotted = DASHED_VERSION.sub(r"\1.\2", ref)
            candidates = [dotted] if dotted != ref else []
        for candidate in dict.fromkeys(candidates):
            if candidate in self.models or candidate in self.by_alias:
                return candidate, why
            native = self.native_ids.get(candidate)
            if native is not None:
                return native[0], why
        return None

    def rank(self, model: Mapping[str, Any]) -> float:
        value = self.ranks.get(model["id"])
        return value if value is not None else _stand_in_rank(model)

    def _record_for(self, model_id: str) -> Mapping[str, Any] | None:
        if model_id in self.models:
            return self.models[model_id]
        tomb = self.tombstones.get(model_id)
        return tomb.get("record") if tomb else None

    def family_fallback(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """Best ranked active model of the same family and capability profile."""
        family, wanted = record.get("family"), profile(record)
        candidates = [
            m
            for m in self.models.values()
            if m["id"] != record.get("id")
            and m.get("family") == family
            and m.get("lifecycle", {}).get("state") == "active"
            and profile(m) == wanted
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda m: (self.rank(m), m["id"]))


def _notice(ref: str, target: str, text: str) -> Notice:
    import hashlib  # on use: the reader's import stays cheap (issue 29)

    digest = hashlib.sha256(f"{ref}\0{target}".encode()).hexdigest()[:12]
    return Notice(id=f"model-notice-{digest}", text=text)


def resolve(ref: str, index: CatalogIndex) -> Resolution:
    """Resolve ``ref`` (an id, an alias, an old id or an old alias)."""
    result = Resolution(ref=ref, model=None)
    current = ref
    visited: set[str] = set()
    origin_record: Mapping[str, Any] | None = None
    while len(result.hops) < MAX_HOPS and current not in visited:
        visited.add(current)
        model = index.models.get(current)
        if model is None and current in index.by_alias:
            model = index.models[index.by_alias[current]]
            result.hops.append(Hop("alias", current, model["id"]))
        elif model is not None:
            result.hops.append(Hop("id", current, current))
        if model is not None:
            redirect = index.redirects.get(model["id"])
            state = model.get("lifecycle", {}).get("state")
            if redirect is not None and state != "active":
                # A listed-but-deprecated model (override, expiry) or one that went missing
                # (stale: a renamed id or a vanished variant no longer serves requests) has
                # a redirect: send callers on instead of to an id that fails or will.
                result.hops.append(Hop("redirect", model["id"], redirect["to"], _why(redirect)))
                origin_record = origin_record or model
                current = redirect["to"]
                continue
            result.model = model
            break
        redirect = index.redirects.get(current)
        if redirect is not None:
            result.hops.append(Hop("redirect", current, redirect["to"], _why(redirect)))
            origin_record = origin_record or index._record_for(current)
            current = redirect["to"]
            continue
        change = index.alias_history.get(current)
        if change is not None:
            result.hops.append(
                Hop("alias-history", current, change["modelId"], f"alias since {change['since']}")
            )
            current = change["modelId"]
            continue
        if current in index.tombstone_aliases:
            model_id = index.tombstone_aliases[current]
            result.hops.append(Hop("alias", current, model_id, "alias of a removed model"))
            current = model_id
            continue
        record = index._record_for(current)
        if record is not None:
            origin_record = origin_record or record
            break
        native = index.native(current)
        if native is not None:
            result.hops.append(Hop("native-id", current, native[0], f"{native[1]} id"))
            current = native[0]
            continue
        undated = index.undated(current)
        if undated is not None:
            step = "dated-id" if undated[1].startswith("release tag") else "spelling"
            result.hops.append(Hop(step, current, undated[0], undated[1]))
            current = undated[0]
            continue
        break

    if result.model is None and origin_record is not None:
        substitute = index.family_fallback(origin_record)
        if substitute is not None:
            result.hops.append(
                Hop(
                    "family-fallback",
                    str(origin_record.get("id")),
                    substitute["id"],
                    f"same family {origin_record.get('family')} and capability profile",
                )
            )
            result.model = substitute
        elif AUTO_ID in index.models:
            result.hops.append(
                Hop("auto", str(origin_record.get("id")), AUTO_ID, "no same-family substitute")
            )
            result.model = index.models[AUTO_ID]

    if result.model is not None and any(hop.step in NOTICE_STEPS for hop in result.hops):
        result.notice = _retired_notice(ref, result, index)
    return result


def _native_ids(models: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """Every provider-native id and canonical slug that is not a catalog id → its model.

    One name can belong to several records (a model and its `:batch` variant share a slug):
    the active, plain (no `:variant`), shortest id wins, then the first by id — the same answer
    on every load."""
    candidates: dict[str, list[tuple[Mapping[str, Any], str]]] = {}
    for model in models.values():
        names = [(str(s.get("nativeId")), str(s.get("source"))) for s in model.get("sources") or []]
        if model.get("canonicalSlug"):
            names.append((str(model["canonicalSlug"]), "openrouter canonical"))
        for name, source in names:
            if name and name not in models and name != "None":
                candidates.setdefault(name, []).append((model, source))

    def preference(item: tuple[Mapping[str, Any], str]) -> tuple[bool, bool, int, str]:
        model_id = str(item[0]["id"])
        active = item[0].get("lifecycle", {}).get("state") == "active"
        return (not active, ":" in model_id, len(model_id), model_id)

    out: dict[str, tuple[str, str]] = {}
    for name, found in candidates.items():
        model, source = min(found, key=preference)
        out[name] = (str(model["id"]), source)
    return out


def _why(redirect: Mapping[str, Any]) -> str:
    return f"{redirect.get('reason', 'redirect')} since {redirect.get('since', '?')}"


def _retired_notice(ref: str, result: Resolution, index: CatalogIndex) -> Notice:
    target = result.model_id or ""
    tomb = index.tombstones.get(ref) or index.tombstones.get(index.tombstone_aliases.get(ref, ""))
    if tomb is not None:
        when = str(tomb.get("removedAt", ""))[:10]
        text = f"{ref} was retired on {when}; using {target}"
    else:
        kinds = {hop.step for hop in result.hops}
        if "redirect" in kinds:
            text = f"{ref} has moved; using {target}"
        elif "alias-history" in kinds:
            text = f"alias {ref} now belongs elsewhere; using {target}"
        else:
            text = f"{ref} is no longer available; using {target}"
    return _notice(ref, target, text)


def close_matches(ref: str, names: Sequence[str], limit: int = 5) -> list[str]:
    """Ids and aliases among ``names`` (sorted) that look like ``ref``: the reader's 404 and
    the CLI's "did you mean" give the same answer."""
    import difflib

    tail = ref.lower().rsplit("/", 1)[-1]
    contains = [n for n in names if tail and tail in n.lower()][:limit]
    # difflib is quadratic per pair: compare only with names whose last segment starts like
    # the ref's, so a miss on a 100k-model catalog stays cheap.
    # Compared by last segment too, so `gpt4o` finds `openai/gpt-4o` despite the vendor prefix.
    pool = [n for n in names if n.lower().rsplit("/", 1)[-1][:2] == tail[:2]][:5000]
    fuzzy = difflib.get_close_matches(ref, pool, n=limit, cutoff=0.6)
    by_tail: dict[str, list[str]] = {}
    for name in pool:
        by_tail.setdefault(name.lower().rsplit("/", 1)[-1], []).append(name)
    near = difflib.get_close_matches(tail, list(by_tail), n=limit, cutoff=0.75)
    tails = [n for t in near for n in by_tail[t]]
    return list(dict.fromkeys([*contains, *fuzzy, *tails]))[:limit]
