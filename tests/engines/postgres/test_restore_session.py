"""The psycopg restore on the real server: awkward SQL restores exactly, and any failure changes nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace

import pytest

from shared.dburl import DatabaseURL
from shared.engines.postgres.connection import connection_parameters
from shared.engines.postgres.dump_comments import TRAILER
from shared.errors import RestoreError
from tests.databases import fresh_postgres_database, postgres_admin
from tests.engines.postgres.database_state import (
    chunks_of,
    connect,
    database_state,
    dump_to_bytes,
    engine,
    run_sql,
)

PASSWORD = "An0ther-s3cret"
AWKWARD_SCHEMA = r"""
CREATE TABLE "semi;colon
table" ("col; with ""quotes""
and newline" text, n integer);
INSERT INTO "semi;colon
table" VALUES (E'it''s; a \\ backslash\nand \. dot', 1), ('$$;$$', 2), (NULL, 3);
CREATE TABLE log (what text);
CREATE FUNCTION add_one(i integer) RETURNS integer LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
    SELECT CASE WHEN i IS NULL THEN NULL ELSE i + 1 END;
END;
CREATE FUNCTION quoted() RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
    RETURN $$semi; colon$$ || ';' /* not; a comment end */;
END
$body$;
CREATE VIEW doubled AS SELECT n, add_one(n) AS next, quoted() AS q FROM "semi;colon
table";
CREATE RULE log_both AS ON INSERT TO log DO ALSO (NOTIFY a; NOTIFY b);
SELECT lo_from_bytea(0, decode(repeat('0123456789abcdef', 200000), 'hex'));
SELECT lo_from_bytea(0, '\x00ff');
"""


@pytest.fixture(scope="module")
def awkward_source() -> Iterator[DatabaseURL]:
    with fresh_postgres_database("pgawk") as url:
        run_sql(url, AWKWARD_SCHEMA)
        yield url


@pytest.fixture(scope="module")
def awkward_dump(awkward_source: DatabaseURL) -> bytes:
    return b"".join(dump_to_bytes(awkward_source)[0])


@pytest.fixture()
def occupied_target() -> Iterator[DatabaseURL]:
    with fresh_postgres_database("pgdst") as target:
        run_sql(target, "CREATE TABLE precious (a int); INSERT INTO precious VALUES (1), (2)")
        yield target


def _rules(url: DatabaseURL) -> list[tuple[object, ...]]:
    with connect(url) as conn:
        return conn.execute(
            "SELECT rulename, definition FROM pg_rules WHERE schemaname = 'public'"
        ).fetchall()


def test_awkward_sql_restores_exactly(awkward_source: DatabaseURL, awkward_dump: bytes) -> None:
    """Semicolons in identifiers, strings and routine bodies, a rule's two actions, a 3 MB large object."""
    with fresh_postgres_database("pgdst") as target:
        engine(target).restore(chunks_of(awkward_dump, 65536))
        assert database_state(target) == database_state(awkward_source)
        assert _rules(target) == _rules(awkward_source) != []
        with connect(target) as conn:
            assert conn.execute("SELECT next, q FROM doubled WHERE n = 2").fetchone() == (3, "semi; colon;")


@pytest.mark.parametrize("socket", ["/var/run/postgresql", "/var/run/postgresql/.s.PGSQL.5432"])
def test_a_restore_through_a_unix_socket_folder_like_cloud_sqls(awkward_dump: bytes, socket: str) -> None:
    with fresh_postgres_database("pgdst") as target:
        engine(replace(target, host="nowhere.invalid", unix_socket=socket)).restore([awkward_dump])
        with connect(target) as conn:
            assert conn.execute("SELECT count(*) FROM log").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone() == (2,)


def _inside_copy_data(dump: bytes) -> int:
    """A position inside the second row of the first COPY block that has rows."""
    start = 0
    while True:
        start = dump.index(b" FROM stdin;\n", start) + len(b" FROM stdin;\n")
        if not dump.startswith(b"\\.", start):
            return dump.index(b"\n", start) + 3


def _fails_and_changes_nothing(target: DatabaseURL, chunks: Iterable[bytes], message: str) -> str:
    before = database_state(target)
    with pytest.raises(RestoreError, match=message) as raised:
        engine(target).restore(chunks)
    assert database_state(target) == before
    with connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM precious").fetchone() == (2,)
    return str(raised.value)


