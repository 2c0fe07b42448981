"""Hand-maintained override files: loaded strictly, validated against their JSON Schemas.

The directory is ``--overrides DIR``, else ``CATALOG_OVERRIDES``, else the config's
``overrides_dir``, else the repository's ``overrides/`` (installed outside a checkout: the copies
shipped in the package). Each known file is optional; each one present must be valid JSON with
no duplicate keys, match its schema (generated from the models below and committed under
``pipeline/schemas/``), and pass the checks a schema cannot express (patterns compile, no id
listed twice). A bad file stops the run before anything is published,
with an error naming the file, the JSON path and the problem.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.inputs import read_text_input
from pipeline.overrides.patterns import PatternError, compile_pattern
from pipeline.publishing import schemas
from pipeline.publishing.jsonpath import json_path
from pipeline.records.base import Kind, Reasoning
from pipeline.records.curated import BucketName

PACKAGE = Path(__file__).resolve().parent.parent
REPO_OVERRIDES = PACKAGE.parent / "overrides"
PACKAGED_OVERRIDES = PACKAGE / "defaults"
"""The same files shipped inside the package (``pipeline/defaults`` is a symlink to the
repository's ``overrides/`` in a checkout, real copies in an installed wheel)."""

ALIAS_SHAPE = r"^[a-z0-9][a-z0-9.\-]*$"


class OverrideError(Exception):
    """A bad override file. ``str()`` reads ``FILE: JSON-PATH: problem``."""

    def __init__(self, file: Path | str, path: str, problem: str) -> None:
        super().__init__(f"{file}: {path or '$'}: {problem}")
        self.file = str(file)
        self.path = path or "$"
        self.problem = problem


class OverrideFile(BaseModel):
    """Override files reject unknown keys: a typo must fail loudly, not be ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)

    schema_ref: str | None = Field(default=None, alias="$schema")
    """Optional pointer to this file's JSON Schema, for editors."""
    comment: str | None = None
    """Free text for maintainers."""


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)


class CapabilitySet(Entry):
    """Flags an override sets. Only the flags named here exist; any other key is an error."""

    kind: Kind | None = None
    supportsVision: bool | None = None
    supportsTools: bool | None = None
    reasoning: Reasoning | None = None
    structuredOutput: bool | None = None
    isImageGen: bool | None = None
    isFree: bool | None = None


class CapabilityOverride(Entry):
    """Set flags on one id (`match`) or on every id a regular expression finds (`pattern`)."""

    match: str | None = Field(default=None, min_length=1)
    """Exact model id."""
    pattern: str | None = Field(default=None, min_length=1)
    """Regular expression searched in the id (Python `re` syntax)."""
    set: CapabilitySet
    """The flags to set."""
    note: str = Field(min_length=3)
    """Why, and since when (shown by --explain)."""


class CapabilityOverrides(OverrideFile):
    """`capability-overrides.json`."""

    overrides: list[CapabilityOverride] = Field(default_factory=list)
    """Entries, applied in order; a later entry wins for the flags it sets."""


class AliasOverride(Entry):
    """Reserve a friendly alias for one model id."""

    id: str = Field(min_length=1)
    """Model id."""
    alias: str = Field(pattern=ALIAS_SHAPE)
    """The alias it gets (lower-case letters, digits, `.` and `-`)."""
    note: str = Field(min_length=3)
    """Why."""


class AliasOverrides(OverrideFile):
    """`alias-overrides.json`."""

    aliases: list[AliasOverride] = Field(default_factory=list)
    """Reserved aliases."""


class DeprecationOverride(Entry):
    """Force a model `deprecated`, redirecting its callers."""

    id: str = Field(min_length=1)
    """The model to deprecate."""
    redirect_to: str = Field(alias="redirectTo", min_length=1)
    """Where its callers should go."""
    since: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}")
    """Effective date (ISO-8601); default: as soon as the override is published."""
    note: str = Field(min_length=3)
    """Why (the vendor's announcement, ...)."""


class DeprecationOverrides(OverrideFile):
    """`deprecation-overrides.json`."""

    deprecations: list[DeprecationOverride] = Field(default_factory=list)
    """Forced deprecations."""


