"""The lifecycle state machine: active → stale → deprecated → removed.

Clock: the run's time (``--now`` for replays). Seen in an authoritative feed → ``active`` from
any state (unless its announced expiry has passed, or deprecation-overrides.json forces it →
``deprecated``). Missing: ``stale`` for less than ``deprecated_after_days``, ``deprecated`` from
then, ``removed`` from ``removed_after_days`` when no downstream bindings remain (else it stays
``deprecated``). A fallback feed never moves anything: callers simply do not run this stage for
it. The thresholds live in ``config.lifecycle`` (LifecycleConfig), with where they come from.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from pipeline.config import LifecycleConfig
from pipeline.records.base import LifecycleState, trusted
from pipeline.records.model import Lifecycle
from pipeline.timeutil import iso, parse_iso


def _moved(previous: Lifecycle | None, state: LifecycleState, now: str) -> str:
    if previous is not None and previous.state == state:
        return previous.state_since
    return now


def seen(
    previous: Lifecycle | None,
    now: datetime,
    *,
    expires_at: str | None = None,
    forced: bool = False,
) -> Lifecycle:
    """Lifecycle of a model listed by an authoritative feed at ``now``.

    ``forced``: a deprecation override is in effect, so listing it does not make it active.
    """
    return Lifecycle(**_seen(previous, now, iso(now), expires_at, forced=forced))


def _seen(
    previous: Lifecycle | None,
    now: datetime,
    stamp: str,
    expires_at: str | None,
    *,
    forced: bool,
) -> dict[str, str | None]:
    """The fields of ``seen``'s Lifecycle, with the run's ``stamp`` (``iso(now)``)."""
    expired = expires_at is not None and parse_iso(expires_at) <= now
    state: LifecycleState = "deprecated" if expired or forced else "active"
    return {
        "state": state,
        "first_seen": previous.first_seen if previous else stamp,
        "last_seen": stamp,
        "state_since": _moved(previous, state, stamp),
        "missing_since": None,
        "expires_at": expires_at,
    }


def missing(
    previous: Lifecycle,
    now: datetime,
    *,
    bound: bool = False,
    forced: bool = False,
    config: LifecycleConfig | None = None,
) -> Lifecycle:
    """Lifecycle of a previously known model that the feed no longer lists at ``now``."""
    config = config or LifecycleConfig()
    stamp = iso(now)
    missing_since = previous.missing_since or stamp
    gone_for = now - parse_iso(missing_since)
    state: LifecycleState
    if gone_for >= timedelta(days=config.removed_after_days) and not bound:
        state = "removed"
    elif (
        gone_for >= timedelta(days=config.deprecated_after_days)
        or previous.state == "deprecated"
        or forced
    ):
        # A model already deprecated (expired, or forced) never goes back to merely stale.
        state = "deprecated"
    else:
        state = "stale"
    return Lifecycle(
        state=state,
        first_seen=previous.first_seen,
        last_seen=previous.last_seen,
        state_since=_moved(previous, state, stamp),
        missing_since=missing_since,
        expires_at=previous.expires_at,
        replacement=previous.replacement,
    )


def advance(
    present: Mapping[str, str | None],
    previous: Mapping[str, Lifecycle],
    now: datetime,
    *,
    bindings: Collection[str] = (),
    forced: Collection[str] = (),
    config: LifecycleConfig | None = None,
) -> dict[str, Lifecycle]:
    """New lifecycle for every present model (id → expiresAt) and every previously known one.

    ``bindings``: ids some downstream consumer still uses (never ``removed``). ``forced``: ids a
    deprecation override currently deprecates. Pass sets: membership is tested once per model.
    """
    # One stamp per run, and records built without validating them again (issue 29): the
    # expiry dates were checked by normalize, the rest is made here.
    stamp = iso(now)
    result = {
        model_id: trusted(
            Lifecycle,
            _seen(previous.get(model_id), now, stamp, expires, forced=model_id in forced),
        )
        for model_id, expires in present.items()
    }
    for model_id, before in previous.items():
        if model_id not in result:
            result[model_id] = missing(
                before, now, bound=model_id in bindings, forced=model_id in forced, config=config
            )
    return result
