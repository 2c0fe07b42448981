"""The jobs of ``pipeline.runs.jobs.JOBS`` by name, with their entry in status.json, and nothing
else: ``catalog status`` matches status entries with the cron table from this, without loading
the job machinery (HTTP client, sync stages, publishing) that the table's functions pull in."""

from __future__ import annotations

# Job name (as the cron table names it) → its entry in status.json.
STATUS_KEYS: dict[str, str] = {
    "full_refresh": "full_refresh",
    "openrouter": "openrouter",
    "curated_refresh": "curated",  # curated_sync's status entry (`catalog sync curated`)
    "provider_refresh": "providers",  # providers.py's status entry (`catalog sync providers`)
    "deprecation_sweep": "deprecation_sweep",
    "history_rebuild": "history",
}
