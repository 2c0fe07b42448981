"""One identity, one vote: who may change a published capability flag (issue 27).

Telemetry comes from identities (each token names one; ``pipeline.identities``). Pooling every
call would let one identity that sends more calls — or lies — decide for everyone: 25 failures
from one gateway could turn a flag off that two others see working. So a capability's verdict
is a vote:

- each identity whose calls judged the capability (``ok`` + ``capability_error``) at least
  ``min_calls`` times in the window votes once, with its own Wilson bounds: *fails* when the
  failure rate's lower bound exceeds ``downgrade_above``, *works* when the success rate's lower
  bound reaches ``recover_at``, else *undecided* (the hysteresis band);
- the verdict is what a strict majority of those voters say (2 of 3, 3 of 4; 1 of 1 — a
  deployment with one identity decides exactly as before identities existed);
- without a majority, the operator's own probes (``syncmodels verify``, identity ``probe``)
  decide when they ran: *fails* when more probe calls failed than passed, *works* when more
  passed. A probe never overrules a majority.

The telemetry layer (``stages.capabilities``) downgrades a flag on a *fails* verdict and
recovers it on *works*; anything else leaves it as it is. Pure functions over counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pipeline.config import TelemetryConfig
from pipeline.telemetry.events import PROBE_IDENTITY

Z95 = 1.959964
Says = Literal["works", "fails", "undecided"]
WORKS: Says = "works"
FAILS: Says = "fails"
UNDECIDED: Says = "undecided"
LEGACY_LABEL = "(before identities)"
"""How the identity of rollups written before issue 27 is shown."""


def wilson_lower(successes: int, n: int, z: float = Z95) -> float:
    """Wilson score interval lower bound of ``successes / n`` (0 when n is 0)."""
    if n <= 0:
        return 0.0
    p = successes / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z2 / n))


@dataclass(frozen=True)
class Vote:
    """What one identity's judged calls of one capability say."""

    identity: str
    ok: int
    failed: int
    says: Says

    @property
    def calls(self) -> int:
        return self.ok + self.failed

    def describe(self) -> str:
        name = self.identity or LEGACY_LABEL
        return f"{name} {self.says} ({self.failed} of {self.calls} failed)"


@dataclass(frozen=True)
class Decision:
    """The verdict on one capability of one model, and who made it."""

    verdict: Says | None
    """`works`, `fails`, or None (no majority and no probe: nothing changes)."""
    by: str | None
    """`majority` or `probe`."""
    votes: tuple[Vote, ...]
    """The voters: identities with at least ``min_calls`` judged calls, by name."""
    probe: Vote | None
    """The operator's probes in the window, when any ran."""
    below_min: tuple[str, ...] = ()
    """Identities that judged it too few times to vote."""

    def saying(self, says: Says) -> list[str]:
        return [vote.identity or LEGACY_LABEL for vote in self.votes if vote.says == says]

    def explain(self) -> str:
        """One line for evidence and the changelog: the votes and what decided."""
        if self.votes:
            counted = "; ".join(vote.describe() for vote in self.votes)
            tally = (
                f"{len(self.saying(FAILS))} fails, {len(self.saying(WORKS))} works of "
                f"{len(self.votes)} identit{'y' if len(self.votes) == 1 else 'ies'} voting "
                f"[{counted}]"
            )
        else:
            tally = "no identity called it enough to vote"
        if self.probe is not None:
            tally += f"; probe {self.probe.says} ({self.probe.failed} of {self.probe.calls} failed)"
        if self.verdict is None:
            return f"{tally}: no verdict"
        return f"{tally}: {self.verdict} by {self.by}"


def vote_of(identity: str, ok: int, failed: int, config: TelemetryConfig) -> Vote:
    n = ok + failed
    says: Says
    if wilson_lower(failed, n) > config.downgrade_above:
        says = FAILS
    elif wilson_lower(ok, n) >= config.recover_at:
        says = WORKS
    else:
        says = UNDECIDED
    return Vote(identity, ok, failed, says)


def decide(tallies: Mapping[str, tuple[int, int]], config: TelemetryConfig) -> Decision:
    """The verdict from each identity's (ok, capability_error) counts over the window."""
    votes: list[Vote] = []
    below: list[str] = []
    probe: Vote | None = None
    for identity in sorted(tallies):
        ok, failed = tallies[identity]
        if identity == PROBE_IDENTITY:
            said: Says = (WORKS if ok > failed else FAILS) if ok != failed else UNDECIDED
            probe = Vote(identity, ok, failed, said) if ok + failed else None
        elif ok + failed >= config.min_calls:
            votes.append(vote_of(identity, ok, failed, config))
        elif ok + failed:
            below.append(identity)
    majority = len(votes) // 2 + 1
    for verdict in (FAILS, WORKS):
        if votes and sum(1 for vote in votes if vote.says == verdict) >= majority:
            return Decision(verdict, "majority", tuple(votes), probe, tuple(below))
    if probe is not None and probe.says != UNDECIDED:
        return Decision(probe.says, "probe", tuple(votes), probe, tuple(below))
    return Decision(None, None, tuple(votes), probe, tuple(below))


__all__ = [
    "FAILS",
    "LEGACY_LABEL",
    "UNDECIDED",
    "WORKS",
    "Decision",
    "Says",
    "Vote",
    "decide",
    "vote_of",
    "wilson_lower",
]
