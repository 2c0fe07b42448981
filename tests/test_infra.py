"""infra/: the image, the Kubernetes manifests and the local stack, checked by static tools.

Docker and a cluster are not available where the suite runs, so every check here is offline:
kubernetes-validate's bundled schemas (strict), checkov with its platform calls disabled,
hadolint, and structural checks of what the tools cannot know (the cron table, the wiring).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate
import pytest
import yaml
from conftest import REPO

from pipeline.config import load_config
from pipeline.publishing import keys

INFRA = REPO / "infra"
K8S = INFRA / "k8s"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
COMPOSE = INFRA / "compose.yaml"
ENV_EXAMPLE = INFRA / ".env.example"
README = INFRA / "README.md"
SCHEDULE = REPO / "jobs" / "schedule.yaml"
LIFECYCLE = INFRA / "s3-lifecycle.json"

# The Kubernetes version the manifests target: CronJob timeZone is GA since 1.27, and 1.33 is
# one that kubernetes-validate ships schemas for (offline).
K8S_VERSION = "1.33.0"
READER_ARGV = ["serve", "--host", "0.0.0.0", "--port", "8080"]
# Every variable the image, the stack and the manifests use; infra/README.md documents each.
ENVIRONMENT = (
    "CATALOG_STORE",
    "CATALOG_CONFIG",
    "CATALOG_OVERRIDES",
    "CATALOG_ADMIN_TOKEN",
    "CATALOG_S3_ADDRESSING",
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
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_ENDPOINT_URL_S3",
)
SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD)")
# Provider sources that fetch over the network and so write raw-*.json (issue 6).
PROVIDER_SOURCES = (
    "openai",
    "anthropic",
    "gemini",
    "mistral",
    "groq",
    "cohere",
    "together",
    "cerebras",
    "deepseek",
    "dashscope",
    "moonshot",
    "ollama",
    "lmstudio",
)


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_cronjobs", K8S / "render_cronjobs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifests() -> list[tuple[str, int, dict[str, Any]]]:
    """(file name, document index, document) for every Kubernetes document under infra/k8s."""
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if doc:
                found.append((path.name, index, doc))
    return found


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, _, doc in manifests() if doc["kind"] == kind]


def schedule() -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = yaml.safe_load(SCHEDULE.read_text(encoding="utf-8"))["jobs"]
    return jobs


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    """(workload name, pod spec) of every CronJob and Deployment."""
    pods = [
        (c["metadata"]["name"], c["spec"]["jobTemplate"]["spec"]["template"]["spec"])
        for c in by_kind("CronJob")
    ]
    pods += [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in by_kind("Deployment")]
    return pods


# --- the cron table is the one source of truth ------------------------------------------------


def test_committed_cronjobs_equal_the_rendered_cron_table():
    script = _load_script()
    committed = (K8S / "cronjobs.yaml").read_text(encoding="utf-8")
    assert committed == script.render(), (
        "infra/k8s/cronjobs.yaml is stale: run python infra/k8s/render_cronjobs.py"
    )
    assert script.main(["--check"]) == 0


def test_one_cronjob_per_job_with_the_same_cron_expression_and_command():
    jobs = schedule()
    assert set(jobs) == {"full_refresh", "curated_refresh", "deprecation_sweep", "provider_refresh"}
    cronjobs = {c["metadata"]["labels"]["model-catalog/job"]: c for c in by_kind("CronJob")}
    assert set(cronjobs) == {name.replace("_", "-") for name in jobs}
    for name, job in jobs.items():
        spec = cronjobs[name.replace("_", "-")]["spec"]
        assert spec["schedule"] == job["cron"], name
        (container,) = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["catalog", *job["command"]], name
        assert "args" not in container
        # The cron table is UTC; the controller's own zone must not apply.
        assert spec["timeZone"] == "Etc/UTC"


def test_render_follows_an_edited_cron_table(tmp_path):
    script = _load_script()
    table = yaml.safe_load(SCHEDULE.read_text(encoding="utf-8"))
    table["jobs"]["provider_refresh"]["cron"] = "5 */2 * * *"
    table["jobs"]["nightly_report"] = {"cron": "0 3 * * *", "command": ["status", "--json"]}
    edited = tmp_path / "schedule.yaml"
    edited.write_text(yaml.safe_dump(table), encoding="utf-8")
    docs = [d for d in yaml.safe_load_all(script.render(edited)) if d]
    schedules = {d["metadata"]["name"]: d["spec"]["schedule"] for d in docs}
    assert schedules["catalog-provider-refresh"] == "5 */2 * * *"
    assert schedules["catalog-nightly-report"] == "0 3 * * *"
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_render_rejects_a_cron_table_without_cron(tmp_path):
    script = _load_script()
    bad = tmp_path / "schedule.yaml"
    bad.write_text("jobs:\n  full_refresh: {command: [sync, all]}\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="full_refresh"):
        script.render(bad)


def _period_seconds(cron: str) -> int:
    """Seconds between runs for the cron shapes of the table (hourly, every N hours, daily)."""
    minute, hour = cron.split()[:2]
    assert minute.isdigit(), cron
    if hour == "*":
        return 3600
    if hour.startswith("*/"):
        return int(hour[2:]) * 3600
    assert hour.isdigit(), cron
    return 86400


def test_cronjob_policies():
    jobs = schedule()
    for cronjob in by_kind("CronJob"):
        name = cronjob["metadata"]["labels"]["model-catalog/job"].replace("-", "_")
        spec = cronjob["spec"]
        period = _period_seconds(jobs[name]["cron"])
        assert spec["concurrencyPolicy"] == "Forbid"
        # A late start or a long run must end before the next scheduled run.
        assert 0 < spec["startingDeadlineSeconds"] < period
        job = spec["jobTemplate"]["spec"]
        assert 0 < job["activeDeadlineSeconds"] < period
        assert 0 <= job["backoffLimit"] <= 3
        assert job["template"]["spec"]["restartPolicy"] == "Never"


def test_only_fetching_jobs_get_upstream_api_keys():
    for cronjob in by_kind("CronJob"):
        (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        names = {e["name"] for e in container["env"]}
        fetches = container["command"][2] not in ("curated", "sweep")
        assert ("OPENAI_API_KEY" in names) is fetches, cronjob["metadata"]["name"]
        assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "CATALOG_STORE"} <= names


# --- Kubernetes schemas and hardening ---------------------------------------------------------


@pytest.mark.parametrize(("name", "index", "doc"), manifests(), ids=lambda v: str(v)[:40])
def test_manifest_validates_strictly_against_the_kubernetes_schema(name, index, doc):
    # validate() raises SchemaNotFoundError for an unknown kind/apiVersion: that fails too.
    assert kubernetes_validate.validate(doc, K8S_VERSION, strict=True) == "1.33"


def test_strict_validation_catches_a_misspelt_field():
    (deployment,) = by_kind("Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_expected_resources_exist():
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, _, doc in manifests()}
    for wanted in [
        ("Namespace", "model-catalog"),
        ("ServiceAccount", "model-catalog-sync"),
        ("ConfigMap", "catalog-config"),
        ("Deployment", "catalog-reader"),
        ("Service", "catalog-reader"),
        ("HorizontalPodAutoscaler", "catalog-reader"),
        ("PodDisruptionBudget", "catalog-reader"),
    ]:
        assert wanted in kinds
    namespaced = [d for _, _, d in manifests() if d["kind"] != "Namespace"]
    assert {d["metadata"].get("namespace") for d in namespaced} == {"model-catalog"}


@pytest.mark.parametrize(("workload", "pod"), pod_specs(), ids=lambda v: str(v)[:30])
def test_pods_are_hardened(workload, pod):
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
    assert pod["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    for container in pod["containers"]:
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"]["drop"] == ["ALL"]
        assert "add" not in ctx["capabilities"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts["/tmp"] == "tmp"
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, workload


@pytest.mark.parametrize(("workload", "pod"), pod_specs(), ids=lambda v: str(v)[:30])
def test_secrets_come_from_secret_refs_and_config_from_the_configmap(workload, pod):
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    for name, entry in env.items():
        if SECRET_NAME.search(name):
            assert "value" not in entry, f"{workload}: {name} is a literal"
            assert entry["valueFrom"]["secretKeyRef"]["name"] == "catalog-secrets"
            assert entry["valueFrom"]["secretKeyRef"]["key"] == name
    # Storage credentials are required; upstream keys and the admin token are optional.
    assert "optional" not in env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
    if "OPENAI_API_KEY" in env:
        assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["optional"] is True
    # CATALOG_CONFIG points at catalog.yaml from the mounted ConfigMap.
    config_path = Path(env["CATALOG_CONFIG"]["value"])
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(config_path.parent))
    assert mount["readOnly"] is True
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == "catalog-config"
    assert [i["path"] for i in volume["configMap"]["items"]] == [config_path.name]
    assert env["CATALOG_STORE"]["valueFrom"]["configMapKeyRef"]["name"] == "catalog-config"


def test_configmap_holds_a_valid_catalog_yaml_and_an_s3_store(tmp_path):
    (configmap,) = by_kind("ConfigMap")
    data = configmap["data"]
    path = tmp_path / "catalog.yaml"
    path.write_text(data["catalog.yaml"], encoding="utf-8")
    load_config(str(path))  # raises ConfigError on an unknown key or a bad value
    assert data["CATALOG_STORE"].startswith("s3://")
    assert data["AWS_ENDPOINT_URL_S3"].endswith(".r2.cloudflarestorage.com")
    assert data["AWS_REGION"] == "auto"
    assert data["CATALOG_S3_ADDRESSING"] in ("auto", "path", "virtual")
    for key in data:
        assert not SECRET_NAME.search(key), f"{key} belongs in the Secret"


def test_reader_deployment_service_autoscaler_and_disruption_budget():
    (deployment,) = by_kind("Deployment")
    template = deployment["spec"]["template"]
    pod_labels = template["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    (container,) = template["spec"]["containers"]
    assert container["command"] == ["catalog", *READER_ARGV]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert "CATALOG_ADMIN_TOKEN" in {e["name"] for e in container["env"]}

    (service,) = by_kind("Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"

    (hpa,) = by_kind("HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]

    (pdb,) = by_kind("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    # One replica may go during a drain while at least one keeps serving.
    assert 1 <= pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]


def test_every_workload_runs_the_same_image_with_a_version_tag():
    images = {c["image"] for _, pod in pod_specs() for c in pod["containers"]}
    assert len(images) == 1
    (image,) = images
    assert re.search(r":\d+\.\d+\.\d+$", image), image


def test_network_policies_select_the_catalog_pods():
    policies = {p["metadata"]["name"]: p for p in by_kind("NetworkPolicy")}
    assert policies["default-deny"]["spec"]["podSelector"] == {}
    egress_ports = {
        (port["protocol"], port["port"])
        for rule in policies["catalog-egress"]["spec"]["egress"]
        for port in rule["ports"]
    }
    assert {("UDP", 53), ("TCP", 443)} <= egress_ports
    ingress = policies["catalog-reader-ingress"]["spec"]["ingress"]
    assert [p["port"] for rule in ingress for p in rule["ports"]] == [8080]


# --- the image ----------------------------------------------------------------------------------


def _stages(text: str) -> list[list[str]]:
    """Dockerfile instructions (continuations joined), split into stages."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.startswith("#")]
    stages: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_shape():
    stages = _stages(DOCKERFILE.read_text(encoding="utf-8"))
    assert len(stages) >= 2, "multi-stage build"
    bases = {stage[0].split()[1] for stage in stages}
    assert bases == {"python:3.11-slim-bookworm"}
    final = stages[-1]
    instructions = {line.split()[0].upper(): line for line in final}
    assert instructions["USER"].split()[1] in ("10001:10001", "catalog")
    assert json.loads(instructions["ENTRYPOINT"].split(None, 1)[1]) == ["catalog"]
    assert json.loads(instructions["CMD"].split(None, 1)[1]) == READER_ARGV
    assert "/healthz" in instructions["HEALTHCHECK"]
    final_text = " ".join(final)
    for tool in ("gcc", "build-essential", "apt-get", "pip install"):
        assert tool not in final_text, f"{tool} in the runtime stage"
    assert "COPY --from=build /opt/venv /opt/venv" in final


