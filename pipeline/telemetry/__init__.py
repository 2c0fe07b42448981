"""Runtime truth: what calls to the models show, folded into the catalog (issue 17).

In:  call outcomes from downstream services — ``POST /api/telemetry`` (JSON / NDJSON),
     ``POST /v1/traces`` (OpenTelemetry GenAI spans over OTLP/HTTP), the ``Reporter``
     library, and ``syncmodels verify`` probes (consumer ``probe``).
Out: hourly rollups in the store (``models/telemetry/hourly|daily/…``); once a day (the
     curated refresh) ``models/openrouter/telemetry.json``, ``verification`` on the records of
     current.json, the capability resolver's ``telemetry`` layer (downgrade / recovery) and
     measured reliability / latency scores in curated.json.

    events.py   the event, its validation, model resolution (one validation for every door)
    otel.py     OTLP decoding and the mapping table from GenAI attributes to events
    rollup.py   hourly cells, atomic per-writer flushes, daily compaction, retention
    intake.py   validation + rate limit + rollups + counters (shared by API and Reporter)
    api.py      the FastAPI router mounted by ``catalog serve``
    reporter.py ``Reporter``: the library door
    verify.py   aggregation (Wilson bounds, percentiles), verification, the daily step
    probes.py   active probes through an OpenAI-compatible chat endpoint
"""

from pipeline.telemetry.reporter import Reporter

__all__ = ["Reporter"]
