"""Each kind of notification renders a mail saying what, which backup and database, when, why, what next."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from html import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.models import DatabaseInfo, StorageKind
from shared.notify import (
    DatabaseAfter,
    Notification,
    NotificationKind,
    backup_failed,
    drive_upload_degraded,
    restore_failed,
)
from shared.notify.base import database_after
from shared.notify.messages import Mail, headline, next_step, render
from tests.notify.examples import BUILDERS, DATABASE, LEAKY_ERROR, WHEN


def test_every_kind_has_a_builder() -> None:
    assert set(BUILDERS) == set(NotificationKind)


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_mail_carries_what_which_when_why_and_next_step(kind: NotificationKind) -> None:
    notification = BUILDERS[kind](RuntimeError("Lost connection to MySQL server during query"))
    assert notification.kind is kind
    mail = render(notification)
    assert headline(kind) in mail.subject
    assert "shop" in mail.subject
    for body in (mail.text, mail.html):
        assert "bk-101" in body
        assert "mysql" in body
        assert "shop" in body
        assert "2026-03-14T02:00:07+00:00" in body
        assert "RuntimeError: Lost connection to MySQL server during query" in body
    assert next_step(kind) in mail.text
    assert escape(next_step(kind)) in mail.html


def test_next_steps_differ_per_kind() -> None:
    assert len({next_step(kind) for kind in NotificationKind}) == len(NotificationKind)


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_no_password_in_any_part_of_the_mail(kind: NotificationKind) -> None:
    mail = render(BUILDERS[kind](LEAKY_ERROR))
    for part in (mail.subject, mail.text, mail.html):
        assert "Sup3r-Secret-pw" not in part
    assert "mysql://backup:***@10.0.0.5:3306/shop" in mail.text


def test_a_notification_built_by_hand_is_still_redacted() -> None:
    notification = Notification(
        NotificationKind.BACKUP_FAILED,
        DATABASE,
        WHEN,
        "password=Sup3r-Secret-pw",
        facts={"note": "token=abc12345"},
    )
    mail = render(notification)
    assert "Sup3r-Secret-pw" not in mail.text + mail.html
    assert "abc12345" not in mail.text + mail.html


def test_html_escapes_the_error() -> None:
    mail = render(backup_failed(DATABASE, "near '<script>alert(1)</script>' at line 1", WHEN))
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html


def test_restore_mail_names_the_pre_restore_backup() -> None:
    mail = render(BUILDERS[NotificationKind.RESTORE_FAILED]("x"))
    assert "bk-100" in mail.text


def test_backup_without_a_record_says_so() -> None:
    mail = render(backup_failed(DATABASE, "lock busy", WHEN))
    assert "Backup: (none" in mail.text


def test_times_are_shown_in_utc() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 3, 14, 3, 0, 7, tzinfo=ZoneInfo("Europe/Paris"))
    assert "2026-03-14T02:00:07+00:00" in render(backup_failed(DATABASE, "x", local)).text


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        backup_failed(DATABASE, "x", datetime(2026, 3, 14, 2, 0))


def test_line_breaks_in_the_database_name_never_reach_the_subject() -> None:
    database = DatabaseInfo(engine="mysql", name="shop\r\nBcc: evil@x.test")
    mail = render(backup_failed(database, "x", WHEN))
    assert mail.subject == "[DB backup] Backup failed: mysql shop  Bcc: evil@x.test"


@given(name=st.text(max_size=40))
def test_no_subject_holds_a_control_character(name: str) -> None:
    subject = render(backup_failed(DatabaseInfo(engine="postgresql", name=name), "x", WHEN)).subject
    assert not any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in subject)


def degraded(failed: StorageKind | None, kept_at: str) -> Mail:
    return render(drive_upload_degraded(DATABASE, "storage failed", WHEN, "bk-101", kept_at, failed))


def test_a_failed_drive_upload_is_named_as_such() -> None:
    mail = degraded(StorageKind.DRIVE, "local")
    assert "Backup not uploaded to Google Drive" in mail.subject
    assert "uploading it to Google Drive failed" in mail.text
    assert "drive-test" in mail.text


def test_a_failed_local_copy_is_not_called_a_drive_upload() -> None:
    mail = degraded(StorageKind.LOCAL, "drive")
    assert "local storage" in mail.subject
    for part in (mail.subject, mail.text, mail.html):
        assert "Google Drive" not in part
    assert "writing it to local storage failed" in mail.text
    assert "BACKUP_HOME" in mail.text


def test_a_degraded_backup_without_the_failed_storage_names_none_in_its_title() -> None:
    mail = degraded(None, "local")
    assert "Google Drive" not in mail.subject
    assert "the error names which" in mail.text


def restore_mail(after: DatabaseAfter | None) -> str:
    return render(restore_failed(DATABASE, "x", WHEN, "bk-101", "bk-100", after)).text


AS_BEFORE = "the database holds its data from before the restore"


def test_a_restore_mail_says_the_database_is_as_before_only_when_it_is() -> None:
    assert AS_BEFORE in restore_mail(DatabaseAfter.UNCHANGED)
    assert AS_BEFORE in restore_mail(DatabaseAfter.PUT_BACK)
    assert "was put back" in restore_mail(DatabaseAfter.PUT_BACK)
    for unknown_or_worse in (None, DatabaseAfter.MAY_BE_INCOMPLETE):
        text = restore_mail(unknown_or_worse)
        assert AS_BEFORE not in text and "should hold its data from before" not in text


def test_a_restore_that_left_the_database_incomplete_says_so_in_the_subject_and_body() -> None:
    mail = render(restore_failed(DATABASE, "x", WHEN, "bk-101", "bk-100", DatabaseAfter.MAY_BE_INCOMPLETE))
    assert "may be incomplete" in mail.subject
    assert "NOT put back" in mail.text and "protected" in mail.text
    assert "restore the pre-restore backup" in mail.text


@pytest.mark.parametrize(
    ("changed", "put_back", "after"),
    [
        (False, False, DatabaseAfter.UNCHANGED),
        (True, True, DatabaseAfter.PUT_BACK),
        (True, False, DatabaseAfter.MAY_BE_INCOMPLETE),
    ],
)
def test_database_after(changed: bool, put_back: bool, after: DatabaseAfter) -> None:
    assert database_after(changed=changed, put_back=put_back) is after
