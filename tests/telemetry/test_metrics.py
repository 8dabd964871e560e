import urllib.request

from prometheus_client import CollectorRegistry

from fashionrec.telemetry.metrics import IngestMetrics, RpcMetrics, register_process_collectors, serve_metrics


def test_metrics_are_served_over_http() -> None:
    registry = CollectorRegistry()
    ingest = IngestMetrics(registry)
    RpcMetrics(registry)
    register_process_collectors(registry, model_version="adde-test-1")
    ingest.dead_lettered.labels(reason="undecodable").inc()
    endpoint = serve_metrics(registry, "127.0.0.1", 0)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=5).read().decode()
    finally:
        endpoint.stop()
    assert 'fashionrec_ingest_events_dead_lettered_total{reason="undecodable"} 1.0' in body
    assert "grpc_server_handling_seconds" in body and "grpc_server_handled_total" in body
    # The standard collectors, and what this process runs.
    assert "process_resident_memory_bytes" in body and "python_info{" in body
    assert 'fashionrec_build_info{python="' in body and 'version="' in body
    assert 'fashionrec_model_info{model_version="adde-test-1"} 1.0' in body
