"""The plain-dump scanner (dump side): row counts at any chunk boundary, version-skew filtering."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from shared.engines.postgres.dump_comments import TRAILER
from shared.engines.postgres.dump_scanner import PlainDumpScanner
from shared.engines.postgres.header_filter import rejected_by_server
from shared.engines.postgres.releases import major_release, release

HEADER_FROM_PG_DUMP_17 = b"""--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET row_security = off;
SET default_table_access_method = heap;
"""

DUMP = b"""--
-- Data for Name: a b; Type: TABLE DATA; Schema: Mixed; Owner: -
--

COPY "Mixed"."a b" ("x", "y""z
 FROM stdin;") FROM stdin;
1\tline\\nwith escaped newline
2\t\\\\.not an end
3\t\\N
\\\\.starts with an escaped backslash\t4
\\.


--
-- Data for Name: empty; Type: TABLE DATA; Schema: public; Owner: -
--

COPY "public"."empty" ("x") FROM stdin;
\\.


--
-- Data for Name: BLOBS; Type: BLOBS; Schema: -; Owner: -
--

BEGIN;

SELECT pg_catalog.lo_open('16507', 131072);
COMMIT;

--
-- Data for Name: last; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.last (x) FROM stdin;
BEGIN;
COMMIT;
\\.


--
-- PostgreSQL database dump complete
--

"""


TRAILER_LINES = b"--\n" + TRAILER + b"--\n"


def scan(data: bytes, cuts: list[int], scanner: PlainDumpScanner) -> bytes:
    bounds = [0, *sorted(cuts), len(data)]
    out = b"".join(scanner.feed(data[start:end]) for start, end in itertools.pairwise(bounds))
    return out + scanner.finish()


@given(st.lists(st.integers(0, len(DUMP)), max_size=6))
def test_rows_are_counted_wherever_the_chunks_are_cut(cuts: list[int]) -> None:
    scanner = PlainDumpScanner(15)
    assert scan(DUMP, cuts, scanner) == DUMP
    assert scanner.rows == {"Mixed.a b": 4, "public.empty": 0, "public.last": 2}
    assert scanner.unreadable is None


def test_every_single_byte_boundary_gives_the_same_counts() -> None:
    for cut in range(len(DUMP)):
        scanner = PlainDumpScanner(15)
        assert scan(DUMP, [cut], scanner) == DUMP
        assert scanner.rows == {"Mixed.a b": 4, "public.empty": 0, "public.last": 2}, cut


def test_a_dump_cut_inside_copy_data_is_seen_as_incomplete() -> None:
    scanner = PlainDumpScanner(15)
    scan(DUMP[: DUMP.index(b"2\t")], [], scanner)
    assert scanner.unreadable == "the dump is incomplete (it ends inside the data of a COPY block)"


def test_header_settings_unknown_to_the_server_are_filtered_out() -> None:
    for_15 = scan(HEADER_FROM_PG_DUMP_17, [7, 100], PlainDumpScanner(release(15)))
    assert b"transaction_timeout" not in for_15
    assert b"SET default_table_access_method = heap;\n" in for_15
    assert b"SET idle_in_transaction_session_timeout = 0;\n" in for_15
    assert scan(HEADER_FROM_PG_DUMP_17, [], PlainDumpScanner(release(17))) == HEADER_FROM_PG_DUMP_17
    for_11 = scan(HEADER_FROM_PG_DUMP_17, [], PlainDumpScanner(release(11)))
    assert b"default_table_access_method" not in for_11 and b"SET lock_timeout = 0;" in for_11


def test_a_server_before_10_keeps_the_settings_its_two_part_major_knows() -> None:
    for_9_6 = scan(HEADER_FROM_PG_DUMP_17, [], PlainDumpScanner(major_release(90624)))
    assert b"default_table_access_method" not in for_9_6 and b"transaction_timeout" not in for_9_6
    assert b"SET idle_in_transaction_session_timeout = 0;\n" in for_9_6
    assert b"SET row_security = off;\n" in for_9_6
    for_9_5 = scan(HEADER_FROM_PG_DUMP_17, [], PlainDumpScanner(major_release(90507)))
    assert b"idle_in_transaction_session_timeout" not in for_9_5 and b"SET row_security = off;\n" in for_9_5


def test_only_whole_set_lines_are_judged() -> None:
    assert rejected_by_server(b"SET transaction_timeout = 0;\n", release(16))
    assert not rejected_by_server(b"SET transaction_timeout = 0;\n", release(17))
    assert not rejected_by_server(b"SET transaction_timeout = 0; SELECT 1;\n", release(16))
    assert not rejected_by_server(b"SET statement_timeout = 0;\n", release(9, 2))


def test_set_lines_after_the_header_are_kept_they_may_be_inside_a_body_or_a_string() -> None:
    """A function body or a multi-line comment may hold a line that reads like a rejected setting."""
    body = (
        b"--\n-- Name: f(); Type: FUNCTION; Schema: public; Owner: -\n--\n\n"
        b"CREATE FUNCTION public.f() RETURNS void\n    LANGUAGE plpgsql\n    AS $$\nBEGIN\n"
        b"SET transaction_timeout = 0;\nEND $$;\n\n"
        b"COMMENT ON FUNCTION public.f() IS E'a\\n\nSET transaction_timeout = 0;\nb';\n"
    )
    scanned = scan(HEADER_FROM_PG_DUMP_17 + body, [5, 300], PlainDumpScanner(release(15)))
    assert scanned == HEADER_FROM_PG_DUMP_17.replace(b"SET transaction_timeout = 0;\n", b"") + body


LOOKALIKES = (
    HEADER_FROM_PG_DUMP_17
    + b"""
--
-- Name: f(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION "public"."f"() RETURNS "text"
    LANGUAGE "sql"
    AS $$ SELECT '
--
-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: -
--

COPY "public"."t" ("x") FROM stdin;
1
\\.
' $$;

--
-- Name: FUNCTION "f"(); Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON FUNCTION "public"."f"() IS '
--
-- Data for Name: u; Type: TABLE DATA; Schema: public; Owner: -
--

COPY "public"."u" ("x") FROM stdin;
--
-- PostgreSQL database dump complete
--
';

--
-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: -
--

COPY "public"."t" ("x") FROM stdin;
2
3
\\.


--
-- PostgreSQL database dump complete
--

"""
)


@given(st.lists(st.integers(0, len(LOOKALIKES)), max_size=4))
def test_text_in_a_body_or_a_string_that_reads_like_a_copy_block_is_not_one(cuts: list[int]) -> None:
    scanner = PlainDumpScanner(release(17))
    assert scan(LOOKALIKES, cuts, scanner) == LOOKALIKES
    assert scanner.rows == {"public.t": 2}
    assert scanner.unreadable is None


def test_a_trailer_inside_a_string_does_not_make_a_dump_cut_after_it_complete() -> None:
    scanner = PlainDumpScanner(release(17))
    scan(LOOKALIKES[: LOOKALIKES.index(b"2\n3\n")], [], scanner)
    assert scanner.unreadable == "the dump is incomplete (it ends inside the data of a COPY block)"
    scanner = PlainDumpScanner(release(17))
    scan(LOOKALIKES[: LOOKALIKES.rindex(b"\n--\n-- Data for Name: t")], [], scanner)
    assert scanner.unreadable == "the dump is incomplete (no 'dump complete' trailer)"


def test_tables_whose_names_hold_dots_get_keys_of_their_own() -> None:
    section = b"--\n-- Data for Name: x; Type: TABLE DATA; Schema: x; Owner: -\n--\n\n"
    copies = b"".join(
        section + copy + b" FROM stdin;\n1\n\\.\n\n"
        for copy in (b'COPY "a.b"."c" (x)', b'COPY "a"."b.c" (x)', b'COPY "a"."b""c" (x)', b"COPY a.b (x)")
    )
    scanner = PlainDumpScanner(release(17))
    scan(HEADER_FROM_PG_DUMP_17 + copies + TRAILER_LINES, [], scanner)
    assert scanner.rows == {'"a.b".c': 1, 'a."b.c"': 1, 'a."b""c"': 1, "a.b": 1}
    assert scanner.unreadable is None


def test_a_dump_our_restore_would_refuse_is_unreadable() -> None:
    scanner = PlainDumpScanner(release(17))
    scan(HEADER_FROM_PG_DUMP_17 + b'\\connect "other"\n' + TRAILER_LINES, [], scanner)
    assert scanner.unreadable is not None and "psql command \\connect" in scanner.unreadable


ADDITION = b'DROP SCHEMA "public";\n\n'


@given(st.lists(st.integers(0, len(HEADER_FROM_PG_DUMP_17 + b"\n" + DUMP)), max_size=6))
def test_the_addition_goes_in_before_the_first_comment_block_wherever_the_chunks_are_cut(
    cuts: list[int],
) -> None:
    header = HEADER_FROM_PG_DUMP_17 + b"\n"
    scanner = PlainDumpScanner(release(17), ADDITION)
    assert scan(header + DUMP, cuts, scanner) == header + ADDITION + DUMP
    assert scanner.rows == {"Mixed.a b": 4, "public.empty": 0, "public.last": 2}
    assert scanner.unreadable is None


@given(st.lists(st.integers(0, len(HEADER_FROM_PG_DUMP_17 + TRAILER_LINES)), max_size=4))
def test_the_addition_goes_in_before_the_trailer_of_an_empty_database(cuts: list[int]) -> None:
    scanner = PlainDumpScanner(release(17), ADDITION)
    out = scan(HEADER_FROM_PG_DUMP_17 + TRAILER_LINES, cuts, scanner)
    assert out == HEADER_FROM_PG_DUMP_17 + ADDITION + TRAILER_LINES
    assert scanner.unreadable is None
