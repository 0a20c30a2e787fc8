"""What the command line prints: --json before or after the command, argument errors as JSON, every
failure with the same `error`/`exit_code` fields and one line on stderr, and a closed stdout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.cli.running import MAIN, ROOT, Cli, finished


def test_json_and_debug_work_before_the_command_too(cli: Cli) -> None:
    backup = cli("create", "--json").json
    assert cli("--json", "show", backup["id"]).json["id"] == backup["id"]
    assert cli("--json", "show", backup["id"], "--json").json["id"] == backup["id"]
    missing = cli("--json", "--debug", "show", "ffffffffffffffff")
    assert missing.code == 4 and missing.json["exit_code"] == 4 and "Traceback" in missing.stderr
    unparsed = cli("--json", "list", "--limit", "abc")
    assert unparsed.code == 2 and "--limit" in unparsed.json["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--limit", "abc"], "--limit"),
        (["nosuch"], "invalid choice"),
        ([], "COMMAND"),
        (["show"], "id"),
        (["serve", "--port", "99999"], "--port"),
        (["serve", "--port", "-1"], "--port"),
        (["serve", "--port", "0"], "--port"),
    ],
)
def test_argument_errors_are_usage_for_people_and_json_with_json(
    cli: Cli, args: list[str], message: str
) -> None:
    for_people = cli(*args)
    assert for_people.code == 2 and for_people.stdout == ""
    assert "usage: python main.py" in for_people.stderr and message in for_people.stderr
    as_json = cli(*args, "--json")
    assert as_json.code == 2, as_json.stderr
    assert as_json.json["exit_code"] == 2 and message in as_json.json["error"]
    assert as_json.stderr.strip() == f"error: {as_json.json['error']}"


def test_a_cleanup_that_could_not_delete_says_so_as_every_failure_does(cli: Cli) -> None:
    assert cli("settings", "--set", "retention_daily=1", "--set", "retention_weekly=0").code == 0
    assert cli("settings", "--set", "retention_monthly=0").code == 0
    ids = [cli("create", "--json").json["id"] for _ in range(2)]
    [planned] = cli("cleanup", "--dry-run", "--json").json["delete"]
    assert planned["id"] == ids[0]
    stored = cli.files / cli("show", planned["id"], "--json").json["filename"]
    stored.unlink()
    (stored / "in-the-way").mkdir(parents=True)  # a folder where the file was: it cannot be deleted

    as_json = cli("cleanup", "--json")
    assert as_json.code == 1
    result = as_json.json
    assert result["exit_code"] == 1 and planned["id"] in result["error"]
    assert [failure["id"] for failure in result["failures"]] == [planned["id"]]
    assert as_json.stderr.strip().startswith("error: cleanup could not delete 1 backup(s)")
    assert len(as_json.stderr.strip().splitlines()) == 1

    for_people = cli("cleanup")
    assert for_people.code == 1 and f"FAILED  {planned['id']}" in for_people.stdout
    assert for_people.stderr.startswith("error: cleanup could not delete")
    assert planned["id"] in for_people.stderr
    shutil.rmtree(stored)


def test_a_closed_stdout_is_no_traceback_and_hides_no_completed_backup(cli: Cli) -> None:
    for args in (["create", "--json"], ["list"]):
        reading, writing = os.pipe()
        os.close(reading)  # nobody will read what the command prints
        try:
            process = cli.start(*args, stdout=writing)
        finally:
            os.close(writing)
        run = finished(process)
        assert run.code == 141, run.stderr
        assert "Traceback" not in run.stderr
        assert run.stderr.strip() == (
            "warning: stdout was closed before the output could be written; the command completed"
        )
    [backup] = cli("list", "--json").json["backups"]
    assert backup["status"] == "completed"


def test_a_closed_stdout_keeps_the_exit_code_of_a_failure(cli: Cli) -> None:
    reading, writing = os.pipe()
    os.close(reading)
    try:
        process = cli.start("show", "ffffffffffffffff", "--json", stdout=writing)
    finally:
        os.close(writing)
    run = finished(process)
    assert run.code == 4 and "Traceback" not in run.stderr and "ffffffffffffffff" in run.stderr


def test_stdout_on_a_full_disk_or_not_open_at_all_is_no_traceback_either(cli: Cli) -> None:
    with open("/dev/full", "wb") as full:
        run = finished(cli.start("create", "--json", stdout=full))
    assert run.code == 141 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.strip() == (
        "warning: the output could not be written to stdout (No space left on device); the command completed"
    )
    [backup] = cli("list", "--json").json["backups"]
    assert backup["status"] == "completed"

    for args, code in ((["list"], 141), (["show", "ffffffffffffffff"], 4)):
        started = subprocess.Popen(
            [sys.executable, MAIN, *args],
            env=cli.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: os.close(1),  # the child starts with no stdout
        )
        run = finished(started)
        assert run.code == code and "Traceback" not in run.stderr, run.stderr
