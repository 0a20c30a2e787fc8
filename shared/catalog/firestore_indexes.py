"""The composite indexes the Firestore catalog's queries need (data for Terraform) and the rule for them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from google.cloud.firestore_v1.base_query import BaseQuery
from google.cloud.firestore_v1.types import StructuredQuery


class Order(StrEnum):
    ASCENDING = "ASCENDING"
    DESCENDING = "DESCENDING"


@dataclass(frozen=True)
class IndexField:
    field_path: str
    order: Order


@dataclass(frozen=True)
class CompositeIndex:
    collection: str
    """The collection group id without any tenant/test prefix."""
    fields: tuple[IndexField, ...]


@dataclass(frozen=True)
class QueryShape:
    """What decides a query's index: its collection, equality filters and orders (not their values)."""

    collection: str
    equalities: frozenset[str]
    orders: tuple[IndexField, ...]


def _newest(*equalities: str, tiebreak: str = "id") -> tuple[IndexField, ...]:
    return (
        *(IndexField(field, Order.ASCENDING) for field in sorted(equalities)),
        IndexField("created_at", Order.DESCENDING),
        IndexField(tiebreak, Order.DESCENDING),
    )


_BACKUP_FILTERS = ("run_lock", "status", "source", "is_protected")
_BACKUP_FILTER_SETS: tuple[tuple[str, ...], ...] = tuple(
    tuple(field for field, chosen in zip(_BACKUP_FILTERS, mask, strict=True) if chosen)
    for mask in itertools.product((False, True), repeat=len(_BACKUP_FILTERS))
)
"""Every combination of `BackupFilter`'s fields, so any filter the API or a service builds has its index."""

COMPOSITE_INDEXES: tuple[CompositeIndex, ...] = (
    *(CompositeIndex("backups", _newest(*fields)) for fields in _BACKUP_FILTER_SETS),
    CompositeIndex("backup_logs", _newest(tiebreak="logged_ns")),
    CompositeIndex("backup_logs", _newest("backup_id", tiebreak="logged_ns")),
)
"""Equality fields come first in ascending name order, as `required_index` builds them."""


def required_index(shape: QueryShape) -> CompositeIndex | None:
    """The composite index a query needs; None when Firestore's automatic single-field indexes serve it
    (equality filters only, or one order with no filter)."""
    if not shape.orders or (len(shape.orders) == 1 and not shape.equalities):
        return None
    ordered = {field.field_path for field in shape.orders}
    equalities = sorted(shape.equalities - ordered)
    return CompositeIndex(
        shape.collection, (*(IndexField(field, Order.ASCENDING) for field in equalities), *shape.orders)
    )


def _filter_fields(where: StructuredQuery.Filter) -> list[tuple[str, bool]]:
    """(field path, is equality) of every filter in `where`."""
    kind = StructuredQuery.Filter.pb(where).WhichOneof("filter_type")
    if kind is None:
        return []
    if kind == "composite_filter":
        if where.composite_filter.op != StructuredQuery.CompositeFilter.Operator.AND:
            raise ValueError("only AND filters have an index rule here; add one for OR queries")
        return [field for part in where.composite_filter.filters for field in _filter_fields(part)]
    if kind == "unary_filter":
        return [(where.unary_filter.field.field_path, True)]
    equality = where.field_filter.op == StructuredQuery.FieldFilter.Operator.EQUAL
    return [(where.field_filter.field.field_path, equality)]


def query_shape(query: BaseQuery, prefix: str = "") -> QueryShape:
    """The shape of a built query, read from the protobuf the client sends."""
    proto = query._to_protobuf()
    collection = proto.from_[0].collection_id.removeprefix(prefix)
    filters = _filter_fields(proto.where) if "where" in proto else []
    if not all(equality for _, equality in filters):
        raise ValueError("range filters have no index rule here yet; extend required_index first")
    orders = [
        IndexField(
            order.field.field_path,
            Order.DESCENDING if order.direction == StructuredQuery.Direction.DESCENDING else Order.ASCENDING,
        )
        for order in proto.order_by
    ]
    if len(orders) > 1 and orders[-1].field_path == "__name__" and orders[-1].order == orders[-2].order:
        orders.pop()  # every index ends with the document name in the last field's direction already
    return QueryShape(collection, frozenset(field for field, _ in filters), tuple(orders))


def terraform_indexes() -> list[dict[str, Any]]:
    """The declared indexes in the form a `google_firestore_index` resource takes (for infra/)."""
    return [
        {
            "collection": index.collection,
            "fields": [{"field_path": field.field_path, "order": str(field.order)} for field in index.fields],
        }
        for index in COMPOSITE_INDEXES
    ]
