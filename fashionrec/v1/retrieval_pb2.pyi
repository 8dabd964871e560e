from fashionrec.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ManipulateRequest(_message.Message):
    __slots__ = ("item", "changes", "filters", "k", "require_predicted_target", "include_preview")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_PREDICTED_TARGET_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    item: _common_pb2.ItemRef
    changes: _containers.RepeatedCompositeFieldContainer[_common_pb2.AttributeChange]
    filters: _common_pb2.Filters
    k: int
    require_predicted_target: bool
    include_preview: bool
    def __init__(self, item: _Optional[_Union[_common_pb2.ItemRef, _Mapping]] = ..., changes: _Optional[_Iterable[_Union[_common_pb2.AttributeChange, _Mapping]]] = ..., filters: _Optional[_Union[_common_pb2.Filters, _Mapping]] = ..., k: _Optional[int] = ..., require_predicted_target: _Optional[bool] = ..., include_preview: _Optional[bool] = ...) -> None: ...

class AttributeWeight(_message.Message):
    __slots__ = ("attribute", "weight")
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    attribute: str
    weight: float
    def __init__(self, attribute: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class SimilarByRequest(_message.Message):
    __slots__ = ("item", "weights", "filters", "k")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    item: _common_pb2.ItemRef
    weights: _containers.RepeatedCompositeFieldContainer[AttributeWeight]
    filters: _common_pb2.Filters
    k: int
    def __init__(self, item: _Optional[_Union[_common_pb2.ItemRef, _Mapping]] = ..., weights: _Optional[_Iterable[_Union[AttributeWeight, _Mapping]]] = ..., filters: _Optional[_Union[_common_pb2.Filters, _Mapping]] = ..., k: _Optional[int] = ...) -> None: ...
