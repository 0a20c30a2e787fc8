"""Major releases compare correctly across PostgreSQL's change of numbering at 10."""

from __future__ import annotations

from shared.engines.postgres.releases import major_release, release, release_name
from shared.engines.postgres.server_facts import ServerFacts


def test_server_version_numbers_give_their_major_release() -> None:
    assert major_release(150020) == release(15) == release(15, 20) == 150000
    assert major_release(100023) == release(10)
    assert major_release(90624) == release(9, 6) == 90600
    assert major_release(90507) == release(9, 5)


def test_releases_order_as_versions_do() -> None:
    in_order = [release(9, 4), release(9, 5), release(9, 6), release(10), release(12), release(17)]
    assert sorted(in_order) == in_order
    assert len(set(in_order)) == len(in_order)


def test_release_names_are_written_as_people_write_them() -> None:
    assert [release_name(release(9, 6)), release_name(release(10)), release_name(major_release(150020))] == [
        "9.6",
        "10",
        "15",
    ]


def test_server_facts_give_the_servers_release() -> None:
    assert ServerFacts(90624, "9.6.24", 3, "").release == release(9, 6)
    assert ServerFacts(160004, "16.4", 3, "").release == release(16)
