"""Large tables loaded over several connections: the same database, a failure that says so, no thread left."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import Config
from shared.dburl import DatabaseURL
from shared.engines.base import DumpEngine
from shared.engines.postgres.parallel_copy import (
    PARALLEL_FROM_BYTES,
    SLICE_BYTES,
    loads_in_parallel,
    row_slices,
)
from shared.engines.postgres.restorer import restore_stream
from shared.errors import RestoreError
from shared.services.context import default_engine_factory
from tests.databases import fresh_postgres_database
from tests.engines.postgres.database_state import chunks_of, connect, database_state, dump_to_bytes, run_sql
from tests.engines.postgres.test_restore_session import AWKWARD_SCHEMA

SMALL = 64 << 10
"""A parallel threshold the test tables pass many times over."""
BIG_TABLE = r"""
CREATE TABLE big (id int PRIMARY KEY, body text, raw bytea, at timestamptz);
INSERT INTO big SELECT g, 'row ' || g || E' tab\there \\ back\nnew line ' || repeat('é東', g % 40),
                       decode(md5(g::text), 'hex'), '2026-01-01'::timestamptz + g * interval '1 minute'
  FROM generate_series(1, 20000) g;
CREATE INDEX ON big (at);
"""


def _loaders_left() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("restore-loader")]


def _writers(url: DatabaseURL, table: str) -> set[str]:
    """The transactions that wrote the table's rows (their xmin)."""
    with connect(url) as conn:
        return {str(xmin) for (xmin,) in conn.execute(f"SELECT DISTINCT xmin::text FROM {table}").fetchall()}


SMALL_TABLE = '"semi;colon\ntable"'
"""Its COPY comes after big's, so the restore's own (second) transaction writes its rows."""


@pytest.fixture(scope="module")
def source() -> Iterator[DatabaseURL]:
    with fresh_postgres_database("pgpar") as url:
        run_sql(url, AWKWARD_SCHEMA)
        run_sql(url, BIG_TABLE)
        yield url


@pytest.fixture(scope="module")
def dump(source: DatabaseURL) -> bytes:
    return b"".join(dump_to_bytes(source)[0])


def _restore(target: DatabaseURL, data: bytes, connections: int = 3, chunk: int = 50_000) -> None:
    restore_stream(
        target,
        "the test database",
        chunks_of(data, chunk),
        connections=connections,
        parallel_from_bytes=SMALL,
    )


def test_large_tables_load_over_several_connections_and_restore_exactly(
    source: DatabaseURL, dump: bytes
) -> None:
    with fresh_postgres_database("pgpardst") as target:
        run_sql(target, "CREATE TABLE leftover (a int)")
        _restore(target, dump)
        assert database_state(target) == database_state(source)
        assert _writers(target, "big").isdisjoint(_writers(target, SMALL_TABLE))
    assert _loaders_left() == []


def test_one_connection_keeps_every_row_in_one_transaction(source: DatabaseURL, dump: bytes) -> None:
    with fresh_postgres_database("pgpardst") as target:
        _restore(target, dump, connections=1)
        assert database_state(target) == database_state(source)
        assert _writers(target, "big") == _writers(target, SMALL_TABLE)


def _engine_configured_for(connections: int, target: DatabaseURL) -> DumpEngine:
    config = Config.from_env({"BACKUP_POSTGRES_RESTORE_CONNECTIONS": str(connections)})
    return default_engine_factory(config)(target)


def test_the_engine_loads_in_parallel_when_configured(source: DatabaseURL) -> None:
    """From the setting through the engine, with the default threshold: a table of more COPY data."""
    rows = PARALLEL_FROM_BYTES // 200 * 2
    run_sql(
        source,
        f"CREATE TABLE wide AS SELECT g AS id, repeat('w', 200) AS pad FROM generate_series(1, {rows}) g",
    )
    try:
        data = b"".join(dump_to_bytes(source)[0])
        with fresh_postgres_database("pgpardst") as target:
            engine = _engine_configured_for(2, target)
            all_or_nothing = _asked_at_each_chunk(engine, chunks_of(data, 1 << 20))
            engine.restore(all_or_nothing.chunks)
            assert database_state(target) == database_state(source)
            assert _writers(target, "wide").isdisjoint(_writers(target, "big"))  # big: under the threshold
            assert len(_writers(target, "wide")) == 2  # both loaders took slices
            # All or nothing up to the commit before the loaders start; from then on it keeps time for a
            # put-back (`put_back_reserve`).
            assert all_or_nothing.answers[0] and not all_or_nothing.answers[-1]
            assert not engine.restores_in_one_transaction
            again = _engine_configured_for(1, target)
            over_one_connection = _asked_at_each_chunk(again, chunks_of(data, 1 << 20))
            again.restore(over_one_connection.chunks)
            assert all(over_one_connection.answers) and again.restores_in_one_transaction
    finally:
        run_sql(source, "DROP TABLE wide")


@dataclass
class _Answers:
    chunks: Iterator[bytes]
    answers: list[bool]


def _asked_at_each_chunk(engine: DumpEngine, chunks: Iterable[bytes]) -> _Answers:
    """`chunks`, asking the engine whether its restore is still all or nothing as each one is read."""
    answers: list[bool] = []

    def asking() -> Iterator[bytes]:
        for chunk in chunks:
            answers.append(engine.restores_in_one_transaction)
            yield chunk

    return _Answers(asking(), answers)


