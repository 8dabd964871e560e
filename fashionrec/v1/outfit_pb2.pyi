from fashionrec.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CompleteRequest(_message.Message):
    __slots__ = ("outfit_skus", "target_category", "filters", "k")
    OUTFIT_SKUS_FIELD_NUMBER: _ClassVar[int]
    TARGET_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    outfit_skus: _containers.RepeatedScalarFieldContainer[str]
    target_category: str
    filters: _common_pb2.Filters
    k: int
    def __init__(self, outfit_skus: _Optional[_Iterable[str]] = ..., target_category: _Optional[str] = ..., filters: _Optional[_Union[_common_pb2.Filters, _Mapping]] = ..., k: _Optional[int] = ...) -> None: ...

class ScoreOutfitRequest(_message.Message):
    __slots__ = ("skus",)
    SKUS_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, skus: _Optional[_Iterable[str]] = ...) -> None: ...

class PairScore(_message.Message):
    __slots__ = ("sku_a", "sku_b", "score")
    SKU_A_FIELD_NUMBER: _ClassVar[int]
    SKU_B_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    sku_a: str
    sku_b: str
    score: float
    def __init__(self, sku_a: _Optional[str] = ..., sku_b: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class ScoreOutfitResponse(_message.Message):
    __slots__ = ("score", "pairs", "model_version")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    score: float
    pairs: _containers.RepeatedCompositeFieldContainer[PairScore]
    model_version: str
    def __init__(self, score: _Optional[float] = ..., pairs: _Optional[_Iterable[_Union[PairScore, _Mapping]]] = ..., model_version: _Optional[str] = ...) -> None: ...
