"""Upstream adapters: fetch, parse and translate one source's records; nothing here writes.

    openrouter        the OpenRouter catalog (``/api/v1/models?output_modalities=all``)
    registry          the explicit table of provider source types and their defaults
    config            the ``sources:`` and ``model_cache:`` sections of catalog.yaml, typed
    native, <vendor>  provider-native model lists (OpenAI, Anthropic, Gemini, …)
    pinned            hand-maintained manifests for providers without a usable list API
    http, bounds      the shared fetch (timeouts, retries, size and depth limits)

In: configuration, a transport, the clock. Out: ``pipeline.records.payloads`` values that the
stages normalize and ``pipeline.runs`` publishes.
"""
