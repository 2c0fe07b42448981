"""The runs: orchestration that wires sources, stages and publishing into jobs.

In: a job name, a store, the configuration, the clock (``--now``) and optional recorded
payloads. Out: a published set (or nothing, with a reason), a run report and a status entry.
``jobs.run_job`` is the one entry point every trigger uses (CLI, scheduler, the reader's admin
refresh); it takes the run lease and dispatches to ``sync`` (OpenRouter, full refresh),
``providers`` (provider-native lists), ``curated_sync`` (ranking alone) or the sweep.
``schedule`` runs the cron table; ``fallback`` is the embedded offline catalog.
"""
