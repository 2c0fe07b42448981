"""The ``sources:`` and ``model_cache:`` sections of catalog.yaml, typed.

``config.py`` keeps these sections raw (``CatalogConfig.extra``); this module owns them::

    sources:
      openai: {enabled: true, base_url: https://api.openai.com/v1, api_key_env: OPENAI_API_KEY}
      ollama: {enabled: true, base_url: http://localhost:11434}
      my-vllm: {type: openai-compatible, base_url: http://10.0.0.5:8000/v1}
      modelsdev: {url: https://models.dev/api.json}      # an independent catalog: its file
    model_cache:
      default_ttl_seconds: 3600
      provider_ttl_overrides: {ollama: 300, lmstudio: 300, perplexity: 86400}
      use_catalog_fallback: true

Every built-in source exists with its registry defaults even when not configured; a
configured entry overrides them, and an entry with ``type`` adds a named instance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.config import CatalogConfig, ConfigError
from pipeline.sources.registry import INSTANCE_ONLY, SOURCE_TYPES, SourceType

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Names the CLI already uses for other targets.
RESERVED_NAMES = frozenset({"all", "openrouter", "curated", "providers"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class SourceSettings(_Section):
    """One entry under ``sources:``."""

    type: str | None = None
    """Adapter to use (a registry name); defaults to the entry's own name."""
    enabled: bool | None = None
    """Run this source; default from the registry (local and generic endpoints: off)."""
    base_url: str | None = None
    """Base URL of the API (no trailing slash needed)."""
    url: str | None = None
    """An independent catalog's file (models.dev `api.json`, LiteLLM's price file,
    genai-prices `data.json`): its full URL. Only for those sources."""
    api_key_env: str | None = None
    """Environment variable holding the key. The key itself never goes in this file."""
    ttl_seconds: int | None = Field(default=None, ge=0)
    """Cache TTL for this source; beats ``model_cache.provider_ttl_overrides``."""
    timeout_seconds: float = Field(default=20.0, gt=0)
    """Per-request timeout (connect and read) for this source."""
    max_attempts: int = Field(default=2, ge=1)
    """Attempts on timeouts, connection errors, 429 and 5xx before falling back."""
    vendors: list[str] | None = None
    """OpenRouter vendor prefixes of the models this endpoint serves (catalog fallback)."""


class ModelCacheConfig(_Section):
    """``model_cache:``."""

    default_ttl_seconds: int = Field(default=3600, ge=0)
    """TTL of a source's cached list when nothing more specific is set."""
    provider_ttl_overrides: dict[str, int] = Field(default_factory=dict)
    """TTL per source name (or per type)."""
    use_catalog_fallback: bool = True
    """When a source's API fails, serve the OpenRouter catalog's entries for its vendor."""


@dataclass(frozen=True)
class SourceInstance:
    """A source as it will run: name, its type and the effective settings."""

    name: str
    type_name: str
    kind: SourceType
    enabled: bool
    base_url: str | None
    api_key_env: str | None
    ttl_seconds: int
    timeout_seconds: float
    max_attempts: int
    vendors: tuple[str, ...]

    def skip_reason(self, env: Mapping[str, str]) -> str | None:
        """Why this source will not run, or None when it will."""
        if not self.enabled:
            if self.kind.group == "independent":
                return f"off: list it under sources: ({self.name}: {{}} or with url:) to sync it"
            return "disabled (set enabled: true under sources:)"
        if not self.base_url and self.kind.group != "pinned":
            return "no base_url configured"
        if self.kind.key_required and self.api_key_env and not env.get(self.api_key_env):
            return f"{self.api_key_env} is not set"
        return None


@dataclass(frozen=True)
class ProvidersConfig:
    sources: dict[str, SourceInstance]
    cache: ModelCacheConfig


def _problems(exc: ValidationError, prefix: str) -> str:
    return "; ".join(
        f"{prefix}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )


def load_providers_config(config: CatalogConfig) -> ProvidersConfig:
    """Typed sources and cache settings from the raw sections; ConfigError names the key."""
    raw_sources = config.extra.get("sources") or {}
    raw_cache = config.extra.get("model_cache") or {}
    if not isinstance(raw_sources, dict):
        raise ConfigError("sources: must be a mapping of source name → settings")
    try:
        cache = ModelCacheConfig.model_validate(raw_cache)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, "model_cache")) from exc
    settings: dict[str, SourceSettings] = {
        name: SourceSettings() for name in SOURCE_TYPES if name not in INSTANCE_ONLY
    }
    for key, value in raw_sources.items():
        name = str(key)
        if not NAME.match(name) or name in RESERVED_NAMES:
            raise ConfigError(
                f"sources.{name}: invalid source name (lower-case letters, digits, - and _; "
                f"not {', '.join(sorted(RESERVED_NAMES))})"
            )
        try:
            settings[name] = SourceSettings.model_validate(value or {})
        except ValidationError as exc:
            raise ConfigError(_problems(exc, f"sources.{name}")) from exc
    instances: dict[str, SourceInstance] = {}
    for name, entry in settings.items():
        type_name = entry.type or name
        kind = SOURCE_TYPES.get(type_name)
        if kind is None:
            known = ", ".join(sorted(SOURCE_TYPES))
            raise ConfigError(
                f"sources.{name}: unknown source type {type_name!r}; set type: to one of {known}"
            )
        ttl = (
            entry.ttl_seconds
            if entry.ttl_seconds is not None
            else cache.provider_ttl_overrides.get(
                name,
                cache.provider_ttl_overrides.get(
                    type_name,
                    kind.default_ttl if kind.default_ttl is not None else cache.default_ttl_seconds,
                ),
            )
        )
        configured = name in raw_sources
        enabled = (
            entry.enabled if entry.enabled is not None else (kind.enabled_by_default or configured)
        )
        if entry.url is not None and kind.group != "independent":
            raise ConfigError(
                f"sources.{name}.url: only an independent catalog (modelsdev, litellm, "
                "genai-prices) reads a file by URL; use base_url for an API"
            )
        if entry.base_url is not None and kind.group == "independent":
            raise ConfigError(
                f"sources.{name}.base_url: an independent catalog is one file; set "
                f"sources.{name}.url to its full URL"
            )
        instances[name] = SourceInstance(
            name=name,
            type_name=type_name,
            kind=kind,
            enabled=enabled,
            base_url=(entry.url or entry.base_url or kind.base_url or "").rstrip("/") or None,
            api_key_env=entry.api_key_env or kind.api_key_env,
            ttl_seconds=ttl,
            timeout_seconds=entry.timeout_seconds,
            max_attempts=entry.max_attempts,
            vendors=tuple(entry.vendors) if entry.vendors is not None else kind.vendors,
        )
    return ProvidersConfig(sources=dict(sorted(instances.items())), cache=cache)
