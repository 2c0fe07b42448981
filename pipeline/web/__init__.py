"""The catalog explorer: web pages over the published set, served by ``catalog serve`` at ``/``
or written as static files by ``catalog export-site DIR``.

In: a loaded ``pipeline.registry.Registry`` (the set being served and its history). Out: HTML
pages (``pages``), the compact table rows they filter and sort (``rows``), an Atom feed of
changes, and the FastAPI routes that serve them (``routes``); ``site`` writes the same pages
as files a bucket or CDN can host. Every page is server-rendered (usable without JavaScript);
``static/explorer.js`` adds live filtering, sorting, paging and the compare view. No request
leaves the page's origin: no CDN, no fonts, no analytics.
"""
