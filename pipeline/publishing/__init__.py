"""Publishing: how bytes reach the store and come back, safely.

In: records and documents from the runs. Out: objects in a ``Store`` (local directory or
S3/R2/MinIO), each validated against its committed JSON Schema (``schemas``), serialized with
exact decimals (``jsonio``), under the keys of the published contract (``keys``), committed as
one transaction behind ``manifest.json`` (``publish``), one run at a time (``lease``). The YAML
registry export (``registry_export``) is another rendering of the published catalog.
Nothing here knows about upstream sources or how a record was decided.
"""
