"""Typed settings for each service, read from `FASHIONREC_*` environment variables at start-up.

Every field has a default that works on the embedded stack (`fashionrec dev`).
A value that does not parse or is out of range is rejected by `load()` with a
`ConfigError` naming the variable, so a typo stops the process at start-up
instead of surfacing as a strange failure later.

Variable names: `FASHIONREC_` + the section's prefix + the field name in upper
case, e.g. `FASHIONREC_GRPC_PORT`, `FASHIONREC_KAFKA_BOOTSTRAP_SERVERS`,
`FASHIONREC_QDRANT_URL`, `FASHIONREC_MODEL_DIR`.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from fashionrec import paths

ENV_PREFIX = "FASHIONREC_"

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting has a bad value; the message names the environment variable."""


def _port(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "must be a TCP port between 0 and 65535"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be 0 or greater"


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _setting(default: Any, check: Callable[[Any], str | None] | None = None, doc: str = "",
             factory: Callable[[], Any] | None = None) -> Any:
    """A settings field; factory (instead of default) for defaults computed at start-up, such as paths."""
    metadata = {"check": check, "doc": doc}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class ServerSettings:
    """The gRPC and metrics endpoints of one service process."""

    env_prefix: ClassVar[str] = ""
    host: str = _setting("127.0.0.1", doc="address to bind; 0.0.0.0 in containers")
    grpc_port: int = _setting(50051, _port, "gRPC port; 0 picks a free one")
    metrics_port: int = _setting(9464, _port, "Prometheus /metrics port; 0 picks a free one")
    max_message_bytes: int = _setting(8 * 1024 * 1024, _positive, "largest request accepted")
    drain_seconds: float = _setting(2.0, _non_negative, "NOT_SERVING before stop, for balancers")
    grace_seconds: float = _setting(5.0, _non_negative, "time in-flight calls get to finish")
    auth_token: str = _setting("", doc="bearer token required on every call; empty: no auth")
    log_level: str = _setting("INFO", _one_of("DEBUG", "INFO", "WARNING", "ERROR"), "log level of the process")
    # Connections are recycled so that clients behind a plain (L4) Kubernetes Service re-resolve
    # and spread over new pods instead of sticking to the first one (fashionrec_grpc.options).
    max_connection_age_seconds: float = _setting(300.0, _positive, "a client connection is closed (GOAWAY) after this")
    max_connection_age_grace_seconds: float = _setting(30.0, _non_negative, "time calls get to finish on a closing connection")
    keepalive_seconds: float = _setting(60.0, _positive, "server pings an idle connection this often")
    keepalive_timeout_seconds: float = _setting(20.0, _positive, "a ping unanswered this long closes the connection")
    max_concurrent_rpcs: int = _setting(64, _positive, "calls handled at once; more are refused with RESOURCE_EXHAUSTED")
    worker_threads: int = _setting(16, _positive, "threads that run calls")
    liveness_stale_seconds: float = _setting(30.0, _positive, "liveness fails when the health watch has not run for this long")


@dataclass(frozen=True)
class KafkaSettings:
    """The broker and topics of the catalog event stream."""

    env_prefix: ClassVar[str] = "KAFKA_"
    bootstrap_servers: str = _setting("127.0.0.1:9092", doc="Kafka brokers, host:port[,host:port]")
    catalog_topic: str = _setting("catalog.items.v1", doc="topic of catalog item events, keyed by SKU")
    dead_letter_topic: str = _setting("catalog.items.v1.dlq", doc="where events that cannot be processed go, with the reason")
    consumer_group: str = _setting("fashionrec-encoder", doc="consumer group of the ingest workers")
    # 6000/2000 joins a group in ~3 s on Tansu; kafka-python's defaults take ~23 s.
    session_timeout_ms: int = _setting(6000, _positive, "Kafka group session timeout")
    heartbeat_interval_ms: int = _setting(2000, _positive, "Kafka group heartbeat interval")
    max_poll_records: int = _setting(256, _positive, "largest batch of records one poll returns")


@dataclass(frozen=True)
class QdrantSettings:
    """Where the vectors live: a Qdrant server, or the embedded engine in a directory."""

    env_prefix: ClassVar[str] = "QDRANT_"
    url: str = _setting("", doc="Qdrant server URL; empty: the embedded engine at path")
    path: Path = _setting(None, doc="embedded engine directory (default: $XDG_STATE_HOME/fashionrec/qdrant)",
                          factory=lambda: paths.state_dir() / "qdrant")
    api_key: str = _setting("", doc="Qdrant server API key; empty: none")
    prefer_grpc: bool = _setting(True, doc="talk to the Qdrant server over gRPC (port 6334) rather than REST")
    timeout_seconds: float = _setting(5.0, _positive, "deadline of one Qdrant call")
    # Distributed Qdrant, for new collections: 0 keeps the server's default.
    shard_number: int = _setting(0, _non_negative, "shards of a new collection (server only)")
    replication_factor: int = _setting(0, _non_negative, "replicas of each shard (server only)")
    write_consistency_factor: int = _setting(0, _non_negative, "replicas that confirm a write (server only)")
    # The embedded engine builds its search graphs only when asked (fashionrec.index.maintenance).
    maintain_seconds: float = _setting(30.0, _positive, "how often the writer checks how much of the index is "
                                       "outside the search graphs (exported as fashionrec_index_unindexed_ratio)")
    maintain_min_points: int = _setting(20_000, _positive, "embedded engine: build the graphs (in a child process) "
                                        "once this many points are outside them and writes have paused")
    maintain_max_points: int = _setting(200_000, _positive, "embedded engine: build them at this many even while "
                                        "writes continue")


@dataclass(frozen=True)
class EncoderSettings:
    env_prefix: ClassVar[str] = ""
    server: ServerSettings = field(default_factory=ServerSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    qdrant: QdrantSettings = field(default_factory=QdrantSettings)
    model_dir: Path = _setting(None, doc="the model artifact (default: the shipped models/adde-synthetic)",
                               factory=paths.default_model_dir)
    device: str = _setting("auto", _one_of("auto", "cpu", "cuda"), "where the encoder runs; auto: cuda when present")
    # One intra-op thread per process: on a shared 2-core machine torch's default (all cores)
    # made single-image encodes ~40x slower (docs/model.md); scale out with processes instead.
    torch_threads: int = _setting(1, _positive, "CPU threads torch may use in the encoder")
    # 2x on a CPU with native bfloat16, vectors within cosine 0.9995 of float32 (docs/performance.md);
    # emulated, and slower, on one without.
    cpu_bfloat16: bool = _setting(False, doc="encode under bfloat16 autocast on the CPU (CPUs with AVX512-BF16 or AMX)")
    max_images_per_call: int = _setting(64, _positive, "images one Encode call may carry")
    max_image_bytes: int = _setting(4 * 1024 * 1024, _positive, "largest encoded image accepted")
    # Decode cost is bounded before decoding: Pillow's own guard allows ~89 Mpx (a 11 KB PNG can be
    # hundreds of MB once decoded); the model reads 32-64 px.
    max_image_pixels: int = _setting(4_000_000, _positive, "largest width x height decoded (photos and ingest)")
    max_concurrent_decodes: int = _setting(2, _positive, "image decodes running at once in the process")
    # image_uri in catalog events: refused unless a root is set (docs/ingest.md).
    image_root: str = _setting("", doc="directory image_uri may point into; empty: image_uri refused")
    image_read_timeout_seconds: float = _setting(5.0, _positive, "time reading one image_uri file may take")
    ingest_max_attempts: int = _setting(3, _positive, "failures of one event before it is dead-lettered")
    ingest_stall_seconds: float = _setting(120.0, _positive,
                                           "lag without progress for this long turns ingest health NOT_SERVING")


@dataclass(frozen=True)
class RetrievalSettings:
    env_prefix: ClassVar[str] = ""
    server: ServerSettings = field(default_factory=ServerSettings)
    qdrant: QdrantSettings = field(default_factory=QdrantSettings)
    encoder_address: str = _setting("127.0.0.1:50051", doc="EncoderService, for photo queries "
                                    "(dns:///NAME:PORT of a headless Service spreads calls over its pods)")
    encoder_max_attempts: int = _setting(3, _positive, "attempts of an Encode call on UNAVAILABLE (gRPC retry policy)")
    encoder_keepalive_seconds: float = _setting(60.0, _positive, "client pings an idle encoder connection this often")
    encoder_timeout_seconds: float = _setting(5.0, _positive, "deadline of an Encode call when the caller set none")
    encoder_token: str = _setting("", doc="bearer token for EncoderService; empty: forward the caller's")
    max_k: int = _setting(200, _positive, "most results one query may ask for")


@dataclass(frozen=True)
class OutfitSettings:
    env_prefix: ClassVar[str] = ""
    server: ServerSettings = field(default_factory=ServerSettings)
    qdrant: QdrantSettings = field(default_factory=QdrantSettings)
    max_k: int = _setting(200, _positive, "most results one query may ask for")
    max_outfit_items: int = _setting(16, _positive, "most items of one outfit query")


def load(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Builds settings of type cls from environ (default: os.environ)."""
    return _load(cls, os.environ if environ is None else environ, ENV_PREFIX)


def load_or_exit(cls: type[T]) -> T:
    """`load` for a process entry point: a bad value ends the process with a one-line message."""
    try:
        return load(cls)
    except ConfigError as exc:
        raise SystemExit(f"fashionrec: bad configuration: {exc}") from None


def env_vars(cls: type) -> dict[str, str]:
    """Variable name -> field doc for every setting of cls (for docs and --help)."""
    out: dict[str, str] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            out |= env_vars(hints[f.name])
        else:
            out[ENV_PREFIX + cls.env_prefix + f.name.upper()] = f.metadata.get("doc", "")
    return out


def _load(cls: type[T], environ: Mapping[str, str], prefix: str) -> T:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            values[f.name] = _load(kind, environ, prefix)  # type: ignore[arg-type]
            continue
        var = prefix + cls.env_prefix + f.name.upper()  # type: ignore[attr-defined]
        if var not in environ:
            continue
        raw = environ[var]
        try:
            value = _parse(raw, kind)
        except ValueError as exc:
            raise ConfigError(f"{var}={raw!r}: {exc}") from None
        check = f.metadata.get("check")
        problem = check(value) if check else None
        if problem:
            raise ConfigError(f"{var}={raw!r}: {problem}")
        values[f.name] = value
    return cls(**values)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(raw: str, kind: type) -> Any:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ValueError("must be true or false")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError("must be an integer") from None
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError("must be a number") from None
    if kind is Path:
        return Path(raw)
    return raw
