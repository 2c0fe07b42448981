"""The per-family YAML model registry (`v1/models/<family>.yaml`) other runtimes consume.

One file per family (gpt, claude, gemini, deepseek, qwen, mistral, llama, ...), each entry:

    models:
      gpt-5.4:
        provider: openai
        model_id: gpt-5.4
        openrouter_id: openai/gpt-5.4
        context_window: 1050000
        max_output_tokens: 128000
        capabilities: [chat, streaming, tools, vision, reasoning, agentic, json_mode]
        pricing: {input_per_token: 0.0000025, output_per_token: 0.000015, cached_input_per_token: …}
        release_date: "2026-03-05"
        verification: {status: unverified, last_checked: "2026-08-19", verified_capabilities: []}

Prices are USD per token (ours are per 1M), written in plain decimal notation from the exact
Decimal values, so a YAML loader reads back the same number. Every active or stale chat model
of current.json is exported except routers and `~` alias pointers. Verification comes from the
record's `verification` (issue 17: observed calls); a model without one is `unverified`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import yaml

from pipeline.records.catalog import CurrentCatalog
from pipeline.records.model import ModelRecord

PREFIX = "models/registry/v1/models"
PER_MILLION = Decimal(1_000_000)

# (regex on the id, family file), first match wins; otherwise the vendor prefix is the file.
# The names follow the registry's own layout (gpt.yaml, claude.yaml, gemini.yaml, ...).
FAMILY_FILES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^openai/"), "gpt"),
    (re.compile(r"^anthropic/"), "claude"),
    (re.compile(r"^google/gemini"), "gemini"),
    (re.compile(r"^google/gemma"), "gemma"),
    (re.compile(r"^deepseek/"), "deepseek"),
    (re.compile(r"^qwen/"), "qwen"),
    (re.compile(r"^mistralai/"), "mistral"),
    (re.compile(r"^meta-llama/"), "llama"),
    (re.compile(r"^x-ai/"), "grok"),
    (re.compile(r"^moonshotai/"), "kimi"),
    (re.compile(r"^z-ai/"), "glm"),
)
EXPORTED_STATES = ("active", "stale")


def family_file(record: ModelRecord) -> str:
    for pattern, name in FAMILY_FILES:
        if pattern.search(record.id):
            return name
    return re.sub(r"[^a-z0-9-]+", "-", record.family.lower()).strip("-") or "other"


def exported(record: ModelRecord) -> bool:
    return (
        record.kind == "chat"
        and record.lifecycle.state in EXPORTED_STATES
        and not record.id.startswith("~")
    )


def capabilities(record: ModelRecord) -> list[str]:
    """The registry's standard capability flags, from the published record."""
    mods = set(record.modalities.input) | set(record.modalities.output)
    flags = {
        "chat": record.kind == "chat",
        # OpenRouter streams every chat completion (`stream: true` is accepted by all models).
        "streaming": record.kind == "chat",
        "tools": record.supports_tools,
        "vision": record.supports_vision,
        "audio": "audio" in mods,
        "reasoning": record.reasoning != "none",
        # Multi-step agent work needs tool calls and planning: tools plus reasoning.
        "agentic": record.supports_tools and record.reasoning != "none",
        "json_mode": record.structured_output,
    }
    return [name for name, on in flags.items() if on]


class _Price(Decimal):
    """A Decimal written as a plain YAML float (``0.0000025``, never ``2.5e-06``)."""


def _represent_price(dumper: yaml.SafeDumper, value: _Price) -> yaml.ScalarNode:
    text = format(value.normalize(), "f")
    if "." not in text:
        text += ".0"
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Price, _represent_price)


def per_token(per_million: Decimal | None) -> _Price | None:
    return None if per_million is None else _Price(per_million / PER_MILLION)


def entry(record: ModelRecord, checked: str) -> dict[str, Any]:
    pricing: dict[str, Any] = {}
    if not record.pricing.variable:
        for key, value in (
            ("input_per_token", record.pricing.input),
            ("output_per_token", record.pricing.output),
            ("cached_input_per_token", record.pricing.cache_read),
        ):
            price = per_token(value)
            if price is not None:
                pricing[key] = price
    out: dict[str, Any] = {
        "provider": record.family,
        "model_id": record.id.split("/", 1)[-1],
        "openrouter_id": record.id,
        "context_window": record.max_context,
        "max_output_tokens": record.max_output,
        "capabilities": capabilities(record),
        "pricing": pricing,
        "release_date": (
            datetime.fromtimestamp(record.created, tz=UTC).strftime("%Y-%m-%d")
            if record.created
            else None
        ),
        "verification": verification(record, checked),
    }
    return {key: value for key, value in out.items() if value is not None}


# Telemetry capability → the registry's capability name.
REGISTRY_CAPABILITY = {
    "chat": "chat",
    "streaming": "streaming",
    "tools": "tools",
    "vision": "vision",
    "reasoning": "reasoning",
    "structuredOutput": "json_mode",
}


def verification(record: ModelRecord, checked: str) -> dict[str, Any]:
    """The registry's verification block, from the record's `verification` (issue 17)."""
    found = record.verification
    if found is None:
        return {"status": "unverified", "last_checked": checked, "verified_capabilities": []}
    block: dict[str, Any] = {
        "status": found.status,
        "last_checked": found.last_checked[:10],
        "verified_capabilities": [REGISTRY_CAPABILITY[c] for c in found.verified_capabilities],
    }
    if found.failing_capabilities:
        block["failing_capabilities"] = [REGISTRY_CAPABILITY[c] for c in found.failing_capabilities]
    block["calls"] = found.calls
    return block


def build_registry(catalog: CurrentCatalog) -> dict[str, bytes]:
    """File name (`gpt.yaml`) → YAML bytes, deterministic for the same catalog."""
    # When the data was observed upstream, not when it was republished: an embedded or
    # replayed catalog must not look checked today.
    checked = (catalog.data_as_of or catalog.generated_at)[:10]
    files: dict[str, dict[str, Any]] = {}
    for record in sorted(catalog.models, key=lambda r: r.id):
        if not exported(record):
            continue
        models = files.setdefault(family_file(record), {})
        key = record.id.split("/", 1)[-1]
        if key in models:  # two vendors in one file with the same model name
            key = record.id.replace("/", "--")
        models[key] = entry(record, checked)
    out: dict[str, bytes] = {}
    for name in sorted(files):
        header = (
            f"# {name}.yaml: generated from models/openrouter/current.json "
            f"(run {catalog.run_id}, {catalog.generated_at}, data as of "
            f"{catalog.data_as_of or catalog.generated_at}); do not edit.\n"
        )
        body = yaml.dump(
            {"models": files[name]},
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )
        out[f"{name}.yaml"] = (header + body).encode("utf-8")
    return out


def registry_key(file_name: str) -> str:
    """``models/registry/v1/models/<family>.yaml``."""
    return f"{PREFIX}/{file_name}"
