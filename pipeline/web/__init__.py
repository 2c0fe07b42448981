"""The catalog explorer: web pages over the published set, served by ``catalog serve`` at ``/``
or written as static files by ``catalog export-site DIR``.

In: a loaded ``pipeline.registry.Registry`` (the set being served and its history). Out: HTML
pages and an Atom feed of changes, the compact table rows the pages filter and sort
(``rows``), the FastAPI routes that serve them (``routes``); ``site`` writes the same pages as
files a bucket or CDN can host.

The markup lives in ``templates/`` (Jinja2, autoescaping on): ``base.html`` holds the head,
header and script, each page extends it (``table.html``, ``model.html``, ``removed.html``,
``compare.html``, ``curated.html``, ``changes.html``, ``error.html``), partials start with
``_`` and the feed is ``changes.atom``. ``pages`` gathers what each page shows and renders its
template, ``shown`` says how a value reads (the templates' filters: ``{{ price | usd }}``),
``chart`` places the price history's points, ``templating`` builds the engine once per process.

Every page is server-rendered (usable without JavaScript); ``static/explorer.js`` adds live
filtering, sorting, paging and the compare view. No request leaves the page's origin: no CDN,
no fonts, no analytics.
"""
