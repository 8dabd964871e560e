"""promtool on the committed Prometheus config, rules and rule unit tests."""

from __future__ import annotations

import subprocess

import pytest

from tests.deploy.deploy_files import RULE_FILES, rules
from tests.deploy.prometheus_process import PROMETHEUS_DIR, find_binary

RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def _promtool(*args: str) -> str:
    done = subprocess.run([find_binary("promtool"), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_config_is_valid() -> None:
    assert "SUCCESS" in _promtool("check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))


def test_rules_are_valid() -> None:
    out = _promtool("check", "rules", *map(str, RULE_FILES))
    assert out.count("SUCCESS") == len(RULE_FILES)


@pytest.mark.parametrize("unit_test", RULE_TESTS, ids=lambda p: p.name)
def test_rule_unit_tests_pass(unit_test) -> None:
    assert "SUCCESS" in _promtool("test", "rules", str(unit_test))


def test_every_alert_has_a_unit_test() -> None:
    tested = "\n".join(p.read_text() for p in RULE_TESTS)
    alerts = [r["alert"] for r in rules() if "alert" in r]
    assert [a for a in alerts if f"alertname: {a}" not in tested] == []
