"""A dump or restore that cannot be complete fails loudly, names the cause, and never leaks the password."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Generator, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpReport
from shared.engines.postgres.connection import libpq_environment
from shared.engines.postgres.dump_comments import TRAILER
from shared.engines.postgres.dumper import dump_stream
from shared.engines.postgres.releases import release
from shared.engines.postgres.server_facts import ServerFacts
from shared.engines.postgres.tools import available_tools, candidate_folders, choose_tools
from shared.errors import DumpError, RestoreError
from tests.databases import fresh_postgres_database, postgres_admin
from tests.engines.postgres.checklist_fixture import CHECKLIST_SCHEMA
from tests.engines.postgres.database_state import (
    chunks_of,
    connect,
    database_state,
    dump_to_bytes,
    engine,
    run_sql,
)

PASSWORD = "s3cret-Pa55word"
BIG_TABLE = (
    "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS filler FROM generate_series(1, 60000) g"
)


@pytest.fixture(scope="module")
def big_database() -> Iterator[DatabaseURL]:
    """About 16 MB of rows: enough that pg_dump is still running after the first chunk."""
    with fresh_postgres_database("pgbig") as url:
        run_sql(url, BIG_TABLE)
        yield url


def test_a_missing_database_fails_without_showing_the_password() -> None:
    url = DatabaseURL(engine="postgresql", database=f"missing_{uuid.uuid4().hex[:8]}", user="postgres")
    url = url.with_password(PASSWORD)
    for attempt in (engine(url).check_connection, lambda: list(engine(url).dump(DumpReport()))):
        with pytest.raises(DumpError) as raised:
            attempt()
        assert url.database in str(raised.value) and "does not exist" in str(raised.value)
        assert PASSWORD not in str(raised.value)


def test_a_missing_role_fails_with_the_servers_reason() -> None:
    with fresh_postgres_database() as url:
        stranger = replace(url, user=f"nobody_{uuid.uuid4().hex[:8]}", password=PASSWORD)
        with pytest.raises(DumpError, match=f'role "{stranger.user}" does not exist') as raised:
            engine(stranger).check_connection()
        assert PASSWORD not in str(raised.value)
        with pytest.raises(RestoreError, match="does not exist"):
            engine(stranger).restore([b"SELECT 1;\n"])


def test_the_password_reaches_the_tools_only_through_their_environment() -> None:
    url = DatabaseURL(
        engine="postgresql", database="d", user="u", password=PASSWORD, unix_socket="/cloudsql/p:r:i"
    )
    env = libpq_environment(url, {"PATH": "/bin", "PGPASSWORD": "inherited", "PGSERVICE": "x"})
    assert env["PGPASSWORD"] == PASSWORD and env["PGHOST"] == "/cloudsql/p:r:i" and "PGSERVICE" not in env
    assert PASSWORD not in repr(engine(url).__dict__.get("_url"))


@pytest.fixture()
def reader_without_select() -> Iterator[tuple[DatabaseURL, str]]:
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with fresh_postgres_database() as url:
        run_sql(
            url,
            f"""CREATE TABLE readable (a int); CREATE TABLE "Secret Table" (b int);
                CREATE ROLE {role} LOGIN; GRANT SELECT ON readable TO {role};""",
        )
        try:
            yield replace(url, user=role), role
        finally:
            run_sql(url, f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_table_the_user_may_not_read_fails_the_dump_and_is_named(
    reader_without_select: tuple[DatabaseURL, str],
) -> None:
    url, _ = reader_without_select
    with pytest.raises(DumpError, match=r'public\."Secret Table"'):
        engine(url).check_connection()
    with pytest.raises(DumpError, match="permission denied for table Secret Table"):
        list(engine(url).dump(DumpReport()))


def _children_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        command, _, rest = stat.partition(") ")
        if command.endswith(f"({name}") and int(rest.split()[1]) == os.getpid():
            found.append(int(entry.name))
    return found


def test_pg_dump_killed_mid_dump_fails_the_dump(big_database: DatabaseURL) -> None:
    chunks = engine(big_database).dump(DumpReport())
    next(chunks)
    (pg_dump,) = _children_named("pg_dump")
    os.kill(pg_dump, signal.SIGKILL)
    with pytest.raises(DumpError, match="killed by signal 9"):
        list(chunks)


def test_the_server_ending_the_connection_mid_dump_fails_the_dump(big_database: DatabaseURL) -> None:
    report = DumpReport()
    chunks = engine(big_database).dump(report)
    next(chunks)
    with postgres_admin() as admin:
        ended = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'db-backup-service'",
            (big_database.database,),
        ).fetchone()
    assert ended == (1,)
    with pytest.raises(DumpError, match='Dumping the contents of table "big" failed'):
        list(chunks)
    assert report.tables == {}


def test_an_abandoned_dump_stops_pg_dump(big_database: DatabaseURL) -> None:
    chunks = engine(big_database).dump(DumpReport())
    assert isinstance(chunks, Generator)
    next(chunks)
    assert len(_children_named("pg_dump")) == 1
    chunks.close()
    assert _children_named("pg_dump") == []


@pytest.fixture(scope="module")
def checklist_dump() -> bytes:
    with fresh_postgres_database("pgsrc") as source:
        run_sql(source, CHECKLIST_SCHEMA)
        return b"".join(dump_to_bytes(source)[0])


@pytest.fixture()
def occupied_target() -> Iterator[DatabaseURL]:
    with fresh_postgres_database("pgdst") as target:
        run_sql(
            target, "CREATE TABLE precious (a int); INSERT INTO precious VALUES (1), (2); CREATE SCHEMA kept"
        )
        yield target


def _broken(dump: bytes, before: bytes) -> bytes:
    at = dump.index(before)
    return dump[:at] + b"CREATE VIEW broken AS SELECT * FROM no_such_table;\n" + dump[at:]


@pytest.mark.parametrize("before", [b"CREATE VIEW", TRAILER], ids=["amid-schema", "after-large-objects"])
def test_a_broken_dump_fails_the_restore_and_changes_nothing(
    checklist_dump: bytes, occupied_target: DatabaseURL, before: bytes
) -> None:
    """The failure after the large objects proves their BEGIN/COMMIT did not end the restore's transaction."""
    state = database_state(occupied_target)
    with pytest.raises(RestoreError, match='relation "no_such_table" does not exist'):
        engine(occupied_target).restore(chunks_of(_broken(checklist_dump, before), 4096))
    assert database_state(occupied_target) == state