class QualityScore(Entry):
    """A quality score for one id (`match`) or every id a regular expression finds (`pattern`),
    with where the figure comes from. It beats the feed's benchmarks in curation."""

    match: str | None = Field(default=None, min_length=1)
    """Exact model id."""
    pattern: str | None = Field(default=None, min_length=1)
    """Regular expression searched in the id (Python `re` syntax)."""
    quality: float = Field(ge=0, le=1)
    """The quality score, 0 to 1."""
    as_of: str = Field(alias="asOf", pattern=r"^\d{4}-\d{2}-\d{2}$")
    """Date the figure was taken (YYYY-MM-DD)."""
    note: str = Field(min_length=10)
    """Where the figure comes from and how it was turned into a 0-1 score."""


class QualityScores(OverrideFile):
    """`quality-scores.json`."""

    scores: list[QualityScore] = Field(default_factory=list)
    """Entries; the first entry that matches an id wins."""


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]

# Safe default → the request parameter a model must list in `supportedParameters` for it to
# apply. Names are the request's own (OpenRouter / OpenAI wire names), like the feed's
# `default_parameters`, so a product sends them as they are.
DEFAULT_NEEDS: dict[str, tuple[str, ...]] = {
    "temperature": ("temperature",),
    "top_p": ("top_p",),
    "top_k": ("top_k",),
    "max_tokens": ("max_tokens", "max_completion_tokens"),
    "frequency_penalty": ("frequency_penalty",),
    "presence_penalty": ("presence_penalty",),
    "repetition_penalty": ("repetition_penalty",),
    "reasoning_effort": ("reasoning", "reasoning_effort"),
}


class CoreDefaults(Entry):
    """Safe request parameters for a core model; each must be one the model supports."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature."""
    top_p: float | None = Field(default=None, gt=0, le=1)
    """Nucleus sampling mass."""
    top_k: int | None = Field(default=None, ge=1)
    """Sample from the k most likely tokens."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Most output tokens to ask for (at most the model's `maxOutput`)."""
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Penalty on tokens by how often they already appeared."""
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Penalty on tokens that already appeared."""
    repetition_penalty: float | None = Field(default=None, gt=0, le=2)
    """Multiplicative repetition penalty (open-weight servers)."""
    reasoning_effort: ReasoningEffort | None = None
    """Reasoning effort (needs the `reasoning` or `reasoning_effort` parameter)."""


class CoreEntry(Entry):
    """One model of the curated core: hand-maintained metadata a product's `/use`, `/help`
    and onboarding read. An entry with `exclude` only needs `note` and `reviewed`."""

    specialty: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9-]{1,23}$")
    """What it is for: a bucket (`coding`, `reasoning`, `chat`, `fastCheap`, `vision`,
    `imageGen`) or a short free word (`writing`, `speech`)."""
    alias: str | None = Field(default=None, pattern=ALIAS_SHAPE, max_length=24)
    """A concise alias (`coder`, `fast`), reserved like an alias-overrides.json entry: sticky,
    never given to another model, every change recorded in alias history."""
    summary: str | None = Field(default=None, min_length=10, max_length=120)
    """One line of UX copy (a picker's subtitle)."""
    help: str | None = Field(default=None, min_length=20, max_length=600)
    """A short paragraph for `/help`: what it is good at and what it costs, from the feed's
    own facts."""
    defaults: CoreDefaults | None = None
    """Safe request parameters; the feed's `default_parameters` fill in the rest."""
    pin: list[BucketName] = Field(default_factory=list)
    """Buckets it stays in whatever its rank (it still has to meet the bucket's rule)."""
    exclude: bool = False
    """Never curated (kept out of every bucket)."""
    note: str | None = Field(default=None, min_length=3)
    """Why it is in the core (or excluded), for maintainers."""
    reviewed: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    """When a person last checked the entry against the catalog (YYYY-MM-DD)."""


CORE_REQUIRED = ("specialty", "alias", "summary", "help")


class CuratedCore(OverrideFile):
    """`curated-core.json`: the hand-maintained core of the curated list (DESIGN.md §2)."""

    models: dict[str, CoreEntry] = Field(default_factory=dict)
    """Model id → its entry, in the order a product lists them."""


# File name → model. Later stages register theirs here (one table, no discovery).
OVERRIDE_FILES: dict[str, type[OverrideFile]] = {
    "capability-overrides.json": CapabilityOverrides,
    "alias-overrides.json": AliasOverrides,
    "deprecation-overrides.json": DeprecationOverrides,
    "quality-scores.json": QualityScores,
    "curated-core.json": CuratedCore,
}
CORE_FILE = "curated-core.json"


