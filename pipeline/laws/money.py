"""Laws of money: a published 0 means free, and a price that is not per token says its unit."""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.laws.published import Listing, PublishedSet
from pipeline.laws.violation import Violation
from pipeline.records.model import ModelRecord
from pipeline.stages.signals import positive_prices

# Outputs billed per minute / second / character: a lone input figure is no price per token.
UNIT_BILLED = frozenset({"speech", "transcription"})
TOKEN_OUTPUTS = frozenset({"text", "embeddings", "embedding"})


def zero_means_free(published: PublishedSet) -> Iterator[Violation]:
    """A token price of 0 means free: a model whose published input and output token prices
    are both 0 (or whose only token price is a 0) is `isFree: true`, and a free model has no
    price above 0. A model not billed per token publishes no token price at all."""
    for listing in published.lists:
        for model in listing.models:
            pricing = model.pricing
            if pricing.variable:
                continue
            tokens = [v for v in (pricing.input, pricing.output) if v is not None]
            paid = positive_prices(pricing)
            if tokens and not any(tokens) and not paid and model.is_free is not True:
                yield Violation(
                    "zero-means-free",
                    listing.source,
                    model.id,
                    f"input {pricing.input}, output {pricing.output} with isFree "
                    f"{_shown(model.is_free)} ({model.cost!r})",
                )
            elif model.is_free is True and paid:
                yield Violation(
                    "zero-means-free",
                    listing.source,
                    model.id,
                    f"isFree true but priced: {', '.join(paid[:3])} > 0",
                )


def unit_stated(published: PublishedSet) -> Iterator[Violation]:
    """A price not per token states its unit: `perUnit` comes with `unit`; a speech or
    transcription model's lone input figure is a per-unit price, never "per 1M tokens"; and a
    model whose price is stated but neither per token nor free (video, rerank, music) says so
    with `unit` — or carries another figure with a unit of its own (`perImage`,
    `imageOutput`, ...)."""
    for listing in published.lists:
        for model in listing.models:
            problem = _unit_problem(listing, model)
            if problem is not None:
                yield Violation("unit-stated", listing.source, model.id, problem)


def _unit_problem(listing: Listing, model: ModelRecord) -> str | None:
    pricing = model.pricing
    if pricing.per_unit is not None and not pricing.unit:
        return f"perUnit {pricing.per_unit} without its unit"
    outputs = set(model.modalities.output)
    unit_billed = model.kind in UNIT_BILLED or (outputs and outputs <= UNIT_BILLED)
    if unit_billed and pricing.input and not pricing.output:
        return (
            f"a {model.kind} model priced {pricing.input} per 1M input tokens (cost "
            f"{model.cost!r}): a lone input figure is a per-unit price"
        )
    if pricing.variable or model.is_free or pricing.unit:
        return None
    if pricing.input is not None or pricing.output is not None or positive_prices(pricing):
        return None
    stated = listing.provenance.get(model.id, {}).get("pricing", "unknown") != "unknown"
    if (listing.is_openrouter or stated) and not (outputs <= TOKEN_OUTPUTS):
        return f"no token price, no figure and no unit (cost {model.cost!r})"
    return None


def _shown(value: object) -> str:
    return "absent" if value is None else str(value).lower()
