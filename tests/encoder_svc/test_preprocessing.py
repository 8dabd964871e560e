"""One preprocessing path: what ingest indexes from image bytes equals what the offline encoder computes.

The catalog is rendered at a size other than the model's, so the resize runs on
both paths: training and evaluation resize the catalog's pixel arrays with
`fashionrec.model.preprocessing.resize_uint8` (inside `Encoder.encode`); ingest decodes
the published PNG and must reach the same model input through the same function.
"""

from __future__ import annotations

import numpy as np

from encoder_svc.ingest import IngestThread
from fashionrec.config import KafkaSettings
from fashionrec.data.synthetic import generate_catalog
from fashionrec.data.images import BoundedDecoder, decode_image, encode_png
from fashionrec.events import kafka
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import publish, upsert_event
from fashionrec.index import CatalogIndex
from fashionrec.model.preprocessing import resize_uint8
from fashionrec.telemetry.process_telemetry import Telemetry
from tests.helpers import wait_for


def test_decoded_bytes_become_the_same_model_input_as_the_pixel_arrays(encoder) -> None:
    size = encoder.spec.image_size
    catalog = generate_catalog(40, seed=8, image_size=size + 29)
    for image in catalog.images[:5]:
        decoded = decode_image(encode_png(image), size)
        expected = resize_uint8(image[None], size)[0].permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(decoded, expected)


def test_ingested_vectors_equal_the_offline_encoders(
    kafka_settings: KafkaSettings, topic: str, index: CatalogIndex, encoder
) -> None:
    size = encoder.spec.image_size
    catalog = generate_catalog(40, seed=8, image_size=size + 29)  # not the model's size: the resize runs
    rows = list(range(12))
    items = catalog_items(catalog, rows)
    producer = kafka.producer(kafka_settings)
    publish(producer, topic, [upsert_event(item, 1) for item in items])
    producer.close()
    ingest = IngestThread(kafka_settings, index, encoder, BoundedDecoder(), Telemetry.create("t")).start()
    try:
        wait_for(lambda: index.count() == len(items), what="the items indexed")
    finally:
        ingest.stop()
    offline = encoder.encode(catalog.images[rows])  # the pixel arrays, as training and evaluation read them
    stored = {e.item.sku: e for e in index.get_items([item.sku for item in items])}
    served = np.stack([stored[item.sku].whole for item in items])
    np.testing.assert_allclose(served, offline.whole, rtol=1e-5, atol=1e-6)
