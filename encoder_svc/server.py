"""Entry point of the encoder service: `python -m encoder_svc.server`.

Serves EncoderService over gRPC and runs the Kafka ingest worker, the only
writer of the index. On start it makes sure the model's collection exists
and, when no version is live yet, makes it live.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fashionrec import config
from fashionrec.artifact import load_artifact
from fashionrec.errors import FailedPrecondition
from fashionrec.data.images import BoundedDecoder
from fashionrec.index import CatalogIndex, open_index
from fashionrec.index.maintenance import IndexMaintainer
from fashionrec.telemetry.metrics import IndexMetrics, set_model_info
from fashionrec_grpc.serving import Service, serve_until_signal
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import encoder_pb2, encoder_pb2_grpc
from encoder_svc.ingest import INGEST_HEALTH_SERVICE, IngestOptions, IngestThread
from encoder_svc.servicer import EncoderServicer

if TYPE_CHECKING:
    from fashionrec.model.inference import Encoder


def image_decoder(settings: config.EncoderSettings) -> BoundedDecoder:
    """The process's one image decoder: pixel cap and concurrent decodes from the settings."""
    return BoundedDecoder(settings.max_image_pixels, settings.max_concurrent_decodes)


def services(settings: config.EncoderSettings, encoder: "Encoder", decoder: BoundedDecoder | None = None,
             index: CatalogIndex | None = None) -> list[Service]:
    """EncoderService, decoding with decoder (default: a new one from the settings); Preview looks SKUs
    up in index (None: SKU previews are FAILED_PRECONDITION)."""
    return [
        Service.from_descriptor(
            encoder_pb2.DESCRIPTOR,
            "EncoderService",
            encoder_pb2_grpc.add_EncoderServiceServicer_to_server,
            EncoderServicer(encoder, decoder or image_decoder(settings), settings.max_images_per_call,
                            settings.max_image_bytes, index),
        )
    ]


def prepare_index(index: CatalogIndex, model_dir: Path) -> str:
    """Creates the model's collection if needed; makes it live when nothing is. Returns its version."""
    artifact = load_artifact(model_dir)
    version = artifact.spec.version
    if version not in index.versions():
        index.create_version(artifact)
    try:
        index.live_version()
    except FailedPrecondition:  # a fresh index: nothing to switch away from
        index.set_live(version)
    return version


def load_encoder(settings: config.EncoderSettings, model_dir: Path | None = None) -> "Encoder":
    """The model on its device, with torch limited to settings.torch_threads CPU threads."""
    import torch

    from fashionrec.model.inference import Encoder  # torch: only this service loads it

    torch.set_num_threads(settings.torch_threads)
    return Encoder.load(model_dir or settings.model_dir, settings.device, cpu_bfloat16=settings.cpu_bfloat16)


def start_index_maintainer(index: CatalogIndex, settings: config.QdrantSettings,
                           telemetry: Telemetry) -> IndexMaintainer:
    """The writer keeps the index's graphs built (the embedded engine) and exports their coverage."""
    return IndexMaintainer(index, IndexMetrics(telemetry.registry), settings.maintain_seconds,
                           settings.maintain_min_points, settings.maintain_max_points,
                           build=not settings.url).start()


def main() -> None:
    settings = config.load_or_exit(config.EncoderSettings)
    encoder = load_encoder(settings)
    telemetry = Telemetry.create("encoder_svc")
    index = open_index(settings.qdrant, observe=telemetry.rpc.observe_backend)
    version = prepare_index(index, settings.model_dir)
    set_model_info(telemetry.registry, version)
    decoder = image_decoder(settings)
    ingest = IngestThread(settings.kafka, index, encoder, decoder, telemetry, version=version,
                          options=IngestOptions.from_settings(settings)).start()
    maintainer = start_index_maintainer(index, settings.qdrant, telemetry)
    serve_until_signal("encoder_svc", services(settings, encoder, decoder, index), settings.server, telemetry,
                       health_check=index.check_reachable, before_stop=ingest.stop,
                       components={INGEST_HEALTH_SERVICE: ingest.healthy})
    maintainer.stop()
    index.close()


if __name__ == "__main__":
    main()
