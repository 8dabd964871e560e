"""Every PromQL expression of the dashboard and the rules, against a real Prometheus
that scraped a running stack (see conftest.py and stack_standin.py).

The stack's traffic is built so that every alert's condition holds (slow
calls, server errors, a target down, dead letters, growing lag), so an alert
expression "returns data" exactly when the alert would fire after its `for`.
"""

from __future__ import annotations

import math
import re

import pytest

from tests.deploy.deploy_files import Expression, dashboard, dashboard_expressions, rule_expressions
from tests.deploy.prometheus_process import PrometheusServer


def _has_a_number(result: list[dict]) -> bool:
    return any(not math.isnan(float(sample["value"][1])) for sample in result)


@pytest.mark.parametrize("expression", dashboard_expressions() + rule_expressions(), ids=lambda e: e.name)
def test_expression_returns_data(prometheus: PrometheusServer, expression: Expression) -> None:
    result = prometheus.query(expression.promql)
    assert result, f"no data for {expression.promql}"
    assert _has_a_number(result), f"only NaN for {expression.promql}: {result}"


def test_every_rule_evaluates_cleanly(prometheus: PrometheusServer) -> None:
    rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
    assert len(rules) == len(rule_expressions())
    assert [(r["name"], r["lastError"]) for r in rules if r["health"] != "ok"] == []


def test_alerts_become_pending_or_firing(prometheus: PrometheusServer) -> None:
    active = {a["labels"]["alertname"] for a in prometheus.api("alerts")["alerts"]}
    expected = {e.name for e in rule_expressions() if not e.name.startswith("fashionrec:")}
    assert active == expected


def test_dashboard_variables_find_values(prometheus: PrometheusServer) -> None:
    for variable in (v for v in dashboard()["templating"]["list"] if v["type"] == "query"):
        metric, label = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"]).groups()
        selector = metric.replace("$job", variable.get("allValue") or ".*")
        values = prometheus.api(f"label/{label}/values", **{"match[]": selector})
        assert values, f"variable {variable['name']}: no {label} values for {selector}"


def test_the_down_target_is_down(prometheus: PrometheusServer) -> None:
    up = {s["metric"]["job"]: s["value"][1] for s in prometheus.query('up{job=~"fashionrec-.+"}')}
    assert up == {"fashionrec-encoder": "1", "fashionrec-outfit": "1", "fashionrec-retrieval": "0"}