@pytest.mark.parametrize("kept", [0.0, 0.5, 0.97])
def test_a_truncated_dump_fails_the_restore_and_changes_nothing(
    checklist_dump: bytes, occupied_target: DatabaseURL, kept: float
) -> None:
    before = database_state(occupied_target)
    with pytest.raises(RestoreError, match="incomplete"):
        engine(occupied_target).restore(chunks_of(checklist_dump[: int(len(checklist_dump) * kept)], 1000))
    assert database_state(occupied_target) == before


def test_a_source_failing_midway_rolls_the_restore_back(
    checklist_dump: bytes, occupied_target: DatabaseURL
) -> None:
    def failing_source() -> Iterable[bytes]:
        yield checklist_dump[: len(checklist_dump) // 2]
        raise OSError("storage went away")

    before = database_state(occupied_target)
    with pytest.raises(RestoreError, match="left as it was: OSError: storage went away") as raised:
        engine(occupied_target).restore(failing_source())
    assert raised.value.database_unchanged and isinstance(raised.value.__cause__, OSError)
    assert database_state(occupied_target) == before
    with connect(occupied_target) as conn:
        assert conn.execute("SELECT count(*) FROM precious").fetchone() == (2,)


def test_a_commit_refused_for_a_deferred_constraint_leaves_the_database_as_it_was(
    occupied_target: DatabaseURL,
) -> None:
    dump = (
        b"-- PostgreSQL database dump\n"
        b"CREATE TABLE public.parent (id integer PRIMARY KEY);\n"
        b"CREATE TABLE public.child (p integer REFERENCES public.parent DEFERRABLE INITIALLY DEFERRED);\n"
        b"INSERT INTO public.child VALUES (7);\n" + TRAILER
    )
    before = database_state(occupied_target)
    with pytest.raises(RestoreError, match=r"left as it was: .*foreign key") as raised:
        engine(occupied_target).restore([dump])
    assert raised.value.database_unchanged
    assert database_state(occupied_target) == before


def test_no_table_data_where_the_server_listed_tables_fails_the_dump() -> None:
    """As if the wrong database or schema were dumped: the server said 2 tables, pg_dump wrote none."""
    with fresh_postgres_database() as url:
        env = libpq_environment(url, os.environ)
        facts = ServerFacts(version_num=150000, version="15.0", table_count=2, unreadable_tables="")
        tools = choose_tools(release(15), available_tools(candidate_folders()))
        with pytest.raises(DumpError, match="holds no table data although the database has 2 tables"):
            list(dump_stream(tools, env, facts, url.database, DumpReport()))
