"""The rule that says which composite index a Firestore query shape needs (no emulator needed)."""

from __future__ import annotations

from shared.catalog.firestore_indexes import (
    COMPOSITE_INDEXES,
    CompositeIndex,
    IndexField,
    Order,
    QueryShape,
    query_shape,
    required_index,
    terraform_indexes,
)

DESC = Order.DESCENDING


def test_single_field_queries_need_no_composite_index() -> None:
    assert required_index(QueryShape("backups", frozenset({"status", "source"}), ())) is None
    assert required_index(QueryShape("backups", frozenset(), (IndexField("created_at", DESC),))) is None


def test_equality_plus_order_needs_a_composite_index() -> None:
    shape = QueryShape("backups", frozenset({"status"}), (IndexField("created_at", DESC),))
    assert required_index(shape) == CompositeIndex(
        "backups", (IndexField("status", Order.ASCENDING), IndexField("created_at", DESC))
    )


def test_two_orders_need_a_composite_index() -> None:
    orders = (IndexField("created_at", DESC), IndexField("id", DESC))
    assert required_index(QueryShape("backups", frozenset(), orders)) == CompositeIndex("backups", orders)


def test_shape_read_from_a_built_query_drops_the_prefix_and_the_implicit_name_order() -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    client = firestore.Client(project="demo-test", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    query = (
        client.collection("p_backups")
        .where(filter=FieldFilter("status", "==", "completed"))
        .order_by("created_at", direction="DESCENDING")
        .limit(3)
    )
    assert query_shape(query, "p_") == QueryShape(
        "backups", frozenset({"status"}), (IndexField("created_at", DESC),)
    )


def test_terraform_form_names_collection_fields_and_orders() -> None:
    specs = terraform_indexes()
    assert {"collection": "backups", "fields": [
        {"field_path": "created_at", "order": "DESCENDING"}, {"field_path": "id", "order": "DESCENDING"},
    ]} in specs
    assert all(field["order"] in ("ASCENDING", "DESCENDING") for spec in specs for field in spec["fields"])


def test_declared_indexes_name_unprefixed_collections() -> None:
    assert {index.collection for index in COMPOSITE_INDEXES} == {"backups", "backup_logs"}
    assert all(len(index.fields) >= 2 for index in COMPOSITE_INDEXES)
