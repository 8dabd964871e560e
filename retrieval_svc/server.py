"""Entry point of the retrieval service: `python -m retrieval_svc.server`."""

from __future__ import annotations

from fashionrec import config
from fashionrec.serving import Service, serve_until_signal
from fashionrec.v1 import retrieval_pb2, retrieval_pb2_grpc


def services(settings: config.RetrievalSettings) -> list[Service]:
    # The query handlers land with the index and services issues; until then
    # the generated base answers UNIMPLEMENTED.
    return [
        Service.from_descriptor(
            retrieval_pb2.DESCRIPTOR,
            "RetrievalService",
            retrieval_pb2_grpc.add_RetrievalServiceServicer_to_server,
            retrieval_pb2_grpc.RetrievalServiceServicer(),
        )
    ]


def main() -> None:
    settings = config.load_or_exit(config.RetrievalSettings)
    serve_until_signal("retrieval_svc", services(settings), settings.server)


if __name__ == "__main__":
    main()
