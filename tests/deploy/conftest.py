"""Fixtures of the deploy tests: the monitored stack and a real Prometheus scraping it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fashionrec.embedded import EmbeddedBroker
from tests.deploy.prometheus_process import PROMETHEUS_DIR, PrometheusServer
from tests.deploy.stack_standin import MonitoredStack, StandInStack
from tests.helpers import wait_for

SCRAPE_INTERVAL = "1s"  # rate() and histograms need two scrapes: get them in seconds
TRAFFIC_S = 8.0


@pytest.fixture(scope="module")
def monitored_stack(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitoredStack]:
    """The scrape targets and their traffic (swap for the full embedded stack when it serves /metrics)."""
    stack = StandInStack(broker.bootstrap_servers, tmp_path_factory.mktemp("stack"))
    try:
        yield stack.monitored
    finally:
        stack.close()


def scrape_config_for(targets: dict[str, list[str]]) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with the test's targets, 1 s intervals and absolute rule paths."""
    committed = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    fashionrec_jobs = {c["job_name"] for c in committed["scrape_configs"] if c["job_name"].startswith("fashionrec-")}
    missing = fashionrec_jobs - set(targets)
    assert not missing, f"the monitored stack has no targets for {sorted(missing)}"
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(PROMETHEUS_DIR / f) for f in committed["rule_files"]],
        "scrape_configs": [
            {**c, "static_configs": [{"targets": targets[c["job_name"]]}]}
            for c in committed["scrape_configs"] if c["job_name"] in targets
        ],
    }


@pytest.fixture(scope="module")
def prometheus(monitored_stack: MonitoredStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus that scraped the stack while it served traffic, with every rule evaluated since."""
    workdir = tmp_path_factory.mktemp("prometheus")
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(scrape_config_for(monitored_stack.targets)))
    server = PrometheusServer.start(config_file, workdir / "data")
    try:
        monitored_stack.drive(TRAFFIC_S)
        # The drive ends with the encoder's ingest reported stalled; the rules must be evaluated
        # after Prometheus scraped that (a scrape and an evaluation after now could come in either
        # order, and FashionrecIngestStalled then stayed inactive in one fresh-clone run).
        wait_for(lambda: server.query('min(fashionrec_ingest_healthy{job="fashionrec-encoder"}) == 0'),
                 timeout_s=30, what="the stalled ingest to be scraped")
        server.wait_for_rule_evaluation()
        yield server
    finally:
        server.stop()
