"""`curated.json`: scores, buckets, the curated core beside the computed ranking."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.records.base import SCHEMA_VERSION, LifecycleState, ParameterValue, Record

BucketName = Literal["coding", "reasoning", "chat", "fastCheap", "vision", "imageGen"]
ScoreSource = Literal[
    "override",
    "benchmarks",
    "heuristic",
    "lifecycle",
    "telemetry",
    "price",
    "variable",
    "default",
    "endpoints",
]


class Score(Record):
    """One score in [0, 1] and where it came from."""

    value: float
    """The score, 0 (worst) to 1 (best), rounded to 4 decimals."""
    source: ScoreSource
    """`override` (quality-scores.json), `benchmarks` (the feed's), `heuristic`, `lifecycle`,
    `telemetry`, `price`, `variable` (dynamic price, neutral value), `default`, or
    `endpoints` (uptime, latency and throughput measured by OpenRouter per provider)."""
    detail: str | None = None
    """What the value was computed from, for an operator reading the file."""


class Scores(Record):
    """The four scores a rank is the weighted sum of."""

    quality: Score
    """How good the model's answers are."""
    reliability: Score
    """How dependably it is served."""
    latency: Score
    """How fast it answers."""
    cost: Score
    """How cheap it is (1 = free)."""


class CuratedRef(Record):
    """A curated model as listed in a bucket."""

    id: str
    """Model id."""
    alias: str
    """Its alias in current.json."""


class CuratedModel(Record):
    """One curated model with its rank and scores."""

    id: str
    """Model id."""
    alias: str
    """Its alias in current.json."""
    rank: float
    """quality·w + reliability·w + latency·w + cost·w with the published `weights`."""
    scores: Scores
    """The scores the rank is computed from."""
    buckets: list[BucketName]
    """Buckets the model was selected for."""


class Weights(Record):
    """Rank weights (they sum to 1)."""

    quality: float
    """Weight of the quality score."""
    reliability: float
    """Weight of the reliability score."""
    latency: float
    """Weight of the latency score."""
    cost: float
    """Weight of the cost score."""


class Constraints(Record):
    """Selection constraints in force for this document."""

    minimums: dict[str, int]
    """Bucket → fewest models it should hold (a shortfall is reported, never padded)."""
    sizes: dict[str, int]
    """Bucket → how many models are selected when enough are eligible."""
    max_per_family: int
    """Most models of one provider family in one bucket."""
    max_buckets_per_model: int
    """Most buckets one model is selected for."""


class Shortfall(Record):
    """A bucket published with fewer models than its minimum."""

    bucket: BucketName
    """The bucket."""
    minimum: int
    """Its minimum."""
    selected: int
    """How many it holds."""
    eligible: int
    """Active models that meet its membership rule."""
    reason: str
    """Why it is short."""


CoreSource = Literal["curated-core", "feed", "computed"]
CoreProblem = Literal[
    "renamed",
    "redirected",
    "stale",
    "deprecated",
    "removed",
    "unknown",
    "unsupported-default",
    "pin-refused",
    "alias-taken",
]


class CoreModel(Record):
    """One model of the curated core: the hand-maintained metadata of
    `overrides/curated-core.json` merged with the feed's facts and the computed rank."""

    id: str
    """The model the entry applies to (after following a rename)."""
    entry: str | None = None
    """The entry's key in curated-core.json, when it differs from `id` (a followed rename)."""
    name: str
    """Display name (feed)."""
    alias: str
    """The entry's concise alias once it is published (one of the model's `aliases` in
    current.json, or its `alias`), else the model's alias."""
    specialty: str
    """What it is for: a bucket name or a short free word."""
    summary: str
    """One line of UX copy."""
    help: str
    """A short paragraph for `/help`."""
    description: str | None = None
    """The feed's own description (feed)."""
    defaults: dict[str, ParameterValue] = Field(default_factory=dict)
    """Safe request parameters to send: the entry's, then the feed's `default_parameters` for
    the ones the entry leaves out."""
    state: LifecycleState
    """Lifecycle state of the model."""
    rank: float | None = None
    """Its computed rank (absent when it is not scored, e.g. not active)."""
    scores: Scores | None = None
    """The scores the rank is computed from."""
    buckets: list[BucketName] = Field(default_factory=list)
    """Buckets it is curated in."""
    pinned: list[BucketName] = Field(default_factory=list)
    """Buckets the entry pins it to."""
    sources: dict[str, CoreSource]
    """Where each value came from: field (`defaults.temperature` for one default) →
    `curated-core` (the hand-maintained file), `feed` or `computed`."""
    reviewed: str
    """When the entry was last reviewed (YYYY-MM-DD)."""
    note: str | None = None
    """The maintainer's note."""


class CoreIssue(Record):
    """Something in curated-core.json a maintainer should fix (also a run-report warning)."""

    entry: str
    """The entry's key in curated-core.json."""
    problem: CoreProblem
    """What is wrong: the model was `renamed` or `redirected` (the entry follows it),
    is `stale`, `deprecated`, `removed` or `unknown`; a default it does not support; a pin the
    bucket's rule or constraints refused; the concise alias could not be given."""
    field: str | None = None
    """The entry's field concerned (`defaults.top_k`, `pin.vision`), if one."""
    detail: str
    """The problem in words, with what to do."""
    replacement: str | None = None
    """The model to use instead (the rename's target or the resolution's replacement)."""


class CuratedCatalog(Record):
    """`models/openrouter/curated.json`: the curated shortlist per bucket, with scores."""

    schema_version: int = SCHEMA_VERSION
    """Version of this document's schema."""
    generated_at: str
    """The run's clock, ISO-8601 UTC."""
    run_id: str
    """The run that produced this document."""
    catalog_run_id: str
    """Run id of the current.json it was computed from."""
    buckets: dict[BucketName, list[CuratedRef]]
    """Bucket → its models, best ranked first."""
    models: list[CuratedModel]
    """Every curated model once, best ranked first."""
    ranks: dict[str, float]
    """Rank of every scored active model (curated or not), for same-family fallback."""
    weights: Weights
    """Rank weights used."""
    constraints: Constraints
    """Selection constraints used."""
    shortfalls: list[Shortfall] = Field(default_factory=list)
    """Buckets below their minimum, with the reason."""
    core: list[CoreModel] = Field(default_factory=list)
    """The curated core (overrides/curated-core.json), in the file's order; excluded entries
    and entries whose model is unknown are left out (see `coreIssues`)."""
    excluded: list[str] = Field(default_factory=list)
    """Models the core excludes from every bucket."""
    core_issues: list[CoreIssue] = Field(default_factory=list)
    """Entries a maintainer should look at."""

    data_as_of: str | None = None
    """`dataAsOf` of the current.json it was computed from: how old its data is."""


# -- history (issue 19) ------------------------------------------------------------------------