def test_a_dump_cut_inside_copy_data_changes_nothing(
    awkward_dump: bytes, occupied_target: DatabaseURL
) -> None:
    cut = awkward_dump[: _inside_copy_data(awkward_dump)]
    message = _fails_and_changes_nothing(occupied_target, chunks_of(cut, 100), "incomplete")
    assert "inside the data of a COPY block" in message


def test_a_statement_failing_after_copy_data_changes_nothing(
    awkward_dump: bytes, occupied_target: DatabaseURL
) -> None:
    after_rows = awkward_dump.index(b"\n\\.\n", _inside_copy_data(awkward_dump)) + 4
    broken = awkward_dump[:after_rows] + b"SELECT 1 / 0;\n" + awkward_dump[after_rows:]
    _fails_and_changes_nothing(occupied_target, chunks_of(broken, 4096), "division by zero")


def test_a_bad_row_in_copy_data_changes_nothing(awkward_dump: bytes, occupied_target: DatabaseURL) -> None:
    at = _inside_copy_data(awkward_dump)
    line_start = awkward_dump.rindex(b"\n", 0, at) + 1
    broken = awkward_dump[:line_start] + b"x\tnot a number\n" + awkward_dump[line_start:]
    _fails_and_changes_nothing(
        occupied_target, chunks_of(broken, 4096), "invalid input syntax for type integer"
    )


def test_a_psql_connect_command_is_refused_and_changes_nothing(
    awkward_dump: bytes, occupied_target: DatabaseURL
) -> None:
    at = awkward_dump.index(b"\nCREATE TABLE") + 1
    with_connect = awkward_dump[:at] + b"\\connect other\n" + awkward_dump[at:]
    _fails_and_changes_nothing(occupied_target, [with_connect], r"psql command \\connect")


def test_a_session_ended_midway_changes_nothing(awkward_dump: bytes, occupied_target: DatabaseURL) -> None:
    """The server ends the restore's session while the dump is being read: the transaction dies with it."""
    ended: list[tuple[object, ...] | None] = []
    half = len(awkward_dump) // 2

    def source() -> Iterator[bytes]:
        yield awkward_dump[:half]
        with postgres_admin() as admin:
            ended.append(
                admin.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND application_name = 'db-backup-service'",
                    (occupied_target.database,),
                ).fetchone()
            )
        yield awkward_dump[half:]

    _fails_and_changes_nothing(occupied_target, source(), "terminat|closed the connection|connection")
    assert ended == [(1,)]


def test_a_source_that_fails_leaves_no_reader_thread(
    awkward_dump: bytes, occupied_target: DatabaseURL
) -> None:
    def source() -> Iterator[bytes]:
        yield awkward_dump[:1000]
        raise OSError("storage went away")

    with pytest.raises(RestoreError, match="OSError: storage went away"):
        engine(occupied_target).restore(source())
    assert not [thread for thread in threading.enumerate() if thread.name == "restore-reader"]


def test_a_wrong_password_is_never_shown(awkward_dump: bytes) -> None:
    with fresh_postgres_database("pgdst") as target:
        stranger = replace(target, user="no_such_role_x", password=PASSWORD)
        with pytest.raises(RestoreError, match="Cannot connect") as raised:
            engine(stranger).restore([awkward_dump])
        assert PASSWORD not in str(raised.value) and "no_such_role_x" in str(raised.value)


def test_the_dump_must_end_with_the_trailer(awkward_dump: bytes, occupied_target: DatabaseURL) -> None:
    without_trailer = awkward_dump.replace(TRAILER, b"-- the end\n")
    _fails_and_changes_nothing(occupied_target, [without_trailer], "no 'dump complete' trailer")


def test_connection_parameters_take_the_cloud_sql_socket_folder_and_the_password() -> None:
    url = DatabaseURL(
        engine="postgresql", database="d", user="u", password=PASSWORD, unix_socket="/cloudsql/p:r:i"
    )
    parameters = connection_parameters(url)
    assert parameters["host"] == "/cloudsql/p:r:i" and parameters["port"] == "5432"
    assert parameters["password"] == PASSWORD and PASSWORD not in repr(url)
    assert "password" not in connection_parameters(replace(url, password=""))
