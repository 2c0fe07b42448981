"""The stages: transforms over typed records, in the order a sync runs them.

In: upstream payload types (``pipeline.records.payloads``), the previous run's published state, the
override files and the run's clock. Out: ``pipeline.records`` values (model records, lifecycle,
redirects, scores, the changelog). A stage writes nothing; ``pipeline.runs`` calls them and
``pipeline.publishing`` writes what they return. Two stages read the store for their inputs
(``bindings``: consumers' binding files; ``deprecations``: the previous deprecations.json).

normalize → capabilities → tiers → aliases → lifecycle → deprecations → rank → curate, with
changelog (run-to-run diff), enrich (provider lists ↔ OpenRouter), health (the measured
reliability and latency inputs of rank, from a record's offers), cost (estimates from a
record's pricing), bindings and core (the hand-maintained curated core held against a
catalog, used by aliases, curate and ``catalog validate``) beside them.
"""
