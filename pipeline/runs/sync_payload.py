"""The OpenRouter payload of a sync: fetched, then read into normalized records.

``fetch_payload`` gets the model list from OpenRouter, with the retry policy of
``openrouter:`` and the API key read from the environment (never logged). ``parse_records``
validates and normalizes the items one at a time, as the streaming parser yields them. An
item that fails is quarantined (the first ``openrouter.max_quarantined`` are kept for the run
report, the rest counted); only a list longer than ``openrouter.max_items`` is refused whole.
It also keeps every item (``PackedRecords``: as parsed for a payload of today's size, pickled
for a large or streamed one) for the laws: the payload is parsed once per run.
"""

from __future__ import annotations

import logging
import operator
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import httpx
from pydantic import ValidationError

from pipeline.config import CatalogConfig
from pipeline.logs import redact
from pipeline.printable import escaped
from pipeline.records import payloads
from pipeline.records.runs import QuarantinedRecord
from pipeline.runs.sync_state import SyncRun
from pipeline.sources import openrouter
from pipeline.sources.http import FetchError, RetryPolicy
from pipeline.stages.normalize import Normalized, NormalizeError, normalize_openrouter

# Every module of the OpenRouter sync logs as the sync.
log = logging.getLogger("pipeline.runs.sync")


def fetch_payload(
    config: CatalogConfig,
    transport: httpx.BaseTransport | None,
    sleep: Callable[[float], None] | None,
) -> bytes:
    """The model list from OpenRouter's API; FetchError when it cannot be had."""

    def on_retry(attempt: int, problem: str, wait: float) -> None:
        log.warning(
            "openrouter fetch retry",
            extra={"attempt": attempt, "problem": problem, "wait_s": round(wait, 2)},
        )

    policy = RetryPolicy(
        max_attempts=config.openrouter.max_attempts,
        backoff_seconds=config.openrouter.backoff_seconds,
        max_backoff_seconds=config.openrouter.max_backoff_seconds,
    )
    if sleep is not None:
        policy.sleep = sleep
    try:
        api_key = redact.read_secret(config.openrouter.api_key_env)
    except redact.SecretError as exc:
        raise FetchError(f"openrouter: {exc}") from None
    return openrouter.fetch_catalog(
        config.openrouter, api_key=api_key, transport=transport, policy=policy, on_retry=on_retry
    )


class PackedRecords(Mapping[str, Any]):
    """The payload's raw records by id, as the laws look them up (``RawRecords``): kept as
    parsed (``keep_parsed``), or each pickled and unpacked when asked for.

    The laws check every published model's evidence against its raw record. Parsed again as
    dicts, a 100k-model payload's records take about 900 MB, held at the run's peak next to
    the records being published; pickled they take about as much as the payload's text
    (~1.5 kB a record), and unpacking one costs less than parsing it from the payload again.
    A catalog of today's size (~550 models, ~5 kB each parsed) is kept as parsed: pickling
    and unpickling every record cost a 549-model sync ~25 ms (issue 30). Keys are as
    ``laws.published`` reads a snapshot: ``str(item["id"])`` of every object in the list, the
    last of duplicates winning.
    """

    KEEP_PARSED = 4096
    """The most records a payload may have to be kept as parsed (~20 MB): ``parse_records``
    keeps a list of known length up to this as parsed, and packs any other (a streamed one:
    kept parsed, a large catalog's first records would also stay, fragmented among its
    records, in the run's peak memory)."""

    def __init__(self, *, keep_parsed: bool = False) -> None:
        self.keep_parsed = keep_parsed
        # A dict is a record as parsed; bytes are one pickled (a record is always a dict).
        self._records: dict[str, dict[str, Any] | bytes] = {}
        # The laws ask for one model's record once per flag, one model after another.
        self._last: tuple[str, Any] | None = None

    def add(self, item: dict[str, Any]) -> None:
        if self.keep_parsed:
            self._records[str(item.get("id"))] = item
        else:
            self._records[str(item.get("id"))] = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)

    def __getitem__(self, model_id: str) -> Any:
        kept = self._records[model_id]
        if type(kept) is not bytes:
            return kept
        if self._last is not None and self._last[0] == model_id:
            return self._last[1]
        # Our own bytes, made in this process above: never anything read from outside.
        record = pickle.loads(kept)
        self._last = (model_id, record)
        return record

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


def parse_records(
    items: Iterable[Any],
    run: SyncRun,
    *,
    max_items: int | None = None,
    max_quarantined: int | None = None,
) -> tuple[list[Normalized], int, PackedRecords]:
    """Validate and normalize each upstream item; quarantine the ones that fail.

    Returns the normalized records, how many upstream items there were and every item packed
    for the laws (quarantined ones too: the laws read the snapshot as it is). More than
    ``max_items`` items is a PayloadError (the list is refused as a whole); quarantined records
    beyond ``max_quarantined`` are counted in ``run.quarantine_overflow``, not stored.
    """
    out: list[Normalized] = []
    seen: set[str] = set()
    count = 0
    # A payload parsed in one piece comes as a list's iterator, of known length (a stream
    # reports none): a small one is kept as parsed.
    length = operator.length_hint(items)
    packed = PackedRecords(keep_parsed=0 < length <= PackedRecords.KEEP_PARSED)
    quarantine = _Quarantine(run, max_quarantined)
    for index, item in enumerate(items):
        count += 1
        if max_items is not None and count > max_items:
            raise payloads.PayloadError(
                f"the model list has more than {max_items} entries (openrouter.max_items)"
            )
        if isinstance(item, dict):
            packed.add(item)
        model_id = item.get("id") if isinstance(item, dict) else None
        model_id = model_id if isinstance(model_id, str) else None
        try:
            if not isinstance(item, dict):
                raise NormalizeError(f"entry is {type(item).__name__}, not an object")
            parsed = payloads.OpenRouterModel.model_validate(item)
            normalized = normalize_openrouter(parsed)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            reason = f"{where}: {first['msg']}"
            quarantine.add(index, model_id, reason)
            continue
        except NormalizeError as exc:
            quarantine.add(index, model_id, str(exc))
            continue
        if normalized.id in seen:
            quarantine.add(index, normalized.id, "duplicate id")
            continue
        seen.add(normalized.id)
        out.append(normalized)
    return out, count, packed


class _Quarantine:
    """Stores the first ``limit`` quarantined records of a run and counts the rest: a payload
    of a million bad entries must not become a million stored records (issue 12)."""

    def __init__(self, run: SyncRun, limit: int | None) -> None:
        self.run = run
        self.limit = limit

    def add(self, index: int, model_id: str | None, reason: str) -> None:
        if self.limit is not None and len(self.run.quarantined) >= self.limit:
            self.run.quarantine_overflow += 1
            return
        # Ids and reasons come from upstream: kept short, and an id quarantined for what it
        # holds is named with its unprintable characters escaped, never carried as they are.
        model_id = escaped(model_id) if model_id is not None else None
        self.run.quarantined.append(
            QuarantinedRecord(index=index, id=model_id, reason=reason[:500])
        )
