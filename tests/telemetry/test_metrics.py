import urllib.request

from prometheus_client import CollectorRegistry

from fashionrec.telemetry.metrics import IngestMetrics, RpcMetrics, serve_metrics


def test_metrics_are_served_over_http() -> None:
    registry = CollectorRegistry()
    ingest = IngestMetrics(registry)
    RpcMetrics(registry)
    ingest.dead_lettered.labels(reason="undecodable").inc()
    endpoint = serve_metrics(registry, "127.0.0.1", 0)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=5).read().decode()
    finally:
        endpoint.stop()
    assert 'fashionrec_ingest_events_dead_lettered_total{reason="undecodable"} 1.0' in body
    assert "fashionrec_rpc_latency_seconds" in body
