"""Entry point of the encoder service: `python -m encoder_svc.server`."""

from __future__ import annotations

from fashionrec import config
from fashionrec.serving import Service, serve_until_signal
from fashionrec.v1 import encoder_pb2, encoder_pb2_grpc


def services(settings: config.EncoderSettings) -> list[Service]:
    # The query handlers land with the encoder issue; until then
    # the generated base answers UNIMPLEMENTED.
    return [
        Service.from_descriptor(
            encoder_pb2.DESCRIPTOR,
            "EncoderService",
            encoder_pb2_grpc.add_EncoderServiceServicer_to_server,
            encoder_pb2_grpc.EncoderServiceServicer(),
        )
    ]


def main() -> None:
    settings = config.load_or_exit(config.EncoderSettings)
    serve_until_signal("encoder_svc", services(settings), settings.server)


if __name__ == "__main__":
    main()
