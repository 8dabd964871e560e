"""The Grafana dashboard's structure: what provisioning and the issue need of it."""

from __future__ import annotations

import yaml

from tests.deploy.deploy_files import dashboard, panels, rules
from tests.deploy.prometheus_process import REPO

# The panels the dashboard must show (issue: deployment and monitoring).
REQUIRED_PANELS = {
    "Query latency p50 / p95 / p99", "Request rate", "Error ratio by status code", "In-flight requests",
    "Ingest throughput", "Consumer lag", "Dead-letter rate", "Freshness p50 / p95 / p99",
    "Encoder batch size", "Time per batch by stage", "Qdrant call latency p50 / p95 / p99",
}


def test_fixed_uid_and_datasource_variable() -> None:
    board = dashboard()
    assert board["uid"] == "fashionrec-overview"
    [datasource] = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert datasource["query"] == "prometheus"


def test_every_panel_queries_through_the_datasource_variable() -> None:
    wrong = [(p["title"], t["refId"]) for p in panels(dashboard()) for t in p["targets"]
             if p["datasource"]["uid"] != "${datasource}" or t["datasource"]["uid"] != "${datasource}"]
    assert wrong == []


def test_required_panels_are_present_with_unique_ids() -> None:
    board = dashboard()
    assert REQUIRED_PANELS <= {p["title"] for p in panels(board)}
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def test_provisioning_points_at_the_dashboard_and_prometheus() -> None:
    provisioning = REPO / "deploy" / "grafana" / "provisioning"
    [provider] = yaml.safe_load((provisioning / "dashboards" / "fashionrec.yml").read_text())["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    [source] = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert (source["type"], source["url"]) == ("prometheus", "http://prometheus:9090")


def test_operations_doc_covers_every_panel_and_alert() -> None:
    doc = (REPO / "docs" / "operations.md").read_text()
    titles = [p["title"] for p in panels(dashboard())]
    alerts = [r["alert"] for r in rules() if "alert" in r]
    assert [t for t in titles if f"| {t} |" not in doc] == []
    assert [a for a in alerts if f"### {a}" not in doc] == []
