import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Filters(_message.Message):
    __slots__ = ("categories", "brands", "min_price", "max_price", "in_stock")
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    BRANDS_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedScalarFieldContainer[str]
    brands: _containers.RepeatedScalarFieldContainer[str]
    min_price: float
    max_price: float
    in_stock: bool
    def __init__(self, categories: _Optional[_Iterable[str]] = ..., brands: _Optional[_Iterable[str]] = ..., min_price: _Optional[float] = ..., max_price: _Optional[float] = ..., in_stock: _Optional[bool] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("sku", "category", "title", "brand", "price", "currency", "in_stock", "labels", "predicted_labels", "image_uri", "model_version", "updated_at")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PredictedLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SKU_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_LABELS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URI_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    sku: str
    category: str
    title: str
    brand: str
    price: float
    currency: str
    in_stock: bool
    labels: _containers.ScalarMap[str, str]
    predicted_labels: _containers.ScalarMap[str, str]
    image_uri: str
    model_version: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, sku: _Optional[str] = ..., category: _Optional[str] = ..., title: _Optional[str] = ..., brand: _Optional[str] = ..., price: _Optional[float] = ..., currency: _Optional[str] = ..., in_stock: _Optional[bool] = ..., labels: _Optional[_Mapping[str, str]] = ..., predicted_labels: _Optional[_Mapping[str, str]] = ..., image_uri: _Optional[str] = ..., model_version: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("sku", "score", "item")
    SKU_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    sku: str
    score: float
    item: Item
    def __init__(self, sku: _Optional[str] = ..., score: _Optional[float] = ..., item: _Optional[_Union[Item, _Mapping]] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "model_version", "preview_png")
    HITS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_PNG_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    model_version: str
    preview_png: bytes
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ..., model_version: _Optional[str] = ..., preview_png: _Optional[bytes] = ...) -> None: ...

class ItemRef(_message.Message):
    __slots__ = ("sku", "image")
    SKU_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    image: bytes
    def __init__(self, sku: _Optional[str] = ..., image: _Optional[bytes] = ...) -> None: ...

class AttributeChange(_message.Message):
    __slots__ = ("attribute", "value")
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    attribute: str
    value: str
    def __init__(self, attribute: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
