"""The committed deploy files the tests read: dashboard panels, rules, their PromQL."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.prometheus_process import PROMETHEUS_DIR, REPO

DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "fashionrec.json"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
# What Grafana puts in for $__rate_interval with a 1 s scrape interval is
# under a minute; one minute covers the test's whole traffic window.
RATE_INTERVAL = "1m"


@dataclass(frozen=True)
class Expression:
    name: str  # for test ids: panel title and refId, or rule name
    promql: str


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that is not a row, including those nested in collapsed rows."""
    out = []
    for panel in board["panels"]:
        if panel["type"] == "row":
            out += panel.get("panels", [])
        else:
            out.append(panel)
    return out


def substitute_variables(promql: str, board: dict[str, Any]) -> str:
    """The query Grafana sends with every variable at "All" and $__rate_interval at RATE_INTERVAL."""
    values = {v["name"]: v.get("allValue") or ".*" for v in board["templating"]["list"] if v["type"] == "query"}
    promql = promql.replace("$__rate_interval", RATE_INTERVAL)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], promql)


def dashboard_expressions() -> list[Expression]:
    board = dashboard()
    return [Expression(f"{p['title']} [{t['refId']}]", substitute_variables(t["expr"], board))
            for p in panels(board) for t in p["targets"]]


def rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def rule_expressions() -> list[Expression]:
    return [Expression(rule.get("record") or rule["alert"], rule["expr"]) for rule in rules()]
