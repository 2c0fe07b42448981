"""model-catalog-sync: an always-fresh, trustworthy catalog of LLM models.

The package reads top-down, each layer importing only the ones below it:

    cli/          `catalog` / `syncmodels`: the parser, one module per command family (jobs,
                  views, exports, checks, serve, telemetry), exit codes; imports per command
    web/          the web explorer: pages, rows, routes on `catalog serve`, static export
    registry/     the reader: library (Registry), HTTP service, runtime availability
    telemetry/    runtime truth: call outcomes in, rollups, verification, downgrades, probes
    runs/         orchestration: jobs (run_job), context, sync, providers, curated_sync, sweep,
                  schedule, fallback
    sources/      upstream adapters: OpenRouter, provider-native APIs, pinned manifests
    offers/       per-provider offers and measured health from OpenRouter's endpoints API
    crosscheck/   the published catalog against models.dev / LiteLLM, per field
    history/      what changed per model over time: events, segments, queries, rebuild
    stages/       pure transforms: normalize → capabilities → tiers → aliases → lifecycle →
                  deprecations → rank → curate; changelog, enrich, cost, bindings
    resolve.py    id / alias / redirect / family fallback resolution (CLI and reader)
    overrides/    hand-maintained override files, loaded strictly; RE2 patterns (linear time)
    schemagen.py  which model each committed JSON Schema is generated from
    publishing/   store, schemas (validation), jsonio, keys, publish transaction, lease,
                  YAML registry export
    records/      upstream payload types (what sources hand to stages) and published record
                  types (what stages hand to publishing)
    logs/         log formatters; secrets checked when read, scrubbed from every output channel
    config.py, timeutil.py   settings and small utilities
    data/         the embedded offline catalog
    defaults/     the default override files and pinned manifests (in a checkout, a link to
                  ../overrides; real copies in an installed wheel)
"""

__version__ = "0.1.0"
