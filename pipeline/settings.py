"""What a command needs of the configuration before building it: which file names it and which
store to open.

Kept apart from pipeline.config, which builds and checks every section with pydantic: with no
config file every setting is its default, so ``catalog status`` and ``catalog list`` open the
store without reading YAML or building a model (issue 29). pipeline.config builds on these.
"""

from __future__ import annotations

import os

CONFIG_ENV = "CATALOG_CONFIG"
"""Environment variable naming the config file (``--config`` takes precedence)."""
STORE_ENV = "CATALOG_STORE"
"""Environment variable naming the store (``--store`` takes precedence over it, it over the
config file's ``store:``)."""


def config_path(path: str | None) -> str | None:
    """The config file ``path`` (``--config``) or ``CATALOG_CONFIG`` names; None: no file, every
    setting at its default."""
    return path or os.environ.get(CONFIG_ENV) or None


def store_uri(cli_value: str | None, configured: str | None) -> str | None:
    """``--store`` beats ``CATALOG_STORE`` beats the config file beats the default (None)."""
    return cli_value or os.environ.get(STORE_ENV) or configured
