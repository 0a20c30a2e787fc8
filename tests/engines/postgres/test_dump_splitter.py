"""The restore's dump splitter: statement ends as psql finds them, COPY blocks, adaptations, completeness."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.engines.postgres.dump_splitter import (
    CopyEnd,
    CopyRows,
    CopyStart,
    DumpSplitter,
    Piece,
    Statements,
)
from shared.engines.postgres.releases import release
from shared.errors import RestoreError

TRAILER_LINES = b"\n--\n-- PostgreSQL database dump complete\n--\n\n"

# Every statement below ends with the `;` that ends it for psql; none of the other `;` does.
TRICKY_STATEMENTS = [
    b"SET statement_timeout = 0;",
    b"SET transaction_timeout = 0;",
    b"SELECT pg_catalog.set_config('search_path', '', false);",
    b'CREATE FUNCTION "public"."f;n"() RETURNS text LANGUAGE sql AS $body$ SELECT \';\' || $$;$$ $body$;',
    b"CREATE FUNCTION public.g() RETURNS integer LANGUAGE sql\nBEGIN ATOMIC\n"
    b" SELECT CASE WHEN true THEN 1 ELSE 2 END;\n SELECT 3;\nEND;",
    b"CREATE TABLE \"t;x\ny\" (\"a\"\"; b\" integer, c text DEFAULT E'it\\'s; ok' CHECK (c <> 'x'';y'));",
    b"CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2);",
    b"SELECT 1 AS a$b$, 'a' -- a comment; with a semicolon\n;",
    b"SELECT $1, $x$ $y$; $x$, /* one /* two ; */ still ; */ 2;",
    b"CREATE VIEW v AS SELECT U&'d\\0061t\\+000061;' AS u, e'\\\\'';' AS e;",
    b"SELECT pg_catalog.lowrite(0, '\\x" + b"0a3b" * 300 + b"');",
    b"SELECT E'a''\\';b', '\\';",
]
TRICKY_SCRIPT = (
    b"--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\n"
    + b"\n".join(TRICKY_STATEMENTS[:5])
    + b"\n/* a leading comment /* nested ; */ ; */ "
    + b"\n\n".join(TRICKY_STATEMENTS[5:])
    + b'\nCOPY "public"."t;x\ny" ("a""; b", "c\n FROM stdin;") FROM stdin;\n'
    + b"1\tit's; \\\\. here\n\\\\.\tstarts with an escaped backslash\n\\N\t-- not a comment\n\\.\n"
    + b"SELECT pg_catalog.setval('s', 1, true);\n"
    + TRAILER_LINES
    + b"\\unrestrict abc123\n"
)
TRICKY_PIECES = [
    *[("sql", statement) for statement in TRICKY_STATEMENTS],
    ("copy", b'COPY "public"."t;x\ny" ("a""; b", "c\n FROM stdin;") FROM stdin;'),
    ("rows", b"1\tit's; \\\\. here\n\\\\.\tstarts with an escaped backslash\n\\N\t-- not a comment\n"),
    ("end", b""),
    ("sql", b"SELECT pg_catalog.setval('s', 1, true);"),
]


def split(
    script: bytes,
    cuts: Iterable[int] = (),
    *,
    server_release: int = release(17),
    standard_strings: bool = True,
    batch_bytes: int = 1,
) -> list[tuple[str, bytes]]:
    """Feed `script` cut at `cuts`; with the default `batch_bytes` each statement is a batch of its own."""
    splitter = DumpSplitter(server_release, standard_strings=standard_strings, batch_bytes=batch_bytes)
    bounds = [0, *sorted(cuts), len(script)]
    pieces: list[Piece] = []
    for start, end in itertools.pairwise(bounds):
        pieces += splitter.feed(script[start:end])
    return readable(pieces + splitter.finish())


def readable(pieces: list[Piece]) -> list[tuple[str, bytes]]:
    """The pieces as (kind, bytes); adjacent COPY data joined, since where it is cut depends on the chunks."""
    out: list[tuple[str, bytes]] = []
    for piece in pieces:
        if isinstance(piece, Statements):
            out.append(("sql", piece.sql))
        elif isinstance(piece, CopyStart):
            out.append(("copy", piece.statement))
        elif isinstance(piece, CopyRows):
            if out and out[-1][0] == "rows":
                out[-1] = ("rows", out[-1][1] + bytes(piece.data))
            else:
                out.append(("rows", bytes(piece.data)))
        else:
            assert isinstance(piece, CopyEnd)
            out.append(("end", b""))
    return out


def test_statements_end_where_psql_ends_them() -> None:
    assert split(TRICKY_SCRIPT) == TRICKY_PIECES


def test_a_cut_at_every_position_gives_the_same_pieces() -> None:
    for cut in range(len(TRICKY_SCRIPT) + 1):
        assert split(TRICKY_SCRIPT, [cut]) == TRICKY_PIECES, cut


@given(st.lists(st.integers(0, len(TRICKY_SCRIPT)), max_size=12))
def test_any_cuts_give_the_same_pieces(cuts: list[int]) -> None:
    assert split(TRICKY_SCRIPT, cuts) == TRICKY_PIECES


@given(
    st.lists(st.sampled_from(TRICKY_STATEMENTS[2:]), min_size=1, max_size=8),
    st.lists(st.sampled_from([b"\n", b" ", b"\n-- note; here\n", b"/* x; /* y */ */", b"\n\n"]), min_size=8),
    st.data(),
)
def test_random_scripts_split_into_their_statements(
    statements: list[bytes], separators: list[bytes], data: st.DataObject
) -> None:
    script = b"".join(s + sep for s, sep in zip(statements, separators, strict=False)) + TRAILER_LINES
    cuts = data.draw(st.lists(st.integers(0, len(script)), max_size=6))
    assert split(script, cuts) == [("sql", statement) for statement in statements]


def test_one_character_chunks_work() -> None:
    assert split(TRICKY_SCRIPT, range(len(TRICKY_SCRIPT))) == TRICKY_PIECES


def test_batches_hold_whole_statements_up_to_the_limit() -> None:
    statements = [b"SELECT %d;" % number for number in range(200)]
    script = b"\n".join(statements) + TRAILER_LINES
    batches = [sql for kind, sql in split(script, [7, 500, 1001], batch_bytes=100) if kind == "sql"]
    assert len(batches) > 10
    assert all(len(batch) < 100 + 20 for batch in batches)
    assert b"\n".join(batches) == b"\n".join(statements)


def test_a_statement_longer_than_many_chunks_arrives_whole() -> None:
    statement = b"SELECT pg_catalog.lowrite(0, '\\x" + b"ab" * 2_000_000 + b"');"
    script = b"SELECT 1;\n" + statement + b"\nSELECT 2;\n" + TRAILER_LINES
    cuts = range(4096, len(script), 4096)
    assert split(script, cuts) == [("sql", b"SELECT 1;"), ("sql", statement), ("sql", b"SELECT 2;")]


def test_settings_the_server_does_not_know_are_dropped() -> None:
    script = b"SET transaction_timeout = 0;\nSET statement_timeout = 0;\n" + TRAILER_LINES
    assert split(script, server_release=release(16)) == [("sql", b"SET statement_timeout = 0;")]
    assert split(script, server_release=release(17)) == [
        ("sql", b"SET transaction_timeout = 0;"),
        ("sql", b"SET statement_timeout = 0;"),
    ]


def test_the_dumps_lock_timeout_is_dropped_so_the_restores_own_limit_holds() -> None:
    """pg_dump's header says `SET lock_timeout = 0` (wait for ever); the restore waits at most 60 s."""
    script = b"SET lock_timeout = 0;\nSELECT 'SET lock_timeout = 0;';\n" + TRAILER_LINES
    assert split(script) == [("sql", b"SELECT 'SET lock_timeout = 0;';")]


