"""Catalog events on Kafka: client settings, encoding, the ingest loop."""
