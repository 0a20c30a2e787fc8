"""`scheduled_backup`: Cloud Scheduler's target; one backup per scheduled run however often it retries.

Answers: 201 with the new backup; 200 with the backup an earlier attempt made; 200 `skipped` with a
`reason`, and no backup, while the settings have `schedule_enabled` off (logged and audited; a 2xx, so
Scheduler does not retry); 409 while another attempt of the same run is still going (non-2xx, so Scheduler
tries again later rather than counting the run done; the last attempt mails it, since that attempt may have
crashed); a failed backup answers with its error's status (409
when the database is busy, 400 or 404 for bad input or a missing file, else 500), and so do settings that
cannot be read, so Scheduler retries. A manual `gcloud functions call` has no Scheduler headers and names
the run with `run_key` instead; the Terraform jobs also send `{"job": <full name>}`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import flask

from functions.http import Call, Endpoint, json_response, response_for_error, serve
from functions.scheduled_run import ScheduledRun, run_scheduled_backup
from functions.validation import Field, RequestValidationError

JOB_HEADER = "X-CloudScheduler-JobName"
TIME_HEADER = "X-CloudScheduler-ScheduleTime"
RETRY_HEADER = "X-CloudScheduler-RetryCount"
SCHEDULER_HEADERS = (JOB_HEADER, TIME_HEADER, RETRY_HEADER)
EARLIEST_SCHEDULE_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_SCHEDULE_TIME = datetime(3000, 1, 1, tzinfo=UTC)
SCHEDULER_JOB_FIELD = Field(
    "string",
    "Sent by the Cloud Scheduler jobs Terraform makes: the job's full resource name. Informational only.",
    max_length=500,
)
ENDPOINT = Endpoint(
    name="scheduled_backup",
    permission="backups.run-scheduled",
    summary="Scheduled backup (Cloud Scheduler target), idempotent per scheduled run",
    methods={
        "POST": {
            "run_key": Field(
                "string",
                "For manual calls without Scheduler headers: names the run; calls with the same key make "
                "one backup.",
                max_length=128,
                pattern=r"^[A-Za-z0-9._:-]{1,128}$",
            ),
            "job": SCHEDULER_JOB_FIELD,
        }
    },
    headers={
        JOB_HEADER: "Sent by Cloud Scheduler: the job's short name.",
        TIME_HEADER: "Sent by Cloud Scheduler: the run's schedule time (RFC 3339, with an offset, from "
        "2000 to 2999 UTC), the same on every retry.",
        RETRY_HEADER: "Sent by Cloud Scheduler: 0 on the first attempt (ASCII digits).",
    },
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def scheduled_run_from(
    call: Call, operation: str = "backup", manual_run: str = "send run_key in the body for a manual run"
) -> ScheduledRun:
    """The run the Scheduler headers (or `run_key`) name; 400 naming each one missing or malformed.
    `manual_run` says how the endpoint is called by hand instead."""
    headers = call.request.headers
    job, when, retry = headers.get(JOB_HEADER), headers.get(TIME_HEADER), headers.get(RETRY_HEADER)
    run_key = call.params.get("run_key")
    errors: dict[str, str] = {}
    if run_key is not None:
        if job or when:
            errors["run_key"] = "only for calls without Scheduler headers"
    elif not job or not when:
        for name, value in ((JOB_HEADER, job), (TIME_HEADER, when)):
            if not value:
                errors[name] = f"required (or {manual_run})"
    scheduled_for = _schedule_time(when, errors) if when else None
    retry_count = _retry_count(retry, errors) if retry is not None else None
    if job is not None and len(job) > 500:
        errors[JOB_HEADER] = "at most 500 characters"
    if errors:
        raise RequestValidationError(errors)
    key = run_key_for(job, scheduled_for, run_key, operation)
    return ScheduledRun(key=key, scheduled_for=scheduled_for, retry_count=retry_count)


def _schedule_time(text: str, errors: dict[str, str]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        errors[TIME_HEADER] = "must be an RFC 3339 time"
        return None
    if moment.tzinfo is None:
        errors[TIME_HEADER] = "must carry a time zone offset"
        return None
    if not EARLIEST_SCHEDULE_TIME <= moment < LATEST_SCHEDULE_TIME:
        errors[TIME_HEADER] = "must be a time from 2000 to 2999 (UTC)"
        return None
    return moment


def _retry_count(text: str, errors: dict[str, str]) -> int | None:
    if not re.fullmatch(r"[0-9]{1,5}", text.strip()):
        errors[RETRY_HEADER] = "must be a whole number (ASCII digits, at most 5)"
        return None
    return int(text.strip())


def run_key_for(
    job: str | None, scheduled_for: datetime | None, manual_key: str | None, operation: str = "backup"
) -> str:
    """The claim key of a run: job + schedule time (or the manual key), hashed to be a safe document id."""
    when = scheduled_for.isoformat() if scheduled_for else ""
    identity = f"manual|{manual_key}" if manual_key else f"{job}|{when}"
    return f"scheduled-{operation}-" + hashlib.sha256(identity.encode()).hexdigest()[:40]


def _run(call: Call) -> flask.Response:
    run = scheduled_run_from(call)
    ctx = call.runtime.context
    scheduler = call.runtime.config.scheduler
    outcome = run_scheduled_backup(ctx, run, call.actor, scheduler.max_retries, scheduler.backoff)
    if outcome.state == "completed":
        assert outcome.backup is not None
        return json_response({"status": "completed", "backup": outcome.backup.to_dict()}, 201)
    if outcome.state == "skipped":
        return json_response({"status": "skipped", "reason": outcome.reason})
    if outcome.state == "already_done":
        return json_response({"status": "already_done", "backup_id": outcome.backup_id})
    if outcome.state == "in_progress":
        error = "another attempt of this scheduled run is still going" + (
            " (or stopped without finishing); this was the last attempt, and the failure was mailed"
            if outcome.final
            else ""
        )
        response = json_response({"status": "in_progress", "error": error}, 409)
    else:
        assert outcome.error is not None
        response = response_for_error(outcome.error, ENDPOINT.name)
    return with_attempt_headers(response, outcome.attempt, outcome.final)


def with_attempt_headers(response: flask.Response, attempt: int, final: bool) -> flask.Response:
    response.headers["X-Backup-Attempt"] = str(attempt)
    response.headers["X-Backup-Final-Attempt"] = "true" if final else "false"
    return response
