"""Entry point of the retrieval service: `python -m retrieval_svc.server`."""

from __future__ import annotations


from fashionrec import config
from fashionrec.index import CatalogIndex, open_index
from fashionrec_grpc.options import encoder_channel
from fashionrec_grpc.serving import Service, client_interceptor, serve_until_signal
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import retrieval_pb2, retrieval_pb2_grpc
from retrieval_svc.photo_client import RemotePhotoEncoder
from retrieval_svc.preview_client import PreviewSource, RemotePreview
from retrieval_svc.servicer import PhotoEncoder, RetrievalServicer


def services(index: CatalogIndex, encode_photo: PhotoEncoder, preview: PreviewSource | None = None) -> list[Service]:
    return [
        Service.from_descriptor(
            retrieval_pb2.DESCRIPTOR,
            "RetrievalService",
            retrieval_pb2_grpc.add_RetrievalServiceServicer_to_server,
            RetrievalServicer(index, encode_photo, preview),
        )
    ]


def main() -> None:
    settings = config.load_or_exit(config.RetrievalSettings)
    telemetry = Telemetry.create("retrieval_svc")
    index = open_index(settings.qdrant, max_k=settings.max_k, observe=telemetry.rpc.observe_backend)
    # Round robin, retries on UNAVAILABLE, keepalive, and the trace context sent along (fashionrec_grpc.options).
    channel = encoder_channel(settings, (client_interceptor(telemetry),))
    serve_until_signal(
        "retrieval_svc",
        services(index, RemotePhotoEncoder(channel, index, default_timeout_s=settings.encoder_timeout_seconds,
                                              token=settings.encoder_token),
                 RemotePreview(channel, default_timeout_s=settings.encoder_timeout_seconds, token=settings.encoder_token)),
        settings.server,
        telemetry,
        health_check=index.check_reachable,
    )


if __name__ == "__main__":
    main()
