"""Entry point of the outfit service: `python -m outfit_svc.server`."""

from __future__ import annotations

from fashionrec import config
from fashionrec.serving import Service, serve_until_signal
from fashionrec.v1 import outfit_pb2, outfit_pb2_grpc


def services(settings: config.OutfitSettings) -> list[Service]:
    # The query handlers land with the index and services issues; until then
    # the generated base answers UNIMPLEMENTED.
    return [
        Service.from_descriptor(
            outfit_pb2.DESCRIPTOR,
            "OutfitService",
            outfit_pb2_grpc.add_OutfitServiceServicer_to_server,
            outfit_pb2_grpc.OutfitServiceServicer(),
        )
    ]


def main() -> None:
    settings = config.load_or_exit(config.OutfitSettings)
    serve_until_signal("outfit_svc", services(settings), settings.server)


if __name__ == "__main__":
    main()
