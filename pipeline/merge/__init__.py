"""The provider lists merged from every source (issue 30): one record per provider–model.

In: per provider, its own source's list (the provider's API or pinned manifest, enriched from
its OpenRouter offer), the independent catalogs' entries for it (models.dev, LiteLLM,
genai-prices, joined by id or by genai-prices' ``match`` rules), the list published before, and
the run's clock. Out: the provider's records, each value with its source (``provenance``), how
the sources that state a field agree (``agreement``, ``disagreements``, ``unconfirmed``), and
the lifecycle moved as for any feed; plus the run's crosscheck tally.

    precedence   which source's value is published, per field (``merge:`` in catalog.yaml)
    observe      what each source states about one provider–model
    decide       one field: the published value, agreement and dissent
    build        joining a provider's sources and building its records

Provider names are mapped between catalogs in ``pipeline.sources.provider_names``; reading and
writing the store is ``pipeline.runs.provider_merge``.
"""
