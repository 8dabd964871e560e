import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CatalogEvent(_message.Message):
    __slots__ = ("sku", "updated_at", "event_id", "upsert", "patch", "delete")
    SKU_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    UPSERT_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    updated_at: _timestamp_pb2.Timestamp
    event_id: str
    upsert: ItemUpsert
    patch: ItemPatch
    delete: ItemDelete
    def __init__(self, sku: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_id: _Optional[str] = ..., upsert: _Optional[_Union[ItemUpsert, _Mapping]] = ..., patch: _Optional[_Union[ItemPatch, _Mapping]] = ..., delete: _Optional[_Union[ItemDelete, _Mapping]] = ...) -> None: ...

class ItemUpsert(_message.Message):
    __slots__ = ("image_bytes", "image_uri", "category", "labels", "title", "brand", "price", "currency", "in_stock")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IMAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URI_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    image_bytes: bytes
    image_uri: str
    category: str
    labels: _containers.ScalarMap[str, str]
    title: str
    brand: str
    price: float
    currency: str
    in_stock: bool
    def __init__(self, image_bytes: _Optional[bytes] = ..., image_uri: _Optional[str] = ..., category: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., title: _Optional[str] = ..., brand: _Optional[str] = ..., price: _Optional[float] = ..., currency: _Optional[str] = ..., in_stock: _Optional[bool] = ...) -> None: ...

class ItemPatch(_message.Message):
    __slots__ = ("price", "currency", "in_stock", "title", "brand")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    price: float
    currency: str
    in_stock: bool
    title: str
    brand: str
    def __init__(self, price: _Optional[float] = ..., currency: _Optional[str] = ..., in_stock: _Optional[bool] = ..., title: _Optional[str] = ..., brand: _Optional[str] = ...) -> None: ...

class ItemDelete(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
