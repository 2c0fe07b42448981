"""The strict base of every record, the schema versions and the small value types that several
artifacts share (kinds, flag layers, lifecycle states, USD amounts).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, WithJsonSchema
from pydantic.alias_generators import to_camel

SCHEMA_VERSION = 1
PROVIDER_SCHEMA_VERSION = 3
"""Provider lists (`models/providers/<provider>/current.json`). Version 3 (issue 30): one list
per provider any source names, merged from the provider's own list, its OpenRouter offer and
the independent catalogs, every value with its source (`provenance`), with agreement and
disagreements per field. Version 2: a capability flag no source states for the provider is
absent (`ProviderModelRecord`); version 1 published it at its default. Versions 1 and 2 still
read (as a provider's own list, `native.json`, which keeps version 2's shape)."""
NATIVE_SCHEMA_VERSION = 2
"""A provider source's own list as it served it (`models/providers/<source>/native.json`):
version 2's shape, the input of the merge."""

# Prices are Decimal end to end and written as exact JSON numbers (see jsonio.py).
Usd = Annotated[Decimal, WithJsonSchema({"type": "number"})]

Kind = Literal["chat", "image", "embedding", "video", "speech", "transcription", "rerank", "router"]
Reasoning = Literal["none", "fixed", "configurable"]
DetectionLayer = Literal["api", "heuristic", "override", "telemetry"]
LifecycleState = Literal["active", "stale", "deprecated", "removed"]
Outcome = Literal["ok", "degraded", "guarded", "failed", "locked"]
ServedBy = Literal["api", "catalog", "stale"]
Weights = Literal["open", "closed"]
PriceTier = Literal["free", "budget", "standard", "pro", "premium", "variable", "unknown"]


class Record(BaseModel):
    """Strict base of every stage-boundary type: camelCase on the wire, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_attribute_docstrings=True,
        frozen=False,
    )


ParameterValue = bool | int | float | str
"""A request parameter's value as the feed gives it (temperature 1, top_p 0.95, ...)."""


M = TypeVar("M", bound=BaseModel)

# Defaults shared as they are (pydantic copies only mutable ones).
_IMMUTABLE = (type(None), bool, int, float, str, Decimal)
_REQUIRED = object()
"""Placeholder of a required field in a plan's template; removed unless given."""


@dataclass(frozen=True)
class _Plan:
    """How ``trusted`` fills one model class."""

    template: dict[str, Any]
    """Every field in declaration order, at its default (``_REQUIRED`` for required ones)."""
    made: tuple[tuple[str, Callable[[], Any]], ...]
    """Fields whose default is made per instance (a factory, or a copy of a mutable one)."""
    required: tuple[str, ...]
    made_names: frozenset[str]
    required_names: frozenset[str]
    """The names of ``made`` and ``required``: when ``values`` gives them all (a record built
    by the sync does), neither is looped over."""
    sets: dict[frozenset[str], set[str]] = field(default_factory=dict)
    """One fields-set per combination of given names, shared by the instances given them."""


_PLANS: dict[type[BaseModel], _Plan] = {}
MAX_SHARED_SETS = 1024
"""Per class; a feed that names prices in more combinations gets a set per instance."""


def trusted(cls: type[M], values: dict[str, Any], fields_set: set[str] | None = None) -> M:
    """``cls.model_construct(fields_set, **values)`` for ``values`` keyed by field name.

    The same instance (fields in declaration order, defaults filled, no validation), made
    without model_construct's per-field alias lookups, which cost a sync ~50 µs per record
    (issue 29). Only for values a stage already validated, and only field names.

    ``fields_set`` defaults to the names given, like model_construct's, in a set shared by
    every instance given the same names (a set each is ~1 KB a record at 100k models, and
    only ``exclude_unset`` reads it, which no artifact is dumped with).
    """
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _plan(cls)
    fields = plan.template.copy()
    fields.update(values)  # every key is already there: the declaration order stays
    if len(fields) != len(plan.template):
        unknown = sorted(set(values) - set(plan.template))
        raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}")
    given = values.keys()
    if not given >= plan.made_names:
        for name, make in plan.made:
            if name not in values:
                fields[name] = make()
    if not given >= plan.required_names:
        for name in plan.required:
            if name not in values:
                del fields[name]  # model_construct leaves a missing required field unset
    if fields_set is None:
        names = frozenset(values)
        fields_set = plan.sets.get(names)
        if fields_set is None:
            fields_set = set(names)
            if len(plan.sets) < MAX_SHARED_SETS:
                plan.sets[names] = fields_set
    instance = cls.__new__(cls)
    _SET_DICT(instance, fields)
    _SET_FIELDS_SET(instance, fields_set)
    _SET_EXTRA(instance, None)
    _SET_PRIVATE(instance, None)
    return instance


# BaseModel's own slots, set through their descriptors: what ``object.__setattr__`` finds by
# name on every call (four a record, ~1 µs of ``trusted``'s ~4).
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__


def _plan(cls: type[BaseModel]) -> _Plan:
    if cls.__pydantic_post_init__ or cls.model_config.get("extra") == "allow":
        raise TypeError(f"{cls.__name__}: trusted() does not run post-init hooks or extras")
    template: dict[str, Any] = {}
    made: list[tuple[str, Callable[[], Any]]] = []
    required: list[str] = []
    for name, info in cls.__pydantic_fields__.items():
        if info.default_factory_takes_validated_data:
            raise TypeError(f"{cls.__name__}.{name}: trusted() cannot call this default factory")
        template[name] = None if not info.is_required() else _REQUIRED
        if info.is_required():
            required.append(name)
        elif info.default_factory is not None:
            made.append((name, cast("Callable[[], Any]", info.default_factory)))
        elif isinstance(info.default, _IMMUTABLE):
            template[name] = info.default
        else:
            made.append((name, functools.partial(copy.deepcopy, info.default)))
    return _Plan(
        template,
        tuple(made),
        tuple(required),
        frozenset(name for name, _ in made),
        frozenset(required),
    )


"""A request parameter's value as the feed gives it (temperature 1, top_p 0.95, ...)."""
