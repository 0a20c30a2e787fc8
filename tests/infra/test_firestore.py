"""The Firestore catalog: a native database and exactly the composite indexes the code declares."""

from __future__ import annotations

from shared.catalog.firestore_indexes import terraform_indexes
from tests.infra.terraform_files import local_values, resource


def test_every_declared_index_is_in_infra_and_no_other() -> None:
    declared = sorted(
        (index["collection"], tuple((field["field_path"], field["order"]) for field in index["fields"]))
        for index in terraform_indexes()
    )
    in_infra = sorted(
        (index["collection"], tuple((path, order) for path, order in index["fields"]))
        for index in local_values()["firestore_indexes"]
    )
    missing = sorted(set(declared) - set(in_infra))
    extra = sorted(set(in_infra) - set(declared))
    assert (missing, extra) == ([], []), f"add to infra/firestore.tf: {missing}; remove from it: {extra}"
    assert len(in_infra) == len(set(in_infra)), "infra/firestore.tf declares an index twice"


def test_index_resource_builds_fields_in_order_from_the_list() -> None:
    index = resource("google_firestore_index", "catalog").body
    assert index["collection"] == "${each.value.collection}"
    assert index["query_scope"] == "COLLECTION"
    [dynamic] = index["dynamic"]
    content = dynamic["fields"]["content"][0]
    assert (content["field_path"], content["order"]) == ("${fields.value[0]}", "${fields.value[1]}")


def test_database_is_native_mode_and_protected() -> None:
    database = resource("google_firestore_database", "catalog").body
    assert database["type"] == "FIRESTORE_NATIVE"
    assert database["delete_protection_state"] == "DELETE_PROTECTION_ENABLED"
