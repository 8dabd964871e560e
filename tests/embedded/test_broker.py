import os
import time

import pytest
from kafka import TopicPartition

from fashionrec.config import KafkaSettings
from fashionrec.embedded import EmbeddedBroker
from fashionrec.ports import PortInUse
from fashionrec.events.kafka import consumer, producer


def _poll_until(kafka_consumer, count: int, timeout_s: float = 20.0) -> list:
    records: list = []
    deadline = time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        for batch in kafka_consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    return records


def test_group_consumer_reads_what_was_produced_and_resumes_from_committed_offset(
    kafka_settings: KafkaSettings, topic: str
) -> None:
    with_keys = [(f"sku-{i}".encode(), f"value-{i}".encode()) for i in range(20)]
    send = producer(kafka_settings)
    for key, value in with_keys:
        send.send(topic, key=key, value=value)
    send.flush()
    send.close()

    first = consumer(kafka_settings, topic)
    records = _poll_until(first, 10)
    assert len(records) >= 10
    first.commit()
    committed_count = len(records)
    first.close()

    # A new member of the same group starts after the committed offsets.
    second = consumer(kafka_settings, topic)
    rest = _poll_until(second, len(with_keys) - committed_count)
    second.close()

    seen = {(r.key, r.value) for r in records} | {(r.key, r.value) for r in rest}
    assert seen == set(with_keys)
    assert len(records) + len(rest) == len(with_keys), "committed records were redelivered"


def test_same_key_lands_in_one_partition_in_order(kafka_settings: KafkaSettings, topic: str) -> None:
    send = producer(kafka_settings)
    for i in range(10):
        send.send(topic, key=b"sku-1", value=str(i).encode())
    send.flush()
    send.close()
    reader = consumer(kafka_settings, topic)
    records = _poll_until(reader, 10)
    reader.close()
    assert {r.partition for r in records} == {records[0].partition}
    assert [int(r.value) for r in records] == list(range(10))


def test_committed_offsets_are_visible_to_the_group(kafka_settings: KafkaSettings, topic: str) -> None:
    send = producer(kafka_settings)
    send.send(topic, key=b"k", value=b"v", partition=0).get(timeout=10)
    send.close()
    reader = consumer(kafka_settings, topic)
    assert len(_poll_until(reader, 1)) == 1
    reader.commit()
    assert reader.committed(TopicPartition(topic, 0)) == 1
    reader.close()


def test_broker_listens_on_loopback_and_stops_by_pid() -> None:
    broker = EmbeddedBroker().start()
    pid = broker.pid
    assert broker.bootstrap_servers.startswith("127.0.0.1:")
    broker.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_start_refuses_a_port_in_use() -> None:
    with EmbeddedBroker() as running:
        clash = EmbeddedBroker(port=running.port, start_timeout_s=3)
        with pytest.raises(PortInUse, match="already in use.*--broker-port"):
            clash.start()
        assert clash.pid is None