def test_dockerignore_sends_exactly_what_the_dockerfile_copies():
    patterns = [
        ln.strip()
        for ln in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert patterns[0] == "*", "deny by default"
    allowed = {p.removeprefix("!").rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for stage in _stages(DOCKERFILE.read_text(encoding="utf-8")):
        for line in stage:
            words = line.split()
            if words[0].upper() == "COPY" and not words[1].startswith("--from"):
                copied.update(w.rstrip("/") for w in words[1:-1])
    assert copied == allowed
    for path in copied:
        assert (REPO / path).exists(), path


def _tool(name: str) -> Path:
    path = Path(sys.prefix) / "bin" / name
    found = path if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not installed: run `make test` (it installs the dev extra)")
    return Path(found)


def test_hadolint_passes():
    result = subprocess.run(
        [_tool("hadolint"), "--no-color", "--failure-threshold", "info", DOCKERFILE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_not_vacuous(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y curl\n", encoding="utf-8")
    result = subprocess.run(
        [_tool("hadolint"), "--no-color", bad], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag


# --- checkov ------------------------------------------------------------------------------------


def _checkov() -> Path:
    path = Path(os.environ.get("CHECKOV", Path(sys.prefix) / "checkov" / "bin" / "checkov"))
    if not path.exists():
        message = f"checkov not found at {path}: `make test` installs it in .venv/checkov"
        if os.environ.get("CATALOG_REQUIRE_INFRA_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_checkov_reports_no_failed_checks_and_every_skip_is_justified(tmp_path):
    env = {
        **os.environ,
        # Offline: no Prisma Cloud mapping download (BC_SKIP_MAPPING), no guideline download
        # (--skip-download), no "newer version on PyPI" check (the one call left otherwise).
        "BC_SKIP_MAPPING": "TRUE",
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [
            _checkov(),
            "--directory",
            INFRA,
            # The frameworks that apply to infra/ (kustomize and helm would shell out to
            # kubectl/helm); "secrets" catches credentials committed by mistake.
            "--framework",
            "kubernetes",
            "dockerfile",
            "secrets",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    by_type = {r["check_type"]: r for r in reports}
    assert {"kubernetes", "dockerfile"} <= set(by_type), result.stdout[:2000]
    failed = [
        f"{r['check_type']}: {c['check_id']} {c['file_path']} {c['resource']}"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    assert result.returncode == 0, result.stderr[-2000:]
    assert by_type["kubernetes"]["summary"]["passed"] > 100
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    assert {c["check_id"] for c in skipped} == {"CKV_K8S_35", "CKV_K8S_43"}
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment") or "") > 40, check["check_id"]


# --- the local stack ----------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return compose


def test_compose_services_and_wiring():
    services = _compose()["services"]
    assert set(services) == {"minio", "bucket", "scheduler", "reader"}
    assert services["minio"]["image"].startswith("minio/minio:RELEASE.")
    assert services["bucket"]["image"].startswith("minio/mc:RELEASE.")
    assert services["bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["bucket"]["restart"] == "no"
    assert services["scheduler"]["command"] == ["schedule"]
    assert services["reader"]["command"] == READER_ARGV
    assert services["reader"]["ports"] == ["127.0.0.1:8080:8080"]
    for name in ("scheduler", "reader"):
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "infra/docker/Dockerfile"}
        assert (INFRA / service["build"]["context"] / service["build"]["dockerfile"]).exists()
        env = service["environment"]
        assert env["AWS_ENDPOINT_URL_S3"] == "http://minio:9000"
        assert env["CATALOG_STORE"].startswith("s3://")
        assert env["CATALOG_S3_ADDRESSING"] == "path"
        assert service["env_file"] == [".env"]
        assert service["depends_on"]["bucket"]["condition"] == "service_completed_successfully"
        assert service["read_only"] is True
        assert not any(SECRET_NAME.search(k) for k in env), "secrets come from .env"
    assert services["scheduler"]["healthcheck"] == {"disable": True}


def test_bucket_setup_creates_bucket_user_and_lifecycle():
    bucket = _compose()["services"]["bucket"]
    script = bucket["command"][0]
    for step in ("mc mb --ignore-existing", "mc ilm import", "mc admin user add", "policy attach"):
        assert step in script
    mounts = [v.split(":") for v in bucket["volumes"]]
    assert any((INFRA / src).resolve() == LIFECYCLE for src, *_ in mounts)


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            pairs[match.group(1)] = match.group(2)
    return pairs


def test_env_example_names_every_variable_and_holds_no_real_secret():
    pairs = _env_example()
    compose_text = COMPOSE.read_text(encoding="utf-8")
    for name in re.findall(r"\$\{([A-Z_]+)", compose_text):
        assert name in pairs, f"{name} used by compose.yaml, missing from .env.example"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "CATALOG_ADMIN_TOKEN"):
        assert name in pairs
    for name in ENVIRONMENT:
        if name.endswith("_API_KEY"):
            assert name in pairs
    for name, value in pairs.items():
        # Key ids and user names are identifiers; secrets must be visibly placeholders.
        if re.search(r"SECRET|TOKEN|PASSWORD|API_KEY", name) and value:
            assert value.startswith("change-me"), f"{name} looks like a real secret"
    assert (REPO / ".gitignore").read_text(encoding="utf-8").count("infra/.env\n") == 1


# --- storage setup and documentation ------------------------------------------------------------


def test_lifecycle_rules_expire_exactly_the_raw_snapshots():
    rules = json.loads(LIFECYCLE.read_text(encoding="utf-8"))["Rules"]
    prefixes = [r["Filter"]["Prefix"] for r in rules]
    assert all(r["Status"] == "Enabled" and r["Expiration"]["Days"] == 90 for r in rules)
    assert len({r["ID"] for r in rules}) == len(rules)
    now = datetime(2026, 8, 19, 6, tzinfo=UTC)
    raw = [keys.openrouter_raw(now)] + [keys.provider_raw(s, now) for s in PROVIDER_SOURCES]
    kept = [keys.CURRENT, keys.CURATED, keys.DEPRECATIONS, keys.MANIFEST, keys.STATUS, keys.LOCK]
    kept += [keys.provider_current(s) for s in PROVIDER_SOURCES]
    kept += [keys.run_report("r1"), keys.openrouter_run_copy("r1", "current"), keys.schema("x")]
    for key in raw:
        assert any(key.startswith(p) for p in prefixes), f"{key} never expires"
    for key in kept:
        assert not any(key.startswith(p) for p in prefixes), f"{key} would expire"


def test_readme_documents_every_variable_and_the_storage_setups():
    text = README.read_text(encoding="utf-8")
    for name in ENVIRONMENT:
        assert f"`{name}`" in text, f"{name} undocumented in infra/README.md"
    used = set(re.findall(r"name: ([A-Z][A-Z0-9_]+)", (K8S / "cronjobs.yaml").read_text()))
    used |= set(re.findall(r"name: ([A-Z][A-Z0-9_]+)", (K8S / "reader.yaml").read_text()))
    used |= set(_env_example())
    for name in used:
        assert f"`{name}`" in text, f"{name} undocumented in infra/README.md"
    for phrase in (
        "r2.cloudflarestorage.com",
        "auto",
        "Object Read & Write",
        "put-bucket-lifecycle-configuration",
        "mc ilm",
        "Prefix",
        "render_cronjobs.py",
        "docker build -f infra/docker/Dockerfile",
    ):
        assert phrase in text, phrase
