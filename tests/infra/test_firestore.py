"""The Firestore catalog: a native database, exactly the composite indexes the code declares, and a TTL
policy on the field the code stamps on its lock and run documents."""

from __future__ import annotations

from datetime import timedelta

from shared.catalog.firestore import DELETE_AFTER_FIELD, TTL_COLLECTIONS
from shared.catalog.firestore_indexes import terraform_indexes
from shared.catalog.leases import KEPT_AFTER_LAST_WRITE
from tests.infra.terraform_files import local_values, resource, single_block


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


def test_ttl_policy_on_delete_after_in_each_collection_the_catalog_stamps() -> None:
    assert local_values()["firestore_ttl_collections"] == list(TTL_COLLECTIONS)
    field = resource("google_firestore_field", "delete_after").body
    assert field["for_each"] == "${toset(local.firestore_ttl_collections)}"
    assert (field["collection"], field["field"]) == ("${each.key}", DELETE_AFTER_FIELD)
    assert (field["database"], field["project"]) == ("${var.firestore_database}", "${var.project_id}")
    assert single_block(field, "ttl_config") == {"__is_block__": True}
    assert single_block(field, "index_config") == {"__is_block__": True}, "empty: the field is not indexed"
    assert field["depends_on"] == ["${google_firestore_database.catalog}"]


def test_run_claims_are_kept_long_past_the_last_retry_of_their_run() -> None:
    """Every Scheduler attempt of one run (at most 1800 s each, Scheduler's limit for HTTP targets, with
    backoffs of at most max_backoff_duration between them) consults the claim within a few hours; a manual
    `run_key` is repeated by hand, so the claim is kept for days, not hours."""
    told = local_values()
    retries, max_backoff = int(told["scheduler_retry_count"]), int(told["scheduler_max_backoff"])
    window = timedelta(seconds=(retries + 1) * 1800 + retries * max_backoff)
    kept = KEPT_AFTER_LAST_WRITE
    assert window < timedelta(hours=3)
    assert kept >= timedelta(days=7)
