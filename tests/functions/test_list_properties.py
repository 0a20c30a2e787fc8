"""Properties 6 (backup list data completeness) and 7 (storage location accuracy), through list_backups."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.models import (
    Backup,
    BackupSource,
    BackupStatus,
    Compression,
    DatabaseInfo,
    StorageKind,
    StorageLocation,
)
from tests.functions.conftest import Api

SEED_FIELDS = {
    "id",
    "filename",
    "file_size",
    "status",
    "created_at",
    "completed_at",
    "source",
    "created_by",
    "is_protected",
    "is_local",
    "is_on_drive",
    "locations",
    "database",
    "sha256",
    "error_message",
}


def _all_pages(api: Api, **query: str) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = []
    cursor = None
    while True:
        params = dict(query, limit="3", **({"cursor": cursor} if cursor else {}))
        page = api.call("list_backups", "GET", query=params).get_json()
        listed.extend(page["backups"])
        cursor = page["next_cursor"]
        if cursor is None:
            return listed


records = st.lists(
    st.tuples(
        st.sampled_from(list(BackupStatus)),
        st.sampled_from(list(BackupSource)),
        st.booleans(),  # protected
        st.sets(st.sampled_from(list(StorageKind))),
        st.integers(min_value=0, max_value=10_000),  # minutes ago
    ),
    max_size=8,
)


@given(records=records)
def test_property_6_and_7_list_completeness_and_locations(api: Api, records: list[tuple]) -> None:  # type: ignore[type-arg]
    catalog = api.runtime.context.catalog
    local_root = api.runtime.config.local_backup_dir
    for backup in catalog.list_backups(limit=1000).backups:
        catalog.delete_backup(backup.id)
    now = datetime.now(UTC)
    expected: dict[str, Backup] = {}
    for status, source, protected, kinds, minutes in records:
        backup_id = uuid.uuid4().hex[:16]
        locations = []
        for kind in sorted(kinds):
            ref = f"{backup_id}.sql.gz" if kind is StorageKind.LOCAL else f"drive-{backup_id}"
            if kind is StorageKind.LOCAL:
                local_root.mkdir(parents=True, exist_ok=True)
                (local_root / ref).write_bytes(b"x")
            locations.append(StorageLocation(kind, ref))
        backup = Backup(
            id=backup_id,
            filename=f"{backup_id}.sql.gz",
            database=DatabaseInfo("mysql", "shop", "db-host"),
            source=source,
            created_by="someone@example.com",
            created_at=now - timedelta(minutes=minutes),
            status=status,
            compression=Compression.GZIP,
            file_size=1,
            sha256="ab" * 32,
            is_protected=protected,
            completed_at=now if status is BackupStatus.COMPLETED else None,
            locations=locations,
        )
        catalog.add_backup(backup)
        expected[backup_id] = backup

    listed = _all_pages(api)
    assert sorted(item["id"] for item in listed) == sorted(expected)  # type: ignore[type-var]
    assert [item["created_at"] for item in listed] == sorted(
        (item["created_at"] for item in listed), reverse=True
    )  # type: ignore[type-var]
    for item in listed:
        assert set(item) >= SEED_FIELDS, SEED_FIELDS - set(item)
        stored = expected[str(item["id"])]
        assert item == stored.to_dict()
        kinds = {loc["kind"] for loc in item["locations"]}  # type: ignore[attr-defined]
        assert item["is_local"] == ("local" in kinds) and item["is_on_drive"] == ("drive" in kinds)
        for loc in item["locations"]:  # type: ignore[attr-defined]
            if loc["kind"] == "local":
                assert (local_root / loc["ref"]).is_file()
    protected = _all_pages(api, protected="true")
    assert {item["id"] for item in protected} == {i for i, b in expected.items() if b.is_protected}


def test_property_7_a_real_backup_lists_where_its_file_is(api: Api) -> None:
    created = api.call("create_backup").get_json()["backup"]
    listed = api.call("list_backups", "GET").get_json()["backups"][0]
    assert (
        listed["locations"]
        == created["locations"]
        == [{"kind": "local", "ref": listed["locations"][0]["ref"]}]
    )
    path = api.runtime.config.local_backup_dir / listed["locations"][0]["ref"]
    assert path.stat().st_size == listed["file_size"]
