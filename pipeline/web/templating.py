"""The explorer's template engine: Jinja2 over ``pipeline/web/templates/``, built once per
process on first use (importing the explorer, or the reader that mounts it, loads no Jinja2).

Autoescaping is on for ``.html``, ``.xml`` and ``.atom`` templates, so every ``{{ value }}``
is escaped unless it is already markup. Values are escaped as Python's ``html.escape``
writes them (``&quot;``, ``&#x27;``), which is valid in HTML and XML alike and keeps the
published pages' bytes what they were before the templates. The filters are the
``pipeline.web.shown`` formatters (``{{ price | usd }}``).
"""

from __future__ import annotations

import html
from functools import cache
from typing import TYPE_CHECKING, Any

from pipeline.web import figures, shown

if TYPE_CHECKING:
    from jinja2 import Environment

FILTERS = {
    "cap_label": shown.cap_label,
    "usd": figures.usd,
    "count": figures.count,
    "day": shown.day,
    "rank": shown.rank,
    "percent": shown.percent,
    "amount": shown.amount,
    "listed": shown.listed,
    "score": shown.score,
    "shown": shown.value_of,
}


def render(name: str, **context: Any) -> str:
    """The template ``name`` rendered with ``context``."""
    return environment().get_template(name).render(context)


@cache
def environment() -> Environment:
    """The one Environment of this process (templates compile once, on first render)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    def escaped(value: Any) -> Any:
        """What ``{{ value }}`` writes: markup as it is, None as nothing, the rest escaped.
        Autoescaping escapes ``&``, ``<`` and ``>`` as html.escape does; a string holding a
        quote is escaped here, as html.escape writes quotes (markupsafe would write them as
        ``&#34;`` and ``&#39;``), and passed on as markup."""
        if type(value) is not str:
            if value is None:
                return ""
            if hasattr(value, "__html__"):
                return value
            value = str(value)
        if "'" in value or '"' in value:
            return Markup(html.escape(value, quote=True))
        return value

    env = Environment(
        loader=PackageLoader("pipeline.web", "templates"),
        autoescape=select_autoescape(["html", "xml", "atom"]),
        # A misspelt name fails the render (and the tests) instead of printing nothing.
        undefined=StrictUndefined,
        finalize=escaped,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env