def schema_name(file_name: str) -> str:
    """``capability-overrides.json`` → ``capability-overrides``."""
    return file_name.removesuffix(".json")


@dataclass
class Overrides:
    """Everything loaded from one overrides directory."""

    directory: Path | None = None
    capabilities: list[CapabilityOverride] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    """Model id → reserved alias."""
    deprecations: list[DeprecationOverride] = field(default_factory=list)
    files: dict[str, OverrideFile] = field(default_factory=dict)
    """Every loaded file by name, including ones later stages own."""
    core: dict[str, CoreEntry] = field(default_factory=dict)
    """curated-core.json: model id → entry."""

    def concise_aliases(self) -> dict[str, str]:
        """Model id → the curated core's concise alias: an additional name of the model
        (``ModelRecord.aliases``), never its ``alias`` — that stays the natural one."""
        return {i: e.alias for i, e in self.core.items() if e.alias is not None}


def resolve_dir(cli_value: str | None, config_value: str | None = None) -> Path:
    """``--overrides`` beats ``CATALOG_OVERRIDES`` beats the config beats the repo's folder
    (in a checkout) beats the copies shipped in the package (``pip install .`` anywhere)."""
    chosen = cli_value or os.environ.get("CATALOG_OVERRIDES") or config_value
    if chosen:
        return Path(chosen)
    return REPO_OVERRIDES if REPO_OVERRIDES.is_dir() else PACKAGED_OVERRIDES


class _Duplicate(ValueError):
    def __init__(self, key: str, path: str = "$") -> None:
        super().__init__(key)
        self.key = key
        self.path = path


def _loads_strict(text: str) -> Any:
    """``json.loads`` that rejects a key given twice in one object, naming the object's JSON
    path (the standard parser silently keeps the last value)."""
    duplicates: list[tuple[str, dict[str, Any]]] = []

    def collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                duplicates.append((key, obj))
            obj[key] = value
        return obj

    document = json.loads(text, object_pairs_hook=collect)
    if duplicates:
        key, holder = duplicates[0]
        raise _Duplicate(key, _path_of(document, holder) or "$")
    return document


def _path_of(node: Any, target: dict[str, Any], path: str = "$") -> str | None:
    if node is target:
        return path
    children: Any = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        found = _path_of(
            child, target, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"
        )
        if found is not None:
            return found
    return None


