"""The reader over HTTP: ``catalog serve`` (FastAPI, uvicorn), on top of the ``Registry`` library.

In: a store (through ``pipeline.registry``), the reader's configuration, requests. Out: the
published catalog in this project's shape and in the vendors' native SDK shapes, the runtime
availability overlay, telemetry intake and the web explorer, all mounted on one app.

    app             the app: middleware, error envelopes, probes, ``/metrics``, ``serve``
    bodies          answers encoded once per catalog version (ETag, gzip variant, 304), shared
                    by every route module; the current-snapshot dependency
    spec            the shared pieces of the OpenAPI document
    native_routes   ``/v1/models`` and ``/v1beta/models`` in the OpenAI, Anthropic, Gemini shapes
    catalog_routes  search, curated, deprecations, records (``/api/...``)
    core_routes     the curated core
    offers_routes   who serves a model (``/api/models/{ref}/offers``)
    runtime_routes  the availability overlay (``/api/runtime``)
    admin_routes    refresh jobs and their outcomes, over ``admin`` (token, lease, run_job)
    http            HEAD, trailing slashes, CORS, the gzip middleware
    metrics         Prometheus text format
    hardening       error bodies scrubbed of secrets

The explorer's routes come from ``pipeline.web``, the telemetry intake's from
``pipeline.telemetry.api``; this package is the only one that imports FastAPI.
"""
