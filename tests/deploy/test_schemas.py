"""The compose files and the Kubernetes manifests against their published schemas, offline.

Schemas come from PyPI packages: the compose-spec schema vendored by
check-jsonschema, the Kubernetes OpenAPI-derived schemas of kubernetes-validate.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.prometheus_process import REPO

COMPOSE_FILES = [REPO / "docker-compose.yml", REPO / "deploy" / "compose.gpu.yml"]
MANIFESTS = sorted((REPO / "deploy" / "k8s").glob("*.yml"))
KUBERNETES_VERSION = "1.33.0"  # oldest version the manifests promise to work on


def _compose_errors(document: dict[str, Any]) -> list[str]:
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    schema = json.loads(text)
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_file_matches_the_compose_spec(path: Path) -> None:
    assert _compose_errors(yaml.safe_load(path.read_text())) == []


def test_the_compose_schema_rejects_a_broken_file() -> None:
    broken = yaml.safe_load(COMPOSE_FILES[0].read_text())
    broken["services"]["encoder"]["depends_on"]["bootstrap"]["condition"] = "service_finished"
    assert _compose_errors(broken)


def test_compose_mounts_and_builds_exist() -> None:
    compose = yaml.safe_load(COMPOSE_FILES[0].read_text())
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
        if "build" in service:
            assert (REPO / service["build"]["dockerfile"]).is_file(), name


def test_services_wait_for_health_and_bootstrap() -> None:
    services = yaml.safe_load(COMPOSE_FILES[0].read_text())["services"]
    for name in ("encoder", "retrieval", "outfit"):
        assert services[name]["depends_on"]["bootstrap"] == {"condition": "service_completed_successfully"}
        assert "healthcheck" in services[name]
    assert services["bootstrap"]["depends_on"] == {"kafka": {"condition": "service_healthy"},
                                                   "qdrant": {"condition": "service_healthy"}}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{p.name}:{d['kind']}/{d['metadata']['name']}", d)
            for p in MANIFESTS for d in yaml.safe_load_all(p.read_text()) if d]


@pytest.mark.parametrize(("name", "document"), _documents(), ids=[n for n, _ in _documents()])
def test_manifest_matches_the_kubernetes_schema(name: str, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_schema_rejects_an_unknown_field() -> None:
    _, deployment = next((n, d) for n, d in _documents() if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_encoder_replicas_stay_within_the_partition_count() -> None:
    documents = dict(_documents())
    partitions = int(documents["config.yml:ConfigMap/fashionrec"]["data"]["FASHIONREC_CATALOG_PARTITIONS"])
    assert documents["encoder.yml:HorizontalPodAutoscaler/encoder"]["spec"]["maxReplicas"] <= partitions


def test_liveness_and_readiness_are_separate_probes() -> None:
    from fashionrec_grpc.probes import LIVENESS_SERVICE

    deployments = [d for _, d in _documents() if d["kind"] == "Deployment"]
    assert len(deployments) == 3
    for deployment in deployments:
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        readiness, liveness = container["readinessProbe"]["grpc"], container["livenessProbe"]["grpc"]
        assert readiness.get("service", "") == "", "readiness asks the overall status (dependencies)"
        assert liveness["service"] == LIVENESS_SERVICE, deployment["metadata"]["name"]


def test_the_configmap_names_only_real_settings() -> None:
    from fashionrec import config

    known = {name for cls in (config.EncoderSettings, config.RetrievalSettings, config.OutfitSettings)
             for name in config.env_vars(cls)}
    data = dict(_documents())["config.yml:ConfigMap/fashionrec"]["data"]
    unknown = {k for k in data if k.startswith("FASHIONREC_") and k not in known} - {"FASHIONREC_CATALOG_PARTITIONS"}
    assert unknown == set()