def load_file(path: Path) -> OverrideFile:
    """Load and fully validate one override file."""
    model = OVERRIDE_FILES.get(path.name)
    if model is None:
        raise OverrideError(path, "", f"unknown override file (known: {', '.join(OVERRIDE_FILES)})")
    try:
        text = read_text_input(path)
    except OSError as exc:
        raise OverrideError(path, "", f"cannot read it ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise OverrideError(path, "", "not UTF-8 text") from exc
    try:
        document = _loads_strict(text)
    except _Duplicate as exc:
        line = _line_of_key(text, exc.key)
        raise OverrideError(path, exc.path, f"duplicate key {exc.key!r}{line}") from exc
    except json.JSONDecodeError as exc:
        raise OverrideError(
            path, "", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc

    if model is CapabilityOverrides:
        _check_flag_names(path, document)
    if model is CuratedCore:
        _check_core_keys(path, document)

    error = schemas.first_error(schema_name(path.name), document)
    if error is not None:
        where, message = error
        raise OverrideError(path, where, message)
    try:
        loaded = model.model_validate(document)
    except ValidationError as exc:  # the schema should have caught it; keep the path anyway
        first = exc.errors()[0]
        raise OverrideError(path, json_path(first["loc"]), first["msg"]) from exc
    _check_semantics(path, loaded)
    return loaded


def _check_flag_names(path: Path, document: Any) -> None:
    """Name an unknown flag plainly, with the known ones: the schema alone would only report
    an "additional property", and a misspelt flag is the most likely mistake in this file."""
    entries = document.get("overrides") if isinstance(document, dict) else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        flags = entry.get("set") if isinstance(entry, dict) else None
        for key in flags if isinstance(flags, dict) else {}:
            if key not in KNOWN_FLAGS:
                raise OverrideError(
                    path,
                    f"$.overrides[{index}].set.{key}",
                    f"unknown flag {key!r} (known flags: {', '.join(KNOWN_FLAGS)})",
                )


def _check_core_keys(path: Path, document: Any) -> None:
    """Name an unknown key of a core entry (or of its defaults) with the entry and the known
    keys, before the schema reports a bare "additional property"."""
    models = document.get("models") if isinstance(document, dict) else None
    for model_id, entry in models.items() if isinstance(models, dict) else ():
        if not isinstance(entry, dict):
            continue
        for key in entry:
            if key not in CORE_ENTRY_KEYS:
                raise OverrideError(
                    path,
                    json_path(["models", model_id, key]),
                    f"unknown key {key!r} in the entry for {model_id!r} "
                    f"(known: {', '.join(CORE_ENTRY_KEYS)})",
                )
        defaults = entry.get("defaults")
        for key in defaults if isinstance(defaults, dict) else ():
            if key not in DEFAULT_NEEDS:
                raise OverrideError(
                    path,
                    json_path(["models", model_id, "defaults", key]),
                    f"unknown default {key!r} for {model_id!r} (known: {', '.join(DEFAULT_NEEDS)})",
                )
        if isinstance(defaults, dict):
            # Checked here for a message naming the value's own path: the schema reports a
            # nullable number out of range only as "not valid under any of the schemas".
            try:
                CoreDefaults.model_validate(defaults)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise OverrideError(
                    path,
                    json_path(["models", model_id, "defaults", *first["loc"]]),
                    f"{first['input']!r}: {first['msg']}",
                ) from exc


def _line_of_key(text: str, key: str) -> str:
    needle = json.dumps(key)
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return f" (lines {', '.join(map(str, lines[:4]))})" if len(lines) > 1 else ""


def _check_semantics(path: Path, loaded: OverrideFile) -> None:
    """What a JSON Schema cannot say: patterns compile, one selector, no id twice."""
    if isinstance(loaded, CapabilityOverrides):
        for index, entry in enumerate(loaded.overrides):
            where = f"$.overrides[{index}]"
            if (entry.match is None) == (entry.pattern is None):
                raise OverrideError(path, where, "give exactly one of 'match' or 'pattern'")
            if entry.pattern is not None:
                try:
                    compile_pattern(entry.pattern)
                except PatternError as exc:
                    raise OverrideError(
                        path, f"{where}.pattern", f"does not compile: {exc}"
                    ) from exc
            if not entry.set.model_dump(exclude_none=True):
                raise OverrideError(path, f"{where}.set", "sets no flag")
    elif isinstance(loaded, AliasOverrides):
        ids: dict[str, int] = {}
        names: dict[str, int] = {}
        for index, alias_entry in enumerate(loaded.aliases):
            if alias_entry.id in ids:
                raise OverrideError(
                    path,
                    f"$.aliases[{index}].id",
                    f"{alias_entry.id!r} already has an alias at $.aliases[{ids[alias_entry.id]}]",
                )
            if alias_entry.alias in names:
                raise OverrideError(
                    path,
                    f"$.aliases[{index}].alias",
                    f"{alias_entry.alias!r} is already reserved at "
                    f"$.aliases[{names[alias_entry.alias]}]",
                )
            ids[alias_entry.id] = index
            names[alias_entry.alias] = index
    elif isinstance(loaded, DeprecationOverrides):
        seen: dict[str, int] = {}
        for index, dep in enumerate(loaded.deprecations):
            if dep.id in seen:
                raise OverrideError(
                    path,
                    f"$.deprecations[{index}].id",
                    f"{dep.id!r} is already listed at $.deprecations[{seen[dep.id]}]",
                )
            if dep.redirect_to == dep.id:
                raise OverrideError(
                    path, f"$.deprecations[{index}].redirectTo", "redirects to itself"
                )
            seen[dep.id] = index
    elif isinstance(loaded, QualityScores):
        _check_quality_scores(path, loaded)
    elif isinstance(loaded, CuratedCore):
        _check_core(path, loaded)


def _check_core(path: Path, loaded: CuratedCore) -> None:
    """Every kept entry has its metadata, an excluded one nothing it would not use, and no
    concise alias is given twice."""
    aliases: dict[str, str] = {}
    for model_id, entry in loaded.models.items():
        where = ["models", model_id]
        if not model_id.strip() or any(ch.isspace() for ch in model_id):
            raise OverrideError(path, json_path(where), "not a model id")
        if entry.exclude:
            for name in ("alias", "pin", "defaults"):
                if getattr(entry, name):
                    raise OverrideError(
                        path,
                        json_path([*where, name]),
                        f"{model_id!r} is excluded: an excluded model has no {name}",
                    )
            continue
        for name in CORE_REQUIRED:
            if getattr(entry, name) is None:
                raise OverrideError(
                    path,
                    json_path([*where, name]),
                    f"missing: the entry for {model_id!r} needs {name!r}",
                )
        alias = entry.alias or ""
        if alias in aliases:
            raise OverrideError(
                path,
                json_path([*where, "alias"]),
                f"concise alias {alias!r} is already given to {aliases[alias]!r}",
            )
        aliases[alias] = model_id
        if len(set(entry.pin)) != len(entry.pin):
            raise OverrideError(path, json_path([*where, "pin"]), "a bucket is listed twice")


def _check_quality_scores(path: Path, loaded: QualityScores) -> None:
    matched: dict[str, int] = {}
    for index, score in enumerate(loaded.scores):
        where = f"$.scores[{index}]"
        if (score.match is None) == (score.pattern is None):
            raise OverrideError(path, where, "give exactly one of 'match' or 'pattern'")
        if score.pattern is not None:
            try:
                compile_pattern(score.pattern)
            except PatternError as exc:
                raise OverrideError(path, f"{where}.pattern", f"does not compile: {exc}") from exc
        if score.match is not None:
            if score.match in matched:
                raise OverrideError(
                    path,
                    f"{where}.match",
                    f"{score.match!r} is already scored at $.scores[{matched[score.match]}]",
                )
            matched[score.match] = index


def load_overrides(directory: Path) -> Overrides:
    """Load every known file present in ``directory`` (missing files are empty)."""
    if not directory.is_dir():
        raise OverrideError(directory, "", "overrides directory does not exist")
    result = Overrides(directory=directory)
    for name in OVERRIDE_FILES:
        path = directory / name
        if not path.exists():
            continue
        loaded = load_file(path)
        result.files[name] = loaded
        if isinstance(loaded, CapabilityOverrides):
            result.capabilities = loaded.overrides
        elif isinstance(loaded, AliasOverrides):
            result.aliases = {entry.id: entry.alias for entry in loaded.aliases}
        elif isinstance(loaded, DeprecationOverrides):
            result.deprecations = loaded.deprecations
        elif isinstance(loaded, CuratedCore):
            result.core = dict(loaded.models)
    _check_core_aliases(directory, result)
    return result


def _check_core_aliases(directory: Path, result: Overrides) -> None:
    """The core's concise aliases and alias-overrides.json must agree: a concise alias is
    never a name reserved for another model, and a model with a reserved alias gets no other
    concise one."""
    holders = {alias: model_id for model_id, alias in result.aliases.items()}
    for model_id, entry in result.core.items():
        if entry.alias is None:
            continue
        where = json_path(["models", model_id, "alias"])
        reserved = result.aliases.get(model_id)
        if reserved is not None and reserved != entry.alias:
            raise OverrideError(
                directory / CORE_FILE,
                where,
                f"{model_id!r} already has the alias {reserved!r} in alias-overrides.json",
            )
        holder = holders.get(entry.alias)
        if holder is not None and holder != model_id:
            raise OverrideError(
                directory / CORE_FILE,
                where,
                f"concise alias {entry.alias!r} is reserved for {holder!r} in alias-overrides.json",
            )


def validate_directory(directory: Path) -> list[OverrideError]:
    """Every problem in ``directory`` (one per file), for ``catalog validate``."""
    if not directory.is_dir():
        return [OverrideError(directory, "", "overrides directory does not exist")]
    problems: list[OverrideError] = []
    for path in sorted(directory.glob("*.json")):
        try:
            load_file(path)
        except OverrideError as exc:
            problems.append(exc)
    return problems


KNOWN_FLAGS: tuple[str, ...] = tuple(CapabilitySet.model_fields)
CORE_ENTRY_KEYS: tuple[str, ...] = tuple(CoreEntry.model_fields)
