"""EncoderService and the Kafka ingest worker: the only writer of the index."""
