"""How a price and a count read, on the explorer's pages and in the CLI's views.

Kept apart from pipeline.web.shown, which imports the records and the capability stage for
its other values: ``catalog list`` prints its table with these alone (issue 29).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DASH = "—"
"""What an absent value reads as."""


def usd(value: Any) -> str:
    """A price as shown: up to 6 significant digits, no float noise, and never in exponent
    notation (``$0.0000003``, not ``$3e-07``; ``$1,234,570``, not ``$1.23457e+06``), as the
    explorer's script writes it too (``toLocaleString``, 6 significant digits). The one
    formatter of prices for the pages and the CLI."""
    if value is None:
        return DASH
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    # The shortest repr of a float is the published decimal (normalize writes the shortest).
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    if not number.is_finite():
        return str(value)
    if number == 0:
        return "$0"
    step = Decimal(1).scaleb(number.adjusted() - 5)  # the 6th significant digit
    shown = number.quantize(step, rounding=ROUND_HALF_UP).normalize()
    return ("-$" if shown < 0 else "$") + format(abs(shown), ",f")


def count(value: Any) -> str:
    """A token count with thousands separators."""
    return DASH if value is None else f"{int(value):,}"
