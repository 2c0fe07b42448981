"""Price tiers and the display cost string.

Tier boundaries are USD per 1M input tokens (DESIGN.md §5): free = input and output both 0,
budget (0, 1), standard [1, 5), pro [5, 15), premium ≥ 15, variable for dynamic routers.
The boundaries come from configuration (``tiers:``); the defaults are the ones above.

``unknown`` is for models the input-token price cannot place: no input price at all, or an
input price of 0 on a model that is not free (image generators priced per output image such
as black-forest-labs/flux.2-pro; video, speech and rerank models that the feed does not price
per token and lists at "0"). Calling those `budget` would advertise a price that does not exist.
Speech and transcription models priced per minute / second / character (``pricing.perUnit``)
have no input-token price and are ``unknown`` too; their ``cost`` string names the unit.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Protocol

from pipeline.config import TierConfig
from pipeline.records.base import PriceTier


class Prices(Protocol):
    """What the tier and the label are read from: a ``Pricing``, or any object with these
    attributes (the merge reads them off published mappings without building a ``Pricing``)."""

    @property
    def variable(self) -> bool: ...
    @property
    def input(self) -> Decimal | None: ...
    @property
    def output(self) -> Decimal | None: ...
    @property
    def image_output(self) -> Decimal | None: ...
    @property
    def per_image(self) -> Decimal | None: ...
    @property
    def per_request(self) -> Decimal | None: ...
    @property
    def per_unit(self) -> Decimal | None: ...
    @property
    def unit(self) -> str | None: ...


def classify(pricing: Prices, *, is_free: bool, config: TierConfig | None = None) -> PriceTier:
    """The tier of a model's base input price."""
    config = config or TierConfig()
    if pricing.variable:
        return "variable"
    if is_free:
        return "free"
    price = pricing.input
    if price is None:
        return "unknown"
    if price == 0:
        # Free input with paid output is cheap per token; with nothing paid per token the
        # money is in units the tiers do not measure (see the module docstring).
        return "budget" if pricing.output is not None and pricing.output > 0 else "unknown"
    if price < config.budget_below:
        return "budget"
    if price < config.standard_below:
        return "standard"
    if price < config.pro_below:
        return "pro"
    return "premium"


def tier_evidence(pricing: Prices, *, is_free: bool) -> str:
    """What placed a model in its tier, in words, for the layer ``pricing`` (``catalog show``,
    ``--explain``, the model page): the price ``classify`` went by and the rule it applied."""
    if pricing.variable:
        return "pricing.variable: the router bills the model it picks"
    if is_free:
        return "isFree: every listed price is 0"
    price = pricing.input
    if price is None:
        return f"no input-token price ({cost_label(pricing, is_free=is_free)})"
    if price == 0:
        if pricing.output is not None and pricing.output > 0:
            return f"input $0 per 1M with a paid output ({_money(pricing.output)} per 1M)"
        return "input $0 on a model that is not free: priced in units the tiers do not measure"
    bounds = TierConfig()
    return (
        f"input {_money(price)} per 1M tokens (tiers by input price: budget < "
        f"${bounds.budget_below:g}, standard < ${bounds.standard_below:g}, pro < "
        f"${bounds.pro_below:g}, else premium, with the default `tiers:`)"
    )


CENT = Decimal("0.01")


@functools.lru_cache(maxsize=4096, typed=True)
def _money(value: Decimal) -> str:
    """``$2.50``, ``$0.0015``, ``$0``. Cached: a catalog repeats the same few hundred prices,
    and the text depends only on the value (equal Decimals such as 2.5 and 2.50 read the
    same), formatting a Decimal costing microseconds (issue 30). Typed: an equal float or int
    is another key."""
    if value == 0:
        return "$0"
    if value >= CENT:
        return f"${value:,.2f}"
    return f"${value.normalize():f}"


def cost_label(pricing: Prices, *, is_free: bool) -> str:
    """A short human-readable price, e.g. ``$2.50/$10.00 per 1M``."""
    if pricing.variable:
        return "variable (dynamic routing)"
    if is_free:
        return "free"
    if (
        pricing.input is not None
        and pricing.output is not None
        and (pricing.input or pricing.output)
    ):
        return f"{_money(pricing.input)}/{_money(pricing.output)} per 1M"
    if pricing.input:
        return f"{_money(pricing.input)} per 1M input"
    if pricing.image_output:
        return f"{_money(pricing.image_output)} per 1M image tokens"
    if pricing.per_image:
        return f"{_money(pricing.per_image)} per image"
    if pricing.per_request:
        return f"{_money(pricing.per_request)} per request"
    if pricing.per_unit is not None:
        # Never "per 1M": the figure is per minute / second / character (see normalize),
        # and shown exactly ($0.016, not $0.02).
        money = f"${pricing.per_unit.normalize():f}"
        if pricing.unit and pricing.unit != "unstated":
            return f"{money} per {pricing.unit}"
        return f"{money} per billing unit (unit not stated upstream)"
    return "not priced per token"
