"""Entry point of the outfit service: `python -m outfit_svc.server`."""

from __future__ import annotations

from fashionrec import config
from fashionrec.index import CatalogIndex, open_index
from fashionrec_grpc.serving import Service, serve_until_signal
from fashionrec.telemetry.process_telemetry import Telemetry
from fashionrec.v1 import outfit_pb2, outfit_pb2_grpc
from outfit_svc.servicer import OutfitServicer


def services(index: CatalogIndex) -> list[Service]:
    return [
        Service.from_descriptor(
            outfit_pb2.DESCRIPTOR,
            "OutfitService",
            outfit_pb2_grpc.add_OutfitServiceServicer_to_server,
            OutfitServicer(index),
        )
    ]


def main() -> None:
    settings = config.load_or_exit(config.OutfitSettings)
    telemetry = Telemetry.create("outfit_svc")
    index = open_index(settings.qdrant, max_k=settings.max_k, observe=telemetry.rpc.observe_backend,
                       max_outfit_items=settings.max_outfit_items)
    serve_until_signal("outfit_svc", services(index), settings.server, telemetry, health_check=index.check_reachable)


if __name__ == "__main__":
    main()
