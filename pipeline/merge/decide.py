"""Per field: the value to publish, and how the sources that state it agree (a pure function).

The value is the one of the highest-ranked source that states the field (``Precedence``). Every
source that states it — the provider's own list, its OpenRouter offer, each independent catalog;
not an override or a name-pattern guess, which are not sources — is counted: how many, how many
state the published value, and each other value with its source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.merge.observe import Observation, comparable, same
from pipeline.merge.precedence import AGREEMENT_FIELDS, HEURISTIC, OVERRIDE

_COUNTED_FIELDS = frozenset(AGREEMENT_FIELDS)
_NOT_SOURCES = frozenset({OVERRIDE, HEURISTIC})

Rank = Callable[[str, str], int]
"""(field, source label) → position: lower wins."""


@dataclass
class Decision:
    """The published value of one field and what stands behind it."""

    value: Any
    winner: Observation
    origin: str
    """Provenance of the published value."""
    counted: int = 0
    """Sources stating the field (overrides and guesses not counted)."""
    agreement: dict[str, int] | None = None
    """``{"sources": n, "agree": k}`` when two or more sources state the field."""
    dissents: list[dict[str, Any]] = field(default_factory=list)
    """``{"field", "value", "source"}`` of every source stating another value."""


def decide_alone(observation: Observation) -> dict[str, Decision]:
    """Every field of the only source that states anything about a model: its values, each
    counted once (no agreement to tell, nothing to dissent)."""
    counted = 0 if observation.label in _NOT_SOURCES else 1
    return {
        name: Decision(
            value, observation, observation.origin[name], counted if name in _COUNTED_FIELDS else 0
        )
        for name, value in observation.values.items()
    }


def decide(name: str, observations: Sequence[Observation], rank: Rank) -> Decision | None:
    """The decision for field ``name``, or None when no source states it."""
    stated = [o for o in observations if name in o.values]
    if not stated:
        return None
    if len(stated) > 1:
        stated.sort(key=lambda o: rank(name, o.label))
    winner = stated[0]
    value = winner.values[name]
    decision = Decision(value, winner, winner.origin[name])
    if name not in _COUNTED_FIELDS:
        return decision
    counted = [o for o in stated if o.label not in _NOT_SOURCES]
    decision.counted = len(counted)
    for other in counted:
        theirs = other.values[name]
        if not same(name, value, theirs):
            decision.dissents.append(
                {"field": name, "value": comparable(name, theirs), "source": other.label}
            )
    if len(counted) >= 2:
        decision.agreement = {
            "sources": len(counted),
            "agree": len(counted) - len(decision.dissents),
        }
    return decision
