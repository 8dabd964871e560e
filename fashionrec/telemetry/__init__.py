"""Prometheus metrics and OpenTelemetry traces for the services and the ingest worker."""
