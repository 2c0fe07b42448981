"""The reader: the published catalog as a Python library (``pipeline.service`` serves it over HTTP).

    from pipeline.registry import Registry

    registry = Registry.open("s3://bucket/prefix")      # or a directory, or a Store
    registry.get("openai/gpt-4o")                       # exact id or alias → record
    registry.resolve("gpt-4-0314")                      # id, alias, old, native or dated id → hops
    registry.search(capability="vision", tier="budget", state="active")
    registry.curated("coding")                          # that bucket's entries; () = all buckets
    registry.core()                                     # the curated core, with UX metadata
    registry.search(open_weights=True, knowledge_cutoff_after="2025-06-01")
    registry.cost("openai/gpt-4o", input=12_000, output=800, cached=4_000, at="02:30")
    registry.providers()                                # every provider list (issue 30)
    registry.provider_models("anthropic", capability="tools")
    registry.model_providers("openai/gpt-4o")           # who serves it, prices and sources
    registry.refresh()                                  # cheap poll; swaps only a valid set

    live = Availability.attach(registry)                # runtime: which clients serve what now
    live.register("key-1", "openai", ["gpt-4o"])        # then mark_quota / suspend / resume
    live.state("openai/gpt-4o")                         # available / cooling_down until T / …

The reader serves what the pipeline published and never recomputes it. Importing this package
loads neither boto3 (only an ``s3://`` store does, when opened) nor pydantic nor the web stack.

The library:

- ``core``: ``Registry`` (opens, polls, swaps sets) and ``Snapshot`` (queries over one set);
- ``loader``: reading one consistent published set from a store, and polling it cheaply;
- ``cost``: what a call costs, from the published prices;
- ``providers``: the provider lists (every provider, its models, who serves a model);
- ``availability/``: the runtime overlay (which of a gateway's clients serve what now), loaded
  on first use.

``formats``: the vendors' native list shapes (OpenAI, Anthropic, Gemini) of a set of records,
used by the overlay's available lists and by the HTTP service.

Over HTTP (``catalog serve``) the same library is served by ``pipeline.service``.
"""

from typing import TYPE_CHECKING, Any

from pipeline.registry.core import (
    CatalogUnavailable,
    ModelNotFound,
    RefreshResult,
    Registry,
    Snapshot,
)
from pipeline.registry.cost import CostEstimate, CostUnavailable, estimate_cost
from pipeline.registry.filters import (
    BUCKETS,
    CAPABILITIES,
    STATES,
    TIERS,
    QueryError,
    RegistryError,
)
from pipeline.registry.loader import CatalogSet, LoadError
from pipeline.registry.providers import ProviderNotFound
from pipeline.resolve import Hop, Notice, Resolution

if TYPE_CHECKING:
    from pipeline.registry.availability import (
        Availability,
        AvailabilityError,
        AvailabilityEvent,
        ModelState,
        Registration,
    )

_LAZY = {"Availability", "AvailabilityError", "AvailabilityEvent", "ModelState", "Registration"}


def __getattr__(name: str) -> Any:
    # The availability overlay loads on first use: a reader that never registers a client
    # does not pay for compiling it at import (the import-time budget is 100 ms).
    if name in _LAZY:
        from pipeline.registry import availability

        return getattr(availability, name)
    raise AttributeError(f"module 'pipeline.registry' has no attribute {name!r}")


__all__ = [
    "BUCKETS",
    "CAPABILITIES",
    "STATES",
    "TIERS",
    "Availability",
    "AvailabilityError",
    "AvailabilityEvent",
    "CatalogSet",
    "CatalogUnavailable",
    "CostEstimate",
    "CostUnavailable",
    "Hop",
    "LoadError",
    "ModelNotFound",
    "ModelState",
    "Notice",
    "ProviderNotFound",
    "QueryError",
    "RefreshResult",
    "Registration",
    "Registry",
    "RegistryError",
    "Resolution",
    "Snapshot",
    "estimate_cost",
]
