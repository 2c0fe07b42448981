"""Render infra/k8s/cronjobs.yaml from the cron table in jobs/schedule.yaml.

jobs/schedule.yaml is the single source of truth for what runs when: `catalog schedule` reads
it, and this script turns each of its jobs into a Kubernetes CronJob running the same
`catalog <command…>` on the same cron expression. Run it after editing the cron table:

    python infra/k8s/render_cronjobs.py           # rewrite cronjobs.yaml
    python infra/k8s/render_cronjobs.py --check   # exit 1 if cronjobs.yaml is out of date

tests/test_infra.py runs the --check comparison, so a cron table change without a re-render
fails the test suite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEDULE = REPO / "jobs" / "schedule.yaml"
OUTPUT = REPO / "infra" / "k8s" / "cronjobs.yaml"

NAMESPACE = "model-catalog"
# Replace with your registry's image (see infra/README.md, "Kubernetes").
IMAGE = "registry.example.com/model-catalog-sync:0.1.0"
APP = "model-catalog-sync"
SECRET = "catalog-secrets"
CONFIG_MAP = "catalog-config"
UID = 10001  # the image's `catalog` user (infra/docker/Dockerfile)

# Sync targets that only read and rewrite the store: their pods get no upstream API keys.
OFFLINE_TARGETS = frozenset({"curated", "sweep"})

# Per-job timing and size. startingDeadlineSeconds: how late a missed start may still run (a
# fraction of the period, so a late run never collides with the next one); activeDeadline:
# the longest a run may take before Kubernetes kills it (the run lease then expires and the
# next run takes it over); memory: the full refresh holds the whole catalog several times over.
# Jobs added to the cron table without an entry here get DEFAULT_LIMITS.
DEFAULT_LIMITS: dict[str, Any] = {
    "starting_deadline": 600,
    "active_deadline": 900,
    "backoff_limit": 1,
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}
LIMITS: dict[str, dict[str, Any]] = {
    "full_refresh": {
        "starting_deadline": 1800,
        "active_deadline": 1800,
        "backoff_limit": 2,
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    },
    "curated_refresh": {"starting_deadline": 3600},
    "deprecation_sweep": {"starting_deadline": 3600},
    "provider_refresh": {"starting_deadline": 600, "backoff_limit": 1},
}

# Upstream API keys, all optional: a source whose key variable is unset is skipped.
PROVIDER_KEYS = (
    "OPENROUTER_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "COHERE_API_KEY",
    "TOGETHER_API_KEY",
    "CEREBRAS_API_KEY",
    "DEEPSEEK_API_KEY",
    "DASHSCOPE_API_KEY",
    "MOONSHOT_API_KEY",
)

# checkov skips, as annotations checkov reads on the resource itself (value: ID=reason).
CHECKOV_SKIPS = {
    "checkov.io/skip1": (
        "CKV_K8S_43=The image digest is only known after the operator builds and pushes the "
        "image; infra/README.md says to pin it (image@sha256:...) when deploying."
    ),
    "checkov.io/skip2": (
        "CKV_K8S_35=boto3 and the catalog read credentials and API keys from environment "
        "variables only (DESIGN.md section 6); they come from a Secret via secretKeyRef."
    ),
}


def load_schedule(path: Path = SCHEDULE) -> dict[str, dict[str, Any]]:
    """The `jobs` mapping of the cron table, checked for the fields this script needs."""
    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    jobs = table.get("jobs") if isinstance(table, dict) else None
    if not isinstance(jobs, dict) or not jobs:
        raise SystemExit(f"{path}: expected a non-empty `jobs:` mapping")
    for name, job in jobs.items():
        if not isinstance(job, dict) or not isinstance(job.get("cron"), str):
            raise SystemExit(f"{path}: job {name!r} has no `cron` string")
        command = job.get("command")
        if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
            raise SystemExit(f"{path}: job {name!r}: `command` must be a list of strings")
    return jobs


def _labels(job: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": APP,
        "app.kubernetes.io/component": "job",
        "model-catalog/job": job.replace("_", "-"),
    }


def _secret_env(name: str, *, optional: bool) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": SECRET, "key": name}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def _config_env(name: str, *, optional: bool = True) -> dict[str, Any]:
    # Optional keys let one ConfigMap serve AWS S3 (no endpoint, no addressing) and R2/MinIO.
    ref: dict[str, Any] = {"name": CONFIG_MAP, "key": name}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"configMapKeyRef": ref}}


def environment(command: list[str]) -> list[dict[str, Any]]:
    """Environment of a job's container: config, storage credentials, and upstream keys."""
    env: list[dict[str, Any]] = [
        {"name": "CATALOG_CONFIG", "value": "/etc/catalog/catalog.yaml"},
        _config_env("CATALOG_STORE", optional=False),
        _config_env("AWS_REGION"),
        _config_env("AWS_ENDPOINT_URL_S3"),
        _config_env("CATALOG_S3_ADDRESSING"),
        _secret_env("AWS_ACCESS_KEY_ID", optional=False),
        _secret_env("AWS_SECRET_ACCESS_KEY", optional=False),
    ]
    target = command[1] if len(command) > 1 and command[0] == "sync" else None
    if target not in OFFLINE_TARGETS:
        env += [_secret_env(key, optional=True) for key in PROVIDER_KEYS]
    return env


