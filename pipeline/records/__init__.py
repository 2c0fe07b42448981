"""The types that cross stage boundaries and make up the published artifacts.

Every published JSON Schema is generated from these models (``catalog schemas --write``), so the
field docstrings are the documentation downstream readers see. Upstream payloads come in as
``payloads`` types; what the stages hand to publishing is one of:

    base       the strict ``Record`` base, schema versions, shared value types
    model      one model: pricing, modalities, lifecycle, offers, verification, the record
    catalog    current.json (OpenRouter and provider lists) and deprecations.json
    runs       run reports, status.json, the manifest
    curated    curated.json: scores, buckets, the curated core
    history    history events, segments, index
    telemetry  telemetry.json
"""
