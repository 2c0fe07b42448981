"""What the availability overlay answers and reports: model states, registrations, a client's
models, provider counts, events, its error, and the limits it enforces.

Plain values, built under the overlay's lock and handed out: nothing here refers back to it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pipeline.registry.filters import RegistryError

DEFAULT_COOLDOWN_SECONDS = 300.0
"""Cooldown after a quota error without a ``Retry-After`` (the seed registry's 5 minutes)."""
MAX_COOLDOWN_SECONDS = 86_400.0
"""Longest accepted cooldown: daily quotas reset within a day, and a far-future time sent by
mistake (or malice) must not park a client forever."""
MAX_REASON_CHARS = 200
MAX_MODELS_PER_CLIENT = 10_000
"""Bounds one registration (a hostile list must not make memory unbounded): a client serving
the whole OpenRouter catalog names about 400 models."""
MAX_UNKNOWN_PER_CLIENT = 1_000
"""Refs the catalog does not know, per client: each is a model of its own (a local server's
`llama3.2:latest`), with its own counters, so a list of junk refs must not multiply them."""
MAX_CLIENTS_PER_OWNER = 1_000
"""Clients one gateway identity may register over HTTP (issue 27)."""
MAX_REFS_PER_OWNER = 250_000
"""Refs all the clients of one gateway identity may register in all (1,000 clients × 250)."""
MAX_UNKNOWN_PER_OWNER = 20_000
"""Refs unknown to the catalog over all the clients of one gateway identity: each is a model
of its own in the overlay (about 1 KB), so they are bounded apart from the known ones."""
MAX_TIME = 253_402_300_799.0
"""9999-12-31T23:59:59Z: a retry time past it (or before the epoch) is no time at all."""
MODEL_STATES = ("available", "cooling_down", "suspended", "no_clients")
LISTED_STATES = frozenset({"available", "cooling_down"})


class AvailabilityError(RegistryError, KeyError):
    """An unknown client, or a model the client does not serve; the message names both."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "availability error"


def iso_time(moment: float | None) -> str | None:
    """Epoch seconds as ``2026-08-19T06:00:00Z``; None stays None."""
    if moment is None:
        return None
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
    return f"{whole}Z"


def is_quota(reason: str | None) -> bool:
    """A suspension for `quota` cools a client down instead of blocking it."""
    return reason is not None and reason.strip().lower() == "quota"


@dataclass(frozen=True)
class ModelState:
    """A model's availability now."""

    model_id: str
    """The catalog id (or the ref itself for a model the catalog does not know)."""
    state: str
    """`available`, `cooling_down`, `suspended`, `no_clients` — or `removed` for a ref the
    catalog has removed (never counted)."""
    clients: int = 0
    """Registered clients."""
    available: int = 0
    """Clients that can serve it now."""
    cooling_down: int = 0
    """Clients over quota (or suspended for `quota`)."""
    suspended: int = 0
    """Clients suspended for another reason."""
    retry_at: float | None = None
    """`cooling_down`: the earliest time a cooling client is back (None: only `quota`
    suspensions, which last until resumed)."""
    reason: str | None = None
    """`suspended`: the reasons; `removed`: what the catalog says."""
    redirect_to: str | None = None
    """`removed`: where the catalog sends callers instead (offered, never used silently)."""
    in_catalog: bool = True
    """False for a ref the catalog does not know."""

    @property
    def listed(self) -> bool:
        return self.state in LISTED_STATES

    def as_dict(self) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "state": self.state,
            "retryAt": iso_time(self.retry_at),
            "reason": self.reason,
            "redirectTo": self.redirect_to,
            "clients": self.clients,
            "available": self.available,
            "coolingDown": self.cooling_down,
            "suspended": self.suspended,
            "inCatalog": self.in_catalog,
        }

    def badge(self) -> dict[str, Any]:
        """The short form attached to each item of an available list."""
        return {"state": self.state, "retryAt": iso_time(self.retry_at), "reason": self.reason}


@dataclass(frozen=True)
class Removed:
    """A registered ref the catalog has removed: not counted; the catalog's target offered."""

    ref: str
    reason: str
    redirect_to: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "reason": self.reason, "redirectTo": self.redirect_to}


@dataclass
class Registration:
    """What a register call did."""

    client_id: str
    provider: str
    counted: dict[str, str] = field(default_factory=dict)
    """Ref as registered → the model it counts for."""
    removed: list[Removed] = field(default_factory=list)
    """Refs of removed models (with a warning each); counted for nothing."""
    unknown: list[str] = field(default_factory=list)
    """Refs the catalog does not know, counted under the ref itself."""
    added: list[str] = field(default_factory=list)
    """Models the client newly counts for."""
    dropped: list[str] = field(default_factory=list)
    """Models the client no longer counts for."""
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "provider": self.provider,
            "counted": self.counted,
            "removed": [r.as_dict() for r in self.removed],
            "unknown": self.unknown,
            "added": self.added,
            "dropped": self.dropped,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class ClientModel:
    """One model of a client, with that client's own condition for it."""

    model_id: str
    refs: tuple[str, ...]
    state: str
    """`available`, `cooling_down` or `suspended` (this client only)."""
    retry_at: float | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "refs": list(self.refs),
            "state": self.state,
            "retryAt": iso_time(self.retry_at),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ProviderCount:
    provider: str
    available: int
    clients: int

    def as_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "available": self.available, "clients": self.clients}


@dataclass(frozen=True)
class AvailabilityEvent:
    """Something that happened to a client × model, for logs and telemetry."""

    kind: str
    """`quota_exceeded`, `quota_cleared`, `quota_expired`, `suspended`, `resumed`,
    `removed_model` (a client registers, or after a refresh holds, a removed model)."""
    client_id: str
    provider: str
    model_id: str
    at: float
    retry_at: float | None = None
    reason: str | None = None
    owner: str | None = None
    """The gateway identity that registered the client (None: the embedding library)."""

    @property
    def telemetry(self) -> str | None:
        """The telemetry outcome this corresponds to, if any (`rate_limited`,
        `provider_error`), so reliability scores see it."""
        if self.kind == "quota_exceeded" or (self.kind == "suspended" and is_quota(self.reason)):
            return "rate_limited"
        if self.kind == "suspended":
            return "provider_error"
        return None


__all__ = [
    "DEFAULT_COOLDOWN_SECONDS",
    "LISTED_STATES",
    "MAX_CLIENTS_PER_OWNER",
    "MAX_COOLDOWN_SECONDS",
    "MAX_MODELS_PER_CLIENT",
    "MAX_REASON_CHARS",
    "MAX_REFS_PER_OWNER",
    "MAX_TIME",
    "MAX_UNKNOWN_PER_CLIENT",
    "MAX_UNKNOWN_PER_OWNER",
    "MODEL_STATES",
    "AvailabilityError",
    "AvailabilityEvent",
    "ClientModel",
    "ModelState",
    "ProviderCount",
    "Registration",
    "Removed",
    "is_quota",
    "iso_time",
]
