"""The runs: orchestration that wires sources, stages and publishing into jobs.

In: a job name, a store, the configuration, the clock (``--now``) and optional recorded
payloads. Out: a published set (or nothing, with a reason), a run report and a status entry.

    jobs              the job table and ``run_job``, the one entry point every trigger uses
                      (CLI, scheduler, the reader's admin refresh): lease, repair, dispatch
    context           what a job is given and returns (JobContext, JobResult, exit codes),
                      run ids, and how a job records its report and status
    sync              one OpenRouter sync (full refresh), the orchestrator and publish guard:
      sync_state        its request, result and run state (stage timer, deadline)
      sync_payload      fetch the payload, read it into normalized records (quarantine)
      sync_stages       records + previous state → catalog and deprecations
      sync_publish      curated.json and history with the set, the commit, report and status
      sync_unavailable  no usable feed: keep the published catalog or ship the embedded one
    providers         provider-native lists: which sources are due, run side by side, report
      provider_source   one source: fresh cache, else its API, else the fallback tiers
    law_check         the laws (pipeline/laws) over what a sync or providers run publishes,
                      into its report and status
    curated_sync      ranking and curation alone, from the published current.json
    sweep             the deprecation sweep: lifecycle by the clock, tombstones, pruning
    rebuild           ``catalog history rebuild``: replay recorded payloads to backfill history
    schedule          the cron table and ``catalog schedule``, which runs it
    fallback          the embedded offline catalog
"""