def test_backslashes_escape_in_plain_strings_while_standard_strings_are_off() -> None:
    script = (
        b"SET standard_conforming_strings = off;\nSELECT 'a\\';b';\n"
        b"SET standard_conforming_strings = on;\nSELECT 'c\\';\n" + TRAILER_LINES
    )
    assert split(script, batch_bytes=1 << 20) == [
        ("sql", b"SET standard_conforming_strings = off;"),  # the server parses a batch before running it
        ("sql", b"SELECT 'a\\';b';\nSET standard_conforming_strings = on;"),
        ("sql", b"SELECT 'c\\';"),
    ]
    assert split(b"SELECT 'a\\';b';\n" + TRAILER_LINES, standard_strings=False) == [
        ("sql", b"SELECT 'a\\';b';")
    ]
    for back_on in (b"SET standard_conforming_strings TO DEFAULT;", b"RESET standard_conforming_strings;"):
        script = back_on + b"\nSELECT 'c\\';\n" + TRAILER_LINES
        assert split(script, standard_strings=False) == [("sql", back_on), ("sql", b"SELECT 'c\\';")]


LARGE_OBJECTS = b"""--
-- Data for Name: BLOBS; Type: BLOBS; Schema: -; Owner: -
--

BEGIN;

SELECT pg_catalog.lo_open('16507', 131072);
SELECT pg_catalog.lowrite(0, '\\x616263');
SELECT pg_catalog.lo_close(0);

COMMIT;
"""


