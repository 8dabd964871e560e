"""Entry point of the retrieval service: `python -m retrieval_svc.server`."""

from __future__ import annotations

import grpc

from fashionrec import config
from fashionrec.index import CatalogIndex, open_index
from fashionrec.serving import Service, Telemetry, serve_until_signal
from fashionrec.v1 import retrieval_pb2, retrieval_pb2_grpc
from retrieval_svc.photos import RemotePhotoEncoder
from retrieval_svc.servicer import PhotoEncoder, RetrievalServicer


def services(index: CatalogIndex, encode_photo: PhotoEncoder) -> list[Service]:
    return [
        Service.from_descriptor(
            retrieval_pb2.DESCRIPTOR,
            "RetrievalService",
            retrieval_pb2_grpc.add_RetrievalServiceServicer_to_server,
            RetrievalServicer(index, encode_photo),
        )
    ]


def main() -> None:
    settings = config.load_or_exit(config.RetrievalSettings)
    telemetry = Telemetry.create("retrieval_svc")
    index = open_index(settings.qdrant, max_k=settings.max_k, observe=telemetry.rpc.observe_backend)
    channel = grpc.insecure_channel(settings.encoder_address)
    serve_until_signal(
        "retrieval_svc",
        services(index, RemotePhotoEncoder(channel, index)),
        settings.server,
        telemetry,
        health_check=index.count,
    )


if __name__ == "__main__":
    main()