def cronjob(name: str, job: dict[str, Any]) -> dict[str, Any]:
    """One CronJob running `catalog <command…>` on the job's cron expression (UTC)."""
    limits = {**DEFAULT_LIMITS, **LIMITS.get(name, {})}
    command = list(job["command"])
    container = {
        "name": "catalog",
        "image": IMAGE,
        "imagePullPolicy": "Always",
        "command": ["catalog", *command],
        "env": environment(command),
        "resources": {"requests": limits["requests"], "limits": limits["limits"]},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "config", "mountPath": "/etc/catalog", "readOnly": True},
        ],
    }
    pod = {
        "metadata": {"labels": _labels(name)},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": APP,
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": UID,
                "fsGroup": UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": [
                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                {
                    "name": "config",
                    "configMap": {
                        "name": CONFIG_MAP,
                        "items": [{"key": "catalog.yaml", "path": "catalog.yaml"}],
                    },
                },
            ],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": f"catalog-{name.replace('_', '-')}",
            "namespace": NAMESPACE,
            "labels": _labels(name),
            "annotations": {
                "model-catalog/description": job.get("description", ""),
                **CHECKOV_SKIPS,
            },
        },
        "spec": {
            "schedule": job["cron"],
            # The cron table is UTC; without this the controller manager's zone applies.
            "timeZone": "Etc/UTC",
            # The run lease already serialises syncs; Forbid also avoids piling up pods.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": limits["starting_deadline"],
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": _labels(name)},
                "spec": {
                    "backoffLimit": limits["backoff_limit"],
                    "activeDeadlineSeconds": limits["active_deadline"],
                    "ttlSecondsAfterFinished": 86400,
                    "template": pod,
                },
            },
        },
    }


def render(schedule: Path = SCHEDULE) -> str:
    """The text of cronjobs.yaml: a header, then one document per job, in cron-table order."""
    header = (
        "# Generated by infra/k8s/render_cronjobs.py from jobs/schedule.yaml. Do not edit:\n"
        "# change the cron table (or the script) and run `python infra/k8s/render_cronjobs.py`.\n"
    )
    documents = [cronjob(name, job) for name, job in load_schedule(schedule).items()]
    body = yaml.safe_dump_all(
        documents, sort_keys=False, explicit_start=True, width=100, allow_unicode=True
    )
    return header + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    fresh = render()
    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
    if args.check:
        if current != fresh:
            print(
                f"{OUTPUT} is out of date: run python infra/k8s/render_cronjobs.py", file=sys.stderr
            )
            return 1
        print(f"{OUTPUT.relative_to(REPO)} is up to date")
        return 0
    OUTPUT.write_text(fresh, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(REPO)}: {fresh.count('kind: CronJob')} CronJobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