def test_the_transaction_around_large_objects_is_dropped() -> None:
    assert split(LARGE_OBJECTS + TRAILER_LINES) == [
        ("sql", b"SELECT pg_catalog.lo_open('16507', 131072);"),
        ("sql", b"SELECT pg_catalog.lowrite(0, '\\x616263');"),
        ("sql", b"SELECT pg_catalog.lo_close(0);"),
    ]


@pytest.mark.parametrize(
    "script",
    [
        b"SELECT 1;\nCOMMIT;\n",
        b"SELECT 1;\nend;\n",
        b"ROLLBACK;\n",
        LARGE_OBJECTS + b"\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: -\n--\n\nBEGIN;\n",
    ],
    ids=["commit", "end", "rollback", "after-large-objects"],
)
def test_other_transaction_control_is_refused(script: bytes) -> None:
    with pytest.raises(RestoreError, match="controls transactions itself"):
        split(script + TRAILER_LINES)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (b"\\connect other\nSELECT 1;\n", r"psql command \\connect"),
        (b"SELECT 1;\n\\c other\n", r"psql command \\c,"),
        (b"SELECT 1 \\gexec\n", "backslash outside quotes in the middle"),
        (b"SELECT\n\\restrict x\n1;\n", "backslash outside quotes in the middle"),
    ],
)
def test_psql_commands_other_than_restrict_are_refused(script: bytes, message: str) -> None:
    with pytest.raises(RestoreError, match=message):
        split(script + TRAILER_LINES)


@pytest.mark.parametrize(
    ("script", "why"),
    [
        (b"SELECT 1;\n", "no 'dump complete' trailer"),
        (b"COPY t (a) FROM stdin;\n1\n2\n", "inside the data of a COPY block"),
        (b"COPY t (a) FROM stdin;", "right after a COPY statement"),
        (TRAILER_LINES + b"CREATE TABLE t (\n", "inside a statement"),
        (b"SELECT 'open\n" + TRAILER_LINES, "inside a statement, a quoted text"),
        (b"SELECT $x$ open;\n" + TRAILER_LINES, "inside a statement, a quoted text"),
        (b"/* open /* */\n" + TRAILER_LINES, "or a comment"),
    ],
)
def test_an_incomplete_dump_is_refused(script: bytes, why: str) -> None:
    with pytest.raises(RestoreError, match=f"the dump is incomplete \\(.*{re.escape(why)}"):
        split(script)


def test_every_prefix_before_the_trailer_is_incomplete() -> None:
    complete_at = TRICKY_SCRIPT.index(TRAILER_LINES) + len(b"\n--\n-- PostgreSQL database dump complete\n")
    for end in range(complete_at):
        with pytest.raises(RestoreError, match="incomplete"):
            split(TRICKY_SCRIPT[:end], [end // 2])


def test_a_copy_end_line_with_more_on_it_is_refused() -> None:
    with pytest.raises(RestoreError, match=r"not '\\\.' alone"):
        split(b"COPY t (a) FROM stdin;\n1\n\\.x\n" + TRAILER_LINES)


def test_an_empty_copy_block_and_crlf_line_ends() -> None:
    script = b"COPY t (a) FROM stdin;\r\n\\.\r\nCOPY u (b) FROM stdin;\r\n1\r\n\\.\r\n" + TRAILER_LINES
    for cut in range(len(script)):
        assert split(script, [cut]) == [
            ("copy", b"COPY t (a) FROM stdin;"),
            ("end", b""),
            ("copy", b"COPY u (b) FROM stdin;"),
            ("rows", b"1\r\n"),
            ("end", b""),
        ], cut
