"""Pinned manifests: hand-maintained model lists for providers without a usable list API
(Perplexity, xAI, DeepInfra), in ``overrides/pinned/<provider>.yaml``.

A manifest is validated strictly (unknown keys, wrong types and missing fields are errors that
name the file and the entry) and carries the date it was last ``reviewed`` against the
provider's published documentation, plus the URLs it was reviewed against. Prices are USD per
token as decimal strings, like OpenRouter's, so they stay exact.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipeline.inputs import CONFIG_BYTES, read_input
from pipeline.records.payloads import NativeModel, PinnedManifest, PinnedModel
from pipeline.sources.native import Adapter, FetchContext, iso_date
from pipeline.stages.normalize import NormalizeError, normalize_pricing


class ManifestError(Exception):
    """A pinned manifest is missing or invalid; the message names file, entry and field."""


def manifest_path(ctx: FetchContext) -> Path:
    return Path(ctx.manifest_dir or "overrides/pinned") / f"{ctx.source}.yaml"


def fetch(ctx: FetchContext) -> list[bytes]:
    path = manifest_path(ctx)
    try:
        data = read_input(path, CONFIG_BYTES)
    except OSError as exc:
        raise ManifestError(
            f"{ctx.source}: cannot read pinned manifest {path} ({exc.strerror}); "
            "create it or disable the source"
        ) from exc
    load(data, str(path), ctx.source)  # a schema error stops this source before anything else
    return [data]


def load(data: bytes, where: str, source: str) -> PinnedManifest:
    """Validate manifest bytes; ManifestError names the file, the entry and the field."""
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise ManifestError(f"{where}: not valid YAML: {exc}") from exc
    try:
        manifest = PinnedManifest.model_validate(document)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            loc = list(err["loc"])
            path = ".".join(str(p) for p in loc) or "(top level)"
            if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
                entries = document.get("models") if isinstance(document, dict) else None
                entry = entries[loc[1]] if isinstance(entries, list) else None
                model_id = entry.get("model_id") if isinstance(entry, dict) else None
                path += f" ({model_id})" if model_id else ""
            problems.append(f"{path}: {err['msg']}")
        raise ManifestError(
            f"{where}: schema error: {'; '.join(problems)}; fix the manifest "
            "(see README, Provider sources)"
        ) from exc
    if manifest.provider != source:
        raise ManifestError(f"{where}: provider is {manifest.provider!r}, expected {source!r}")
    for index, model in enumerate(manifest.models):
        if model.provider != source:
            raise ManifestError(
                f"{where}: models.{index} ({model.model_id}): provider is {model.provider!r}, "
                f"expected {source!r}"
            )
    return manifest


def parse(pages: list[bytes]) -> list[Any]:
    # Validated in fetch(); the source name is inside the manifest.
    document = yaml.safe_load(pages[0])
    manifest = PinnedManifest.model_validate(document)
    return list(manifest.models)


def translate(item: Any) -> NativeModel:
    if not isinstance(item, PinnedModel):
        raise ValueError(f"entry is {type(item).__name__}, not a pinned model")
    caps = set(item.capabilities)
    params = ["max_tokens", "temperature"]
    if "tools" in caps:
        params += ["tool_choice", "tools"]
    if "structured_output" in caps:
        params.append("response_format")
    if "reasoning" in caps:
        params.append("reasoning")
    if "web_search" in caps:
        params.append("web_search_options")
    try:
        pricing = normalize_pricing(item.pricing.model_dump(exclude_none=True))
    except NormalizeError as exc:
        raise ValueError(f"{item.model_id}: {exc}") from exc
    release = (
        int(dt.datetime.combine(item.release_date, dt.time(), dt.UTC).timestamp())
        if item.release_date
        else None
    )
    model = NativeModel(
        id=item.model_id,
        name=item.name,
        created=release,
        max_context=item.context_window,
        max_output=item.max_output_tokens,
        input_modalities=["text", "image"] if "vision" in caps else ["text"],
        output_modalities=["text"],
        pricing=pricing,
        supported_parameters=sorted(params),
        expires_at=iso_date(None),
    )
    # A manifest entry is a person's reading of the provider's documentation: its
    # `capabilities` list is the field every flag rests on (an absent list: none of them).
    stated = "capabilities" if "capabilities" in item.model_fields_set else None
    if stated:
        model.cites.update(
            inputs=stated, tools=stated, structured=stated, reasoning=stated, pricing="pricing"
        )
    else:
        model.cites["pricing"] = "pricing"
    model.rules["outputs"] = "pinned manifest rule (every pinned model is a chat model)"
    return model


ADAPTER = Adapter(fetch=fetch, parse=parse, translate=translate)