def test_loaders_take_on_the_dumps_session_settings(source: DatabaseURL, dump: bytes) -> None:
    """A dump written in LATIN1: loaders that kept the connection's UTF8 would reject its bytes."""
    header = b"SET client_encoding = 'UTF8';"
    assert header in dump
    latin1 = (
        dump.replace(header, b"SET client_encoding = 'LATIN1';").decode().replace("東", "ß").encode("latin-1")
    )
    with fresh_postgres_database("pgpardst") as target:
        _restore(target, latin1)
        with connect(target) as conn:
            assert conn.execute("SELECT body FROM big WHERE id = 39").fetchone() == (
                "row 39 tab\there \\ back\nnew line " + "éß" * 39,
            )
        assert _writers(target, "big").isdisjoint(_writers(target, SMALL_TABLE))


def _inside_big_table(dump: bytes) -> int:
    """A row's start inside the big table's COPY data, past the parallel threshold and a whole slice."""
    start = dump.index(b'COPY "public"."big" ')
    at = dump.index(b"\n", start + SMALL + SLICE_BYTES * 3 // 2) + 1
    assert at < dump.index(b"\n\\.\n", start)
    return at


def test_a_bad_row_in_a_loaders_share_fails_the_restore_as_incomplete(dump: bytes) -> None:
    at = _inside_big_table(dump)
    broken = dump[:at] + b"not a number\tx\t\\N\t\\N\n" + dump[at:]
    with fresh_postgres_database("pgpardst") as target, pytest.raises(RestoreError) as raised:
        _restore(target, broken)
    message = str(raised.value)
    assert "invalid input syntax for type integer" in message
    assert "database is incomplete" in message and "several connections" in message
    assert _loaders_left() == []


def test_a_dump_cut_inside_a_parallel_block_commits_none_of_its_rows(dump: bytes) -> None:
    with fresh_postgres_database("pgpardst") as target:
        with pytest.raises(RestoreError, match="ends inside the data of a COPY block"):
            _restore(target, dump[: _inside_big_table(dump) + 10])
        with connect(target) as conn:
            assert conn.execute("SELECT count(*) FROM big").fetchone() == (0,)
    assert _loaders_left() == []


def test_a_stream_that_fails_midway_rolls_the_loaders_back(dump: bytes) -> None:
    class SourceGone(Exception):
        pass

    def failing() -> Iterator[bytes]:
        cut = _inside_big_table(dump) + 10
        yield from chunks_of(dump[:cut], 50_000)
        raise SourceGone("storage went away")

    with fresh_postgres_database("pgpardst") as target:
        with pytest.raises(RestoreError, match="incomplete: SourceGone: storage went away") as raised:
            restore_stream(target, "the test database", failing(), connections=3, parallel_from_bytes=SMALL)
        assert not raised.value.database_unchanged, "the table was committed for the loaders"
        with connect(target) as conn:
            assert conn.execute("SELECT count(*) FROM big").fetchone() == (0,)
    assert _loaders_left() == []


@pytest.fixture()
def user_allowed_two_connections() -> Iterator[DatabaseURL]:
    role = f"limited_{uuid.uuid4().hex[:8]}"
    with fresh_postgres_database("pgparlim") as target:
        admin = replace(target, database="postgres")
        run_sql(admin, f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 2")
        run_sql(admin, f'ALTER DATABASE "{target.database}" OWNER TO {role}')
        try:
            yield replace(target, user=role)
        finally:
            run_sql(target, f"REASSIGN OWNED BY {role} TO postgres; DROP OWNED BY {role}")
            run_sql(admin, f"DROP ROLE {role}")


def test_a_user_allowed_fewer_connections_loads_with_those_it_gets(
    source: DatabaseURL, dump: bytes, user_allowed_two_connections: DatabaseURL
) -> None:
    _restore(user_allowed_two_connections, dump, connections=4)
    restored = replace(user_allowed_two_connections, user="postgres")
    assert database_state(restored).rows == database_state(source).rows
    assert _writers(restored, "big").isdisjoint(_writers(restored, SMALL_TABLE))


@given(
    rows=st.lists(st.binary(max_size=60).map(lambda raw: raw.replace(b"\n", b"\\n")), max_size=60),
    cuts=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=20),
    size=st.integers(min_value=1, max_value=500),
)
def test_row_slices_keep_every_byte_and_end_at_row_ends(
    rows: list[bytes], cuts: list[int], size: int
) -> None:
    data = b"".join(row + b"\n" for row in rows)
    pieces, at = [], 0
    for cut in cuts * (len(data) // sum(cuts) + 1):
        pieces.append(memoryview(data)[at : at + cut])
        at += cut
    slices = [b"".join(bytes(view) for view in piece) for piece in row_slices(pieces, size)]
    assert b"".join(slices) == data
    assert all(piece.endswith(b"\n") for piece in slices)
    assert all(len(piece) > 0 for piece in slices)


@pytest.mark.parametrize(
    ("statement", "parallel"),
    [
        (b"COPY public.big (id, body) FROM stdin;", True),
        (b'COPY "public"."a table" ("x FROM stdin") FROM stdin;\n', True),
        (b"COPY public.big FROM stdin WITH (FORMAT csv);", False),
        (b"COPY public.big FROM stdin CSV;", False),
        (b"COPY BINARY big FROM stdin;", False),
        (b"COPY public.big FROM stdin WHERE id > 1;", False),
        (b"COPY public.big FROM '/etc/passwd';", False),
    ],
)
def test_only_plain_text_copies_are_cut_into_slices(statement: bytes, parallel: bool) -> None:
    assert loads_in_parallel(statement) is parallel
