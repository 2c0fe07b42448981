"""One broken law: which, where, and the values that break it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """A law that does not hold for one model (or one entry) of one published list."""

    law: str
    """The law's name (a key of ``pipeline.laws.LAWS``)."""
    source: str
    """The list: ``openrouter`` or a provider source name."""
    model: str
    """The model id (or the alias, redirect or entry) concerned."""
    detail: str
    """The values that break the law, in words."""

    def as_dict(self) -> dict[str, str]:
        return {"law": self.law, "source": self.source, "model": self.model, "detail": self.detail}

    def line(self) -> str:
        return f"{self.law}: {self.source}:{self.model}: {self.detail}"
