# The catalog: a native-mode Firestore database, the composite indexes its queries need, and the TTL
# policies that delete its lock and run claim documents once nothing can consult them.
# local.firestore_indexes mirrors COMPOSITE_INDEXES in shared/catalog/firestore_indexes.py, and
# local.firestore_ttl_collections TTL_COLLECTIONS in shared/catalog/firestore.py; tests/infra fails when
# either pair differs.

resource "google_firestore_database" "catalog" {
  count = var.create_firestore_database ? 1 : 0

  project                           = var.project_id
  name                              = var.firestore_database
  location_id                       = coalesce(var.firestore_location, var.region)
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "OPTIMISTIC"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  depends_on = [google_project_service.enabled]
}

locals {
  firestore_indexes = [
    { collection = "backups", fields = [["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["is_protected", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["source", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["is_protected", "ASCENDING"], ["source", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["status", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["is_protected", "ASCENDING"], ["status", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["source", "ASCENDING"], ["status", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["is_protected", "ASCENDING"], ["source", "ASCENDING"], ["status", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["run_lock", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["is_protected", "ASCENDING"], ["run_lock", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["run_lock", "ASCENDING"], ["source", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["is_protected", "ASCENDING"], ["run_lock", "ASCENDING"], ["source", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["run_lock", "ASCENDING"], ["status", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["is_protected", "ASCENDING"], ["run_lock", "ASCENDING"], ["status", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["run_lock", "ASCENDING"], ["source", "ASCENDING"], ["status", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backups", fields = [["is_protected", "ASCENDING"], ["run_lock", "ASCENDING"], ["source", "ASCENDING"], ["status", "ASCENDING"], ["created_at", "DESCENDING"], ["id", "DESCENDING"]] },
    { collection = "backup_logs", fields = [["created_at", "DESCENDING"], ["logged_ns", "DESCENDING"]] },
    { collection = "backup_logs", fields = [["backup_id", "ASCENDING"], ["created_at", "DESCENDING"], ["logged_ns", "DESCENDING"]] },
  ]

  # Every write of a lock or run claim sets its delete_after 30 days after that write (or its expiry)
  # (KEPT_AFTER_LAST_WRITE in shared/catalog/leases.py), long after any retry of its run.
  firestore_ttl_collections = ["locks", "runs"]
}

resource "google_firestore_index" "catalog" {
  for_each = {
    for index in local.firestore_indexes :
    "${index.collection}(${join(",", [for field in index.fields : "${field[0]} ${field[1]}"])})" => index
  }

  project     = var.project_id
  database    = var.firestore_database
  collection  = each.value.collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value[0]
      order      = fields.value[1]
    }
  }

  depends_on = [google_firestore_database.catalog]
}

resource "google_firestore_field" "delete_after" {
  for_each = toset(local.firestore_ttl_collections)

  project    = var.project_id
  database   = var.firestore_database
  collection = each.key
  field      = "delete_after"

  # Firestore deletes a document some time after its delete_after has passed (Google: within 1-3 days).
  ttl_config {}

  # Nothing queries the field: no single-field indexes to write on every lock and claim.
  index_config {}

  depends_on = [google_firestore_database.catalog]
}
