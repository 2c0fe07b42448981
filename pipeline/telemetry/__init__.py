"""Runtime truth: what calls to the models show, folded into the catalog (issue 17).

In:  call outcomes from downstream services — ``POST /api/telemetry`` (JSON / NDJSON),
     ``POST /v1/traces`` (OpenTelemetry GenAI spans over OTLP/HTTP), the ``Reporter``
     library, ``syncmodels verify`` probes (identity ``probe``) and the runtime API's quota
     marks and suspensions. Each comes from an identity (the token's, issue 27): the consumer
     of its events, the unit of every limit and one vote in the verification.
Out: hourly rollups in the store (``models/telemetry/hourly|daily/…``); once a day (the
     curated refresh) ``models/openrouter/telemetry.json``, ``verification`` on the records of
     current.json, the capability resolver's ``telemetry`` layer (downgrade / recovery) and
     measured reliability / latency scores in curated.json.

    events.py     the event, its validation, model resolution (one validation for every door)
    otel.py       OTLP decoding and the mapping table from GenAI attributes to events
    rollup.py     hourly cells, atomic per-writer flushes (one file per hour × identity)
    compaction.py stored rollups read back per day and identity, daily compaction, retention
    intake.py     validation + per-identity rate limit and series cap + rollups + counters
    incidents.py  the runtime API's availability events as telemetry, one per incident
    api.py        the FastAPI router mounted by ``catalog serve``
    reporter.py   ``Reporter``: the library door
    votes.py      one identity, one vote: the verdict on a capability (Wilson bounds)
    verify.py     aggregation (percentiles), verification, the daily step
    probes.py     active probes through an OpenAI-compatible chat endpoint
"""

from pipeline.telemetry.reporter import Reporter

__all__ = ["Reporter"]
