from fashionrec.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EncodeRequest(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, images: _Optional[_Iterable[bytes]] = ...) -> None: ...

class AttributeEmbedding(_message.Message):
    __slots__ = ("attribute", "vector")
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    attribute: str
    vector: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, attribute: _Optional[str] = ..., vector: _Optional[_Iterable[float]] = ...) -> None: ...

class LabelPrediction(_message.Message):
    __slots__ = ("attribute", "value", "confidence")
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    attribute: str
    value: str
    confidence: float
    def __init__(self, attribute: _Optional[str] = ..., value: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("whole", "attributes", "outfit", "predictions", "log_probs")
    WHOLE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    OUTFIT_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    LOG_PROBS_FIELD_NUMBER: _ClassVar[int]
    whole: _containers.RepeatedScalarFieldContainer[float]
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeEmbedding]
    outfit: _containers.RepeatedScalarFieldContainer[float]
    predictions: _containers.RepeatedCompositeFieldContainer[LabelPrediction]
    log_probs: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, whole: _Optional[_Iterable[float]] = ..., attributes: _Optional[_Iterable[_Union[AttributeEmbedding, _Mapping]]] = ..., outfit: _Optional[_Iterable[float]] = ..., predictions: _Optional[_Iterable[_Union[LabelPrediction, _Mapping]]] = ..., log_probs: _Optional[_Iterable[float]] = ...) -> None: ...

class EncodeResponse(_message.Message):
    __slots__ = ("embeddings", "model_version")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    model_version: str
    def __init__(self, embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., model_version: _Optional[str] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Attribute(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("model_version", "attributes", "attribute_dim", "whole_dim", "outfit_dim", "image_size")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_DIM_FIELD_NUMBER: _ClassVar[int]
    WHOLE_DIM_FIELD_NUMBER: _ClassVar[int]
    OUTFIT_DIM_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    attributes: _containers.RepeatedCompositeFieldContainer[Attribute]
    attribute_dim: int
    whole_dim: int
    outfit_dim: int
    image_size: int
    def __init__(self, model_version: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[Attribute, _Mapping]]] = ..., attribute_dim: _Optional[int] = ..., whole_dim: _Optional[int] = ..., outfit_dim: _Optional[int] = ..., image_size: _Optional[int] = ...) -> None: ...

class PreviewRequest(_message.Message):
    __slots__ = ("item", "changes")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    item: _common_pb2.ItemRef
    changes: _containers.RepeatedCompositeFieldContainer[_common_pb2.AttributeChange]
    def __init__(self, item: _Optional[_Union[_common_pb2.ItemRef, _Mapping]] = ..., changes: _Optional[_Iterable[_Union[_common_pb2.AttributeChange, _Mapping]]] = ...) -> None: ...

class PreviewResponse(_message.Message):
    __slots__ = ("png", "model_version", "read_back")
    PNG_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    READ_BACK_FIELD_NUMBER: _ClassVar[int]
    png: bytes
    model_version: str
    read_back: _containers.RepeatedCompositeFieldContainer[LabelPrediction]
    def __init__(self, png: _Optional[bytes] = ..., model_version: _Optional[str] = ..., read_back: _Optional[_Iterable[_Union[LabelPrediction, _Mapping]]] = ...) -> None: ...
