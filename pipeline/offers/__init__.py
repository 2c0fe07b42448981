"""Offers: who serves each model on OpenRouter, at what price and limits, and how well.

In: the catalog's active chat records, the previously published records (the memory and the
per-model TTL cache), the ``offers:`` configuration, a transport and a clock. Out: each record
with ``offers`` (one per provider endpoint), ``offerPriceRange`` and ``offersAsOf``; one raw
snapshot object per run holding every response fetched; same-provider enrichment of
provider-native lists. The measured inputs of the ``reliability`` and ``latency`` scores are
computed from the offers by ``pipeline.stages.health``.

    parse     one endpoints response → offers (tolerant of nulls, unknown keys, percent or
              fraction uptime, seconds or milliseconds latency)
    fetch     bounded-concurrency GETs under a wall-time budget and a circuit breaker
    stage     which models are due (TTL), attach fresh or previous offers, price ranges
    enrich    a provider-native record's price and limits from that provider's own offer

Upstream: ``GET /api/v1/models/{author}/{slug}/endpoints`` → ``data.endpoints[]``; see
docs/offers.md for the fields and units.
"""
