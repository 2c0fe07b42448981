"""History: what changed, per model, over the catalog's life.

In: the previous and the new published records of a run (and their redirects), the run's clock
and id. Out: ``HistoryEvent`` values (``track``), appended to bounded, immutable segments in the
store and committed with the published set as the ``history`` artifact (``log``). The reader,
the CLI and the web explorer ask questions of it (``query``: a model's timeline, its price at a
date, what changed since a date or a run). ``pipeline.runs.rebuild`` backfills it by replaying
recorded payloads in time order.
"""
