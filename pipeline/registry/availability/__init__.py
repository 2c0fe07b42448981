"""Runtime availability: which of a gateway's clients can serve each catalog model right now.

The catalog says what exists; a gateway also needs what it can *serve now*. ``Availability`` is
an overlay over a loaded ``Registry``: the gateway registers its clients (API keys, OAuth
accounts, local servers — by a name, never the secret itself) with a provider and the model ids
each one serves, then reports what happens to them (quota exceeded until T, suspended for a
reason, back again). Queries answer per model: a state with its reason and retry time, client
counts, providers ordered by availability, the first available model, the available list.

Rules (one client × one model is in exactly one of three conditions):

- *available*: registered, not cooling down, not suspended;
- *cooling*: quota exceeded until ``retry_at`` (it clears itself once the time has passed), or
  suspended with the reason ``quota`` (until resumed) — it will come back by itself;
- *blocked*: suspended for any other reason (auth revoked, provider error) — it will not.

A model's state follows: ``available`` (≥ 1 available client), else ``cooling_down`` (≥ 1
cooling client; ``retry_at`` is the earliest known return), else ``suspended`` (every client
blocked; ``reason`` lists why), else ``no_clients``. A model is *listed* while it is
``available`` or ``cooling_down``: a rate-limited model stays visible with its retry time
instead of vanishing (CLIProxyAPI #5181); only blocked or client-less models are hidden.

Keys come from the catalog's resolution, per client provider: a native id of that provider
(``sources[].nativeId``), an exact id or alias, ``<provider>/<ref>``, an old alias, or an old id
renamed to a new one all count for the model they name. A ref the catalog has *removed*
(tombstoned, or only reachable by a variant / override / family-fallback redirect to another
model) is not counted for anything: the registration reports it with the catalog's offered
target, and it is never listed or returned as available (CLIProxyAPI #414). Refs the catalog
does not know (a local server's model) are counted under the ref itself; they have states and
counts but no record, so they are never in the catalog lists.

A catalog refresh is followed on the refreshing thread (``Registry.listeners``): every distinct
(provider, ref) is resolved again outside the lock while requests keep the previous catalog,
then only the clients whose refs now name another model are reconciled, their quota and
suspension state carried to that model. A snapshot swapped in any other way is picked up by the
next call.

Complexity: a state change touches one client × model (or one client's models) and the
model's counters; a per-model query reads that model's counters (``retry_at`` and reasons look
at that model's cooling or suspended clients only). Expired cooldowns leave through one heap in
expiry order, checked at the start of every call, so nothing needs a cleanup call. ``first
available`` finds the lowest set bit of (available models ∧ a filter mask) in a bitset ordered
newest first; masks are built once per catalog version and filter.

Events: pass ``on_event`` to receive an ``AvailabilityEvent`` for each quota mark, suspension,
resumption, expiry and removed-model registration (called after the lock is released; errors
in the callback are logged and dropped). Its ``telemetry`` field names the telemetry outcome it
corresponds to (``rate_limited`` / ``provider_error``), for a telemetry sink to record, and
``owner`` the gateway identity the client belongs to.

Owners (issue 27): a registration may name its ``owner``, the gateway identity that made it
over HTTP. Each owner may hold at most ``MAX_CLIENTS_PER_OWNER`` clients,
``MAX_REFS_PER_OWNER`` refs in all and ``MAX_UNKNOWN_PER_OWNER`` of them unknown to the
catalog; every client at most ``MAX_MODELS_PER_CLIENT`` refs, of which
``MAX_UNKNOWN_PER_CLIENT`` unknown. A registration over a limit is refused whole
(``ValueError`` naming it), before anything changes.

Modules, in the order they build on each other: ``values`` (what the overlay answers: states,
registrations, events, limits), ``catalog_view`` (where a ref leads in one catalog),
``ledger`` (per-model counts), ``roster`` (clients and their refs, re-keyed on a new catalog),
``overlay`` (``Availability``: locking, catalog following, events, queries).
"""

from pipeline.registry.availability.overlay import FORMAT_FAMILIES, Availability, attach_states
from pipeline.registry.availability.values import (
    DEFAULT_COOLDOWN_SECONDS,
    LISTED_STATES,
    MAX_CLIENTS_PER_OWNER,
    MAX_COOLDOWN_SECONDS,
    MAX_MODELS_PER_CLIENT,
    MAX_REASON_CHARS,
    MAX_REFS_PER_OWNER,
    MAX_TIME,
    MAX_UNKNOWN_PER_CLIENT,
    MAX_UNKNOWN_PER_OWNER,
    MODEL_STATES,
    AvailabilityError,
    AvailabilityEvent,
    ClientModel,
    ModelState,
    ProviderCount,
    Registration,
    Removed,
)

__all__ = [
    "DEFAULT_COOLDOWN_SECONDS",
    "FORMAT_FAMILIES",
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
    "Availability",
    "AvailabilityError",
    "AvailabilityEvent",
    "ClientModel",
    "ModelState",
    "ProviderCount",
    "Registration",
    "Removed",
    "attach_states",
]
