"""`backup_settings`: GET the settings, PUT changes (kept in step with Cloud Scheduler; new Drive
credentials go to Secret Manager), or POST `{"action": "test_drive"}` to try the Drive connection and
`{"action": "test_database"}` to check that the database can be fully backed up (no backup is taken)."""

from __future__ import annotations

from collections.abc import Callable

import flask

from functions import delete_backup
from functions.http import Call, Endpoint, json_response, serve
from functions.validation import Field
from shared.errors import InvalidInputError
from shared.models import AuditAction, BackupSettings, ScheduleFrequency
from shared.retention import RetentionPolicy
from shared.services.check_audit import record_check
from shared.services.database_check import check_database
from shared.services.drive_check import check_drive
from shared.services.settings import SettingsService
from shared.settings_rules import MAX_RETENTION


def _retention(description: str) -> Field:
    return Field("integer", description, minimum=0, maximum=MAX_RETENTION)


SETTINGS_FIELDS = {
    "schedule_enabled": Field("boolean", "Run scheduled backups (the Scheduler job is paused when false)."),
    "schedule_frequency": Field(
        "string",
        "daily, weekly or custom (cron_expression).",
        choices=tuple(str(f) for f in ScheduleFrequency),
    ),
    "schedule_time": Field("string", "HH:MM, 24-hour, in time_zone.", max_length=5),
    "schedule_weekday": Field("integer", "0 = Monday … 6 = Sunday (weekly).", minimum=0, maximum=6),
    "cron_expression": Field("string", "Five-field unix-cron (custom).", nullable=True, max_length=200),
    "time_zone": Field("string", "IANA time zone, e.g. Europe/Berlin.", max_length=64),
    "retention_daily": _retention("Daily backups to keep."),
    "retention_weekly": _retention("Weekly backups to keep."),
    "retention_monthly": _retention("Monthly backups to keep."),
    "google_drive_enabled": Field(
        "boolean",
        "Store backups on Google Drive as well (BACKUP_STORAGE=local,drive). A change that could not take "
        "effect is refused (400) - to true with BACKUP_STORAGE=local, to false with drive.",
    ),
    "google_drive_folder_id": Field("string", "Drive folder id.", nullable=True, max_length=200),
    "notification_emails": Field("array", "Who gets failure mails.", max_items=50, max_length=254),
    "drive_credentials": Field(
        "string",
        "New Drive OAuth credentials (JSON with client_id, client_secret, refresh_token); stored in "
        "Secret Manager, never returned or logged.",
        max_length=16_384,
    ),
}
ENDPOINT = Endpoint(
    name="backup_settings",
    permission="backups.manage-settings",
    summary="Show or change the settings; test the Drive and database connections",
    methods={
        "GET": {},
        "PUT": SETTINGS_FIELDS,
        "POST": {
            "action": Field(
                "string",
                "test_drive: try the Drive connection. test_database: check that the database can be reached "
                "and fully backed up, and that a restore would start, changing nothing. Each test is "
                "audited under its own name, with its outcome.",
                required=True,
                choices=("test_drive", "test_database"),
            )
        },
    },
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def _run(call: Call) -> flask.Response:
    settings = SettingsService(call.runtime.context, call.runtime.schedule)
    if call.request.method == "GET":
        return json_response({"settings": settings.get().to_dict()})
    if call.request.method == "POST":
        return _test_database(call) if call.params["action"] == "test_database" else _test_drive(call)
    changes = dict(call.params)
    credentials = changes.pop("drive_credentials", None)
    updated = settings.update(
        changes, call.actor, drive_credentials=credentials, authorize=_may_delete_if_tightening(call)
    )
    return json_response({"settings": updated.to_dict()})


def _may_delete_if_tightening(call: Call) -> Callable[[BackupSettings, BackupSettings], None]:
    """A retention change that keeps fewer backups deletes the rest at the next cleanup, so it also takes
    the permission to delete."""

    def authorize(current: BackupSettings, updated: BackupSettings) -> None:
        before, after = RetentionPolicy.from_settings(current), RetentionPolicy.from_settings(updated)
        tightening = after.tightened_from(before)
        if tightening:
            because = f"{tightening} deletes backups at the next cleanup"
            call.runtime.guard.require(call.caller, delete_backup.ENDPOINT.permission, ENDPOINT.name, because)

    return authorize


def _test_database(call: Call) -> flask.Response:
    check = check_database(call.runtime.context)
    record_check(call.runtime.context, call.actor, AuditAction.TEST_DATABASE, check)
    if not check.configured:
        raise InvalidInputError(check.message)
    return json_response(check.to_dict())


def _test_drive(call: Call) -> flask.Response:
    check = check_drive(call.runtime.context)
    record_check(call.runtime.context, call.actor, AuditAction.TEST_DRIVE, check)
    if not check.configured:
        raise InvalidInputError(check.message)
    return json_response({"ok": check.ok, **check.to_dict()})
