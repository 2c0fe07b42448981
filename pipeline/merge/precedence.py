"""Which source's value a merged provider list publishes, per field (``merge:`` in catalog.yaml).

DESIGN.md §7 ranks the sources of one fact: the provider's own API or pinned manifest
(``native``), then its own offer on OpenRouter (``openrouter``), then the independent catalogs
in the order their sources are listed here::

    merge:
      precedence:
        default: [native, openrouter, modelsdev, litellm, genai-prices]
        input: [native, openrouter, genai-prices, modelsdev, litellm]   # prices: genai-prices first

A field without its own row uses ``default``; a row may name only some sources, the others
follow in the default order. Two layers stay outside the order: a capability override
(``overrides/capability-overrides.json``) always wins, and a name-pattern guess (the
``heuristic`` layer) only fills a flag no source states.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipeline.config import CatalogConfig, ConfigError
from pipeline.crosscheck.compare import FIELDS as COMPARED_FIELDS

NATIVE = "native"
OPENROUTER = "openrouter"
OVERRIDE = "override"
HEURISTIC = "heuristic"
DEFAULT_CATALOGS = ("modelsdev", "litellm", "genai-prices")

# Fields whose agreement is counted (DESIGN.md §7): the ones the crosscheck compares.
AGREEMENT_FIELDS: tuple[str, ...] = COMPARED_FIELDS
# Fields taken by precedence alone: their spellings differ between sources without the facts
# differing (display names, a cutoff as a month or a day, a release date as a day or a time).
OTHER_FIELDS = (
    "name",
    "created",
    "modalities",
    "knowledgeCutoff",
    "weights",
    "lastUpdated",
    "releaseStage",
    "kind",
    "expiresAt",
)
MERGED_FIELDS = AGREEMENT_FIELDS + OTHER_FIELDS


@dataclass(frozen=True)
class Precedence:
    """The order of sources per field."""

    default: tuple[str, ...]
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _ranks: dict[tuple[str, str], int] = field(default_factory=dict, compare=False, repr=False)

    def order(self, name: str) -> tuple[str, ...]:
        return self.fields.get(name, self.default)

    def rank(self, name: str, label: str) -> int:
        """Position of ``label`` for field ``name``: override first, heuristic last."""
        key = (name, label)
        found = self._ranks.get(key)
        if found is None:
            order = self.order(name)
            if label == OVERRIDE:
                found = -1
            elif label in order:
                found = order.index(label)
            else:
                found = len(order) + (1 if label == HEURISTIC else 0)
            self._ranks[key] = found
        return found


def _complete(row: Sequence[str], default: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*row, *default]))


def load_precedence(
    config: CatalogConfig, catalogs: Iterable[str] = DEFAULT_CATALOGS
) -> Precedence:
    """The ``merge.precedence`` section, checked; ConfigError names the key and the value.

    ``catalogs``: the independent catalog source names configured (named instances included),
    in registry order: the default order of the catalogs."""
    known_catalogs = list(dict.fromkeys([*catalogs]))
    default = (NATIVE, OPENROUTER, *known_catalogs)
    raw = config.extra.get("merge") or {}
    if not isinstance(raw, dict):
        raise ConfigError("merge: must be a mapping (precedence: {field: [sources]})")
    unknown_keys = sorted(str(k) for k in raw if k != "precedence")
    if unknown_keys:
        raise ConfigError(f"merge: unknown key(s) {', '.join(unknown_keys)} (known: precedence)")
    rows = raw.get("precedence") or {}
    if not isinstance(rows, dict):
        raise ConfigError("merge.precedence: must map a field (or `default`) to a list of sources")
    allowed = set(default)
    parsed: dict[str, tuple[str, ...]] = {}
    for key, value in rows.items():
        name = str(key)
        if name != "default" and name not in MERGED_FIELDS:
            raise ConfigError(
                f"merge.precedence.{name}: not a merged field; choose default or one of "
                f"{', '.join(MERGED_FIELDS)}"
            )
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"merge.precedence.{name}: must be a list of source names")
        strange = [v for v in value if v not in allowed]
        if strange:
            raise ConfigError(
                f"merge.precedence.{name}: unknown source(s) {', '.join(strange)}; "
                f"choose from {', '.join(default)}"
            )
        parsed[name] = tuple(value)
    base = _complete(parsed.pop("default", ()), default)
    return Precedence(base, {k: _complete(v, base) for k, v in parsed.items()})
