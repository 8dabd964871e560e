from pathlib import Path

import pytest

from fashionrec import config


def test_defaults_work_on_the_embedded_stack() -> None:
    settings = config.load(config.EncoderSettings, {})
    assert settings.server.grpc_port == 50051
    assert settings.kafka.catalog_topic == "catalog.items.v1"
    assert settings.kafka.dead_letter_topic == "catalog.items.v1.dlq"
    assert settings.qdrant.url == ""  # the embedded engine


def test_values_are_read_and_typed_from_environment() -> None:
    settings = config.load(config.RetrievalSettings, {
        "FASHIONREC_GRPC_PORT": "6000",
        "FASHIONREC_DRAIN_SECONDS": "0.5",
        "FASHIONREC_QDRANT_URL": "http://qdrant:6334",
        "FASHIONREC_QDRANT_PATH": "/data/q",
        "FASHIONREC_QDRANT_PREFER_GRPC": "false",
        "FASHIONREC_MAX_K": "50",
    })
    assert settings.server.grpc_port == 6000
    assert settings.server.drain_seconds == 0.5
    assert settings.qdrant.url == "http://qdrant:6334"
    assert settings.qdrant.path == Path("/data/q")
    assert settings.qdrant.prefer_grpc is False
    assert settings.max_k == 50


@pytest.mark.parametrize(("var", "value", "message"), [
    ("FASHIONREC_GRPC_PORT", "abc", "must be an integer"),
    ("FASHIONREC_GRPC_PORT", "70000", "TCP port"),
    ("FASHIONREC_DRAIN_SECONDS", "-1", "0 or greater"),
    ("FASHIONREC_KAFKA_SESSION_TIMEOUT_MS", "0", "greater than 0"),
    ("FASHIONREC_QDRANT_PREFER_GRPC", "maybe", "true or false"),
    ("FASHIONREC_DEVICE", "tpu", "auto, cpu, cuda"),
])
def test_bad_value_is_rejected_naming_the_variable(var: str, value: str, message: str) -> None:
    with pytest.raises(config.ConfigError) as info:
        config.load(config.EncoderSettings, {var: value})
    assert str(info.value).startswith(f"{var}={value!r}")
    assert message in str(info.value)


def test_every_setting_has_a_documented_variable_name() -> None:
    names = config.env_vars(config.EncoderSettings)
    assert "FASHIONREC_KAFKA_BOOTSTRAP_SERVERS" in names
    assert "FASHIONREC_MODEL_DIR" in names
    assert all(name.startswith("FASHIONREC_") for name in names)
