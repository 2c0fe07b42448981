"""model-catalog-sync: an always-fresh, trustworthy catalog of LLM models.

The package reads top-down, each layer importing only the ones below it (no import circle,
between modules or between packages):

    cli/          `catalog` / `syncmodels`: the parser, one module per command family (jobs,
                  views, exports, checks, serve, telemetry), exit codes; imports per command
    service/      the reader over HTTP (`catalog serve`): app, routes, middleware, metrics
    runs/         orchestration: jobs (run_job), context, sync, providers (provider_source,
                  catalog_source, provider_merge), law_check, curated_sync, sweep, rebuild
                  (history backfill), schedule, fallback
    telemetry/    runtime truth: call outcomes in, rollups, identities' votes, downgrades, probes
    web/          the web explorer: pages (Jinja2 templates), rows, routes, static export
    merge/        one list per provider from every source: precedence, agreement, lifecycle
    registry/     the reader as a library (Registry), cost, native shapes, provider lists,
                  runtime availability
    laws/         the catalog's invariants, held over any published store (`catalog check`)
    offers/       per-provider offers from OpenRouter's endpoints API, same-provider enrichment
    sources/      upstream adapters: OpenRouter, provider-native APIs, pinned manifests, the
                  independent catalogs (models.dev, LiteLLM, genai-prices)
    crosscheck/   the published catalog against models.dev / LiteLLM / genai-prices, per field
    history/      what changed per model over time: events, segments, queries
    stages/       pure transforms: normalize → signals → capabilities → tiers → aliases →
                  lifecycle → deprecations → rank → curate; changelog, enrich, health, cost,
                  bindings
    schemagen.py  which model each committed JSON Schema is generated from
    overrides/    hand-maintained override files, loaded strictly; RE2 patterns (linear time)
    publishing/   store, schemas (validation), jsonio, keys, publish transaction, lease,
                  YAML registry export
    records/      upstream payload types (what sources hand to stages) and published record
                  types (what stages hand to publishing)
    resolve.py    id / alias / redirect / family fallback resolution (CLI and reader)
    logs/         log formatters; secrets checked when read, scrubbed from every output channel
    identities.py bearer tokens that name who writes runtime truth (telemetry, runtime API)
    printable.py  what an id or name may hold; text escaped for a terminal or an XML feed
    inputs.py     files an operator names, read bounded (regular files only)
    config.py, timeutil.py   settings and small utilities
    data/         the embedded offline catalog
    defaults/     the default override files and pinned manifests (in a checkout, a link to
                  ../overrides; real copies in an installed wheel)
"""

__version__ = "0.1.0"
