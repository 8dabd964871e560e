"""A real Prometheus scrapes the embedded stack (`fashionrec dev`, the shipped model) while a
test client sends real traffic: every dashboard query and every recording rule returns data, and
what /metrics serves passes `promtool check metrics` (the exposition format and naming lint).

The alert expressions need their conditions to hold (slow calls, server errors, a
target down, growing lag); test_live_prometheus.py drives those with a stand-in
stack built to fire them. The embedded stack serves all three services from one
process, so each service's job scrapes the same /metrics endpoint here.
"""

from __future__ import annotations

import math
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import grpc
import pytest
import yaml

from fashionrec_cli.dev_command import Stack
from fashionrec.data.catalog import Catalog
from fashionrec.data.images import encode_png
from fashionrec.events import kafka
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import patch_event, publish, upsert_event
from fashionrec.v1 import common_pb2, encoder_pb2, encoder_pb2_grpc, outfit_pb2, outfit_pb2_grpc
from fashionrec.v1 import retrieval_pb2, retrieval_pb2_grpc
from tests.deploy.conftest import TRAFFIC_S, scrape_config_for
from tests.deploy.deploy_files import Expression, dashboard_expressions, rule_expressions
from tests.deploy.prometheus_process import PROMETHEUS_DIR, PrometheusServer, find_binary


def _fashionrec_jobs() -> list[str]:
    committed = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    return [c["job_name"] for c in committed["scrape_configs"] if c["job_name"].startswith("fashionrec-")]


def _drive(stack: Stack, catalog: Catalog, seconds: float) -> None:
    """Queries of every kind (and some bad ones), plus catalog patches, re-published items (so the
    ingest worker decodes and encodes images while Prometheus scrapes: the encoder panels) and a
    poison event."""
    producer = kafka.producer(stack.kafka)
    producer.send(stack.kafka.catalog_topic, key=b"poison", value=b"\x00not an event").get(timeout=10)
    outfit = catalog.outfits[0]
    deadline, n = time.monotonic() + seconds, 0
    with grpc.insecure_channel(stack.grpc_address) as channel:
        retrieval = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        outfits = outfit_pb2_grpc.OutfitServiceStub(channel)
        encoder = encoder_pb2_grpc.EncoderServiceStub(channel)
        while time.monotonic() < deadline:
            sku = catalog.items[n % len(catalog)].sku
            retrieval.Manipulate(retrieval_pb2.ManipulateRequest(
                item=common_pb2.ItemRef(sku=sku), k=10,
                changes=[common_pb2.AttributeChange(attribute="color", value="red")]), timeout=10)
            retrieval.SimilarBy(retrieval_pb2.SimilarByRequest(
                item=common_pb2.ItemRef(sku=sku), k=10,
                weights=[retrieval_pb2.AttributeWeight(attribute="pattern", weight=1)]), timeout=10)
            outfits.Complete(outfit_pb2.CompleteRequest(
                outfit_skus=[catalog.items[r].sku for r in outfit.items[:-1]], k=10,
                target_category=catalog.items[outfit.items[-1]].category), timeout=10)
            encoder.Encode(encoder_pb2.EncodeRequest(images=[encode_png(catalog.images[n % len(catalog)])]),
                           timeout=10)
            with pytest.raises(grpc.RpcError):
                retrieval.Manipulate(retrieval_pb2.ManipulateRequest(item=common_pb2.ItemRef(sku="missing"), k=1,
                                     changes=[common_pb2.AttributeChange(attribute="color", value="red")]), timeout=10)
            publish(producer, stack.kafka.catalog_topic, [patch_event(sku, time.time(), price=10.0 + n)])
            if n % 4 == 0:  # the item as the catalog has it (same image and fields), published anew
                [item] = catalog_items(catalog, [(n + 1) % len(catalog)])
                publish(producer, stack.kafka.catalog_topic, [upsert_event(item, time.time())])
            n += 1
            time.sleep(0.05)
    producer.close()


@pytest.fixture(scope="module")
def prometheus_on_stack(stack: Stack, catalog: Catalog, tmp_path_factory) -> Iterator[PrometheusServer]:
    target = stack.metrics_url.removeprefix("http://").removesuffix("/metrics")
    workdir = tmp_path_factory.mktemp("prometheus-stack")
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(scrape_config_for({job: [target] for job in _fashionrec_jobs()})))
    server = PrometheusServer.start(config_file, workdir / "data")
    try:
        _drive(stack, catalog, TRAFFIC_S)
        server.wait_for_rule_evaluation()
        yield server
    finally:
        server.stop()


def _recording_rules() -> list[Expression]:
    return [e for e in rule_expressions() if e.name.startswith("fashionrec:")]


@pytest.mark.parametrize("expression", dashboard_expressions() + _recording_rules(), ids=lambda e: e.name)
def test_expression_returns_data_on_the_embedded_stack(prometheus_on_stack: PrometheusServer,
                                                       expression: Expression) -> None:
    result = prometheus_on_stack.query(expression.promql)
    assert result, f"no data for {expression.promql}"
    assert any(not math.isnan(float(s["value"][1])) for s in result), f"only NaN for {expression.promql}"


def test_scraped_metrics_pass_promtool_check_metrics(prometheus_on_stack: PrometheusServer, stack: Stack) -> None:
    """What Prometheus scraped, after the traffic: every family of every service, in the
    exposition format promtool lints (names, units, _total counters, help texts)."""
    with urllib.request.urlopen(stack.metrics_url, timeout=10) as response:
        exposition = response.read()
    for family in ("grpc_server_handled_total", "grpc_server_handling_seconds_bucket", "fashionrec_build_info",
                   "fashionrec_encoder_images_total", "fashionrec_ingest_stage_seconds_bucket", "process_cpu_seconds"):
        assert family.encode() in exposition, family
    done = subprocess.run([find_binary("promtool"), "check", "metrics"], input=exposition, capture_output=True,
                          timeout=60)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), (
        f"promtool check metrics:\n{done.stdout.decode()}{done.stderr.decode()}")
