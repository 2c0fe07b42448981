"""The `sources:` / `model_cache:` sections and `catalog sync providers --list`."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import CatalogConfig, ConfigError
from pipeline.sources.config import load_providers_config


def config(sources=None, cache=None) -> CatalogConfig:
    return CatalogConfig(extra={"sources": sources or {}, "model_cache": cache or {}})


def test_issue_example_parses():
    loaded = load_providers_config(
        config(
            {
                "openai": {
                    "enabled": True,
                    "base_url": "https://api.openai.com/v1",
                    "api_key_env": "OPENAI_API_KEY",
                },
                "ollama": {"enabled": True, "base_url": "http://localhost:11434"},
                "my-vllm": {"type": "openai-compatible", "base_url": "http://10.0.0.5:8000/v1"},
            },
            {
                "default_ttl_seconds": 3600,
                "provider_ttl_overrides": {"ollama": 300, "lmstudio": 300, "perplexity": 86400},
                "use_catalog_fallback": True,
            },
        )
    )
    vllm = loaded.sources["my-vllm"]
    assert vllm.enabled and vllm.type_name == "openai-compatible"
    assert vllm.skip_reason({}) is None  # no key needed
    assert loaded.sources["openai"].skip_reason({}) == "OPENAI_API_KEY is not set"
    assert loaded.sources["openai"].skip_reason({"OPENAI_API_KEY": "x"}) is None
    assert loaded.sources["ollama"].ttl_seconds == 300
    assert loaded.sources["ollama"].enabled
    assert loaded.sources["lmstudio"].skip_reason({}).startswith("disabled")
    assert loaded.sources["gemini"].ttl_seconds == 3600
    assert loaded.sources["xai"].ttl_seconds == 86400


@pytest.mark.parametrize(
    ("sources", "cache", "message"),
    [
        ({"openai": {"base_urll": "x"}}, None, "sources.openai.base_urll: Extra inputs"),
        ({"box": {"type": "nope"}}, None, "sources.box: unknown source type 'nope'"),
        ({"all": {"type": "openai"}}, None, "sources.all: invalid source name"),
        (None, {"default_ttl_seconds": -1}, "model_cache.default_ttl_seconds"),
    ],
)
def test_config_errors_name_the_key(sources, cache, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_providers_config(config(sources, cache))


def test_list_shows_enabled_ttl_and_skip_reason(tmp_path: Path, capsys, monkeypatch):
    secret = "sk-very-secret-value"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    cfg = tmp_path / "catalog.yaml"
    cfg.write_text("sources:\n  my-vllm: {type: openai-compatible, base_url: http://10.0.0.5/v1}\n")
    code = main(
        ["sync", "providers", "--list", "--store", str(tmp_path / "s"), "--config", str(cfg)]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert lines["openai"].endswith("due")
    assert "ANTHROPIC_API_KEY is not set" in lines["anthropic"]
    assert "disabled" in lines["ollama"] and " 300s" in lines["ollama"]
    assert "openai-compatible" in lines["my-vllm"]
    assert secret not in out


def test_unknown_sync_target_lists_sources(tmp_path: Path, capsys):
    code = main(["sync", "nope", "--store", str(tmp_path / "s")])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown sync target 'nope'" in err and "anthropic" in err


def test_sync_all_runs_openrouter_then_due_providers(tmp_path: Path, capsys, monkeypatch):
    from conftest import REPO, fixture_path, read_json

    from pipeline.publishing import keys
    from pipeline.publishing.store import LocalStore

    monkeypatch.setenv("CATALOG_OVERRIDES", str(REPO / "overrides"))
    store_dir = tmp_path / "s"
    payload = fixture_path("openrouter-models-2026-08-19.json")
    now = "2026-08-19T06:00:00Z"
    args = ["--store", str(store_dir), "--now", now, "-q"]
    assert main(["sync", "all", "--from-file", str(payload), *args]) == 0
    out = capsys.readouterr().out.splitlines()
    # One summary line for the whole run: OpenRouter's, then the providers'.
    assert len(out) == 1
    assert out[0].startswith("openrouter: 414 models")
    assert "; providers: 19 sources (3 pinned, 16 skipped)" in out[0]  # as `status` says
    store = LocalStore(store_dir)
    assert read_json(store, keys.provider_current("xai"))["servedBy"] == "api"

    # `sync <source>` runs just that one; a fresh cache means no work.
    assert main(["sync", "xai", *args]) == 0
    assert "(1 pinned)" in capsys.readouterr().out  # its stored copy: still a pinned list

    assert main(["status", "--store", str(store_dir), "--now", "2026-08-19T07:00:00Z"]) == 0
    status = capsys.readouterr().out
    xai_line = next(line for line in status.splitlines() if line.strip().startswith("xai"))
    # A pinned list is shown with its review date and that data's age (issue 13), not as an
    # `api` list an hour old; the last column says when its manifest is read again, never
    # that data of 67 days is "fresh" (issue 28).
    assert "pinned (reviewed 2026-06-13)" in xai_line and "67d old" in xai_line
    assert "read from its manifest 2026-08-19T06:00:00Z; read again after" in xai_line
    assert "fresh" not in xai_line
    openai_line = next(line for line in status.splitlines() if line.strip().startswith("openai"))
    assert "skipped" in openai_line and "OPENAI_API_KEY is not set" in openai_line
