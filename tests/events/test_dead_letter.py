import time

from fashionrec.config import KafkaSettings
from fashionrec.events import dead_letter
from fashionrec.events.kafka import consumer, ensure_topics, producer


def test_dead_letter_carries_reason_and_source(kafka_settings: KafkaSettings) -> None:
    ensure_topics(kafka_settings, {kafka_settings.dead_letter_topic: 1})
    send = producer(kafka_settings)
    writer = dead_letter.DeadLetterWriter(send, kafka_settings.dead_letter_topic)
    source = dead_letter.SourceRecord("catalog", 3, 41, b"sku-7", b"\xff", [("content-type", b"application/json")])
    writer.send(source, "undecodable", "not a JSON CatalogEvent")
    send.close()

    record = _the_one_dead_letter(kafka_settings)
    headers = {k: v.decode() for k, v in record.headers}
    assert record.key == b"sku-7" and record.value == b"\xff"
    assert headers[dead_letter.REASON] == "undecodable"
    assert headers[dead_letter.DETAIL] == "not a JSON CatalogEvent"
    assert (headers[dead_letter.SOURCE_TOPIC], headers[dead_letter.SOURCE_PARTITION],
            headers[dead_letter.SOURCE_OFFSET]) == ("catalog", "3", "41")
    assert headers["content-type"] == "application/json"


def test_an_oversized_dead_letter_keeps_headers_reason_and_a_bounded_prefix(kafka_settings: KafkaSettings) -> None:
    ensure_topics(kafka_settings, {kafka_settings.dead_letter_topic: 1})
    send = producer(kafka_settings)  # kafka-python: refuses records over 1 MiB
    writer = dead_letter.DeadLetterWriter(send, kafka_settings.dead_letter_topic)
    value = bytes(range(256)) * (3 * 4096)  # 3 MiB
    source = dead_letter.SourceRecord("catalog", 0, 7, b"sku-big", value, [("content-type", b"application/x-protobuf")])
    writer.send(source, "too_large", "the record is 3145728 bytes")
    send.close()

    record = _the_one_dead_letter(kafka_settings)
    headers = {k: v.decode() for k, v in record.headers}
    assert headers[dead_letter.TRUNCATED] == str(len(value))
    assert headers[dead_letter.REASON] == "too_large" and headers["content-type"] == "application/x-protobuf"
    assert 0 < len(record.value) <= 64 * 1024 and value.startswith(record.value)


def _the_one_dead_letter(kafka_settings):
    """The single record on the dead-letter topic (waits up to 20 s for it)."""
    reader = consumer(kafka_settings, kafka_settings.dead_letter_topic)
    records = []
    deadline = time.monotonic() + 20
    while not records and time.monotonic() < deadline:
        for batch in reader.poll(timeout_ms=200).values():
            records.extend(batch)
    reader.close()
    [record] = records
    return record
