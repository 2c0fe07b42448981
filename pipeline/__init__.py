"""model-catalog-sync: an always-fresh, trustworthy catalog of LLM models.

The package reads as the data flow; each stage is one module:

    sources/      fetch upstream lists (openrouter, providers)
    normalize     upstream record → ModelRecord
    capabilities  flags with per-flag provenance (api → heuristic → override)
    tiers         price tiers
    aliases       stable short names
    lifecycle     active → stale → deprecated → removed
    rank          scores (quality, reliability, latency, cost) with sources, and the rank
    curate        buckets and selection → curated.json (curated_sync: `catalog sync curated`)
    registry_export  per-family YAML registry
    cost          USD cost of a request, tier rules included
    publish       validate and write artifacts to a store; the atomic publish transaction
    sync          the orchestrator that wires the stages
    lease         the run lease (models/lock.json)
    jobs          the jobs table and run_job, the entry point of every trigger
    schedule      the cron table (jobs/schedule.yaml) and `catalog schedule`
"""

__version__ = "0.1.0"
