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

    reader = consumer(kafka_settings, kafka_settings.dead_letter_topic)
    records = []
    deadline = time.monotonic() + 20
    while not records and time.monotonic() < deadline:
        for batch in reader.poll(timeout_ms=200).values():
            records.extend(batch)
    reader.close()
    [record] = records
    headers = {k: v.decode() for k, v in record.headers}
    assert record.key == b"sku-7" and record.value == b"\xff"
    assert headers[dead_letter.REASON] == "undecodable"
    assert headers[dead_letter.DETAIL] == "not a JSON CatalogEvent"
    assert (headers[dead_letter.SOURCE_TOPIC], headers[dead_letter.SOURCE_PARTITION],
            headers[dead_letter.SOURCE_OFFSET]) == ("catalog", "3", "41")
    assert headers["content-type"] == "application/json"
