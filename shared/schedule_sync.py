"""The `ScheduleSync` seam: keeps the Cloud Scheduler backup and cleanup jobs in step with the settings.

Settings → a `ScheduleSpec` per job (unix-cron, time zone, paused); Cloud Scheduler in the cloud, nothing
locally (the local demo runs on demand). The backup job runs on the settings' schedule and is paused while
`schedule_enabled` is off. The settings hold no cleanup time, so the cleanup job keeps its own cron (the one
Terraform created it with, `cleanup_schedule`), runs in the settings' time zone, and is paused only while
retention is off (all three retention counts 0: a cleanup would delete nothing). Scheduled backups being
off does not pause it: manual backups and imports still need retention.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from google.api_core import exceptions as google_errors
from google.api_core.client_options import ClientOptions
from google.auth.credentials import Credentials
from google.cloud import scheduler_v1

from shared.errors import BackupServiceError
from shared.models import BackupSettings, ScheduleFrequency
from shared.retention import RetentionPolicy


class ScheduleSyncError(BackupServiceError):
    """The Scheduler job could not be read or changed; the message names the job and the fix."""


@dataclass(frozen=True)
class ScheduleSpec:
    cron: str
    time_zone: str
    paused: bool


def schedule_for(settings: BackupSettings) -> ScheduleSpec:
    """Daily and weekly at `schedule_time`; custom uses `cron_expression` as it is."""
    hour, minute = (int(part) for part in settings.schedule_time.split(":"))
    if settings.schedule_frequency is ScheduleFrequency.CUSTOM and settings.cron_expression:
        cron = settings.cron_expression
    elif settings.schedule_frequency is ScheduleFrequency.WEEKLY:
        # settings count Monday as 0; cron counts Sunday as 0
        cron = f"{minute} {hour} * * {(settings.schedule_weekday + 1) % 7}"
    else:
        cron = f"{minute} {hour} * * *"
    return ScheduleSpec(cron=cron, time_zone=settings.time_zone, paused=not settings.schedule_enabled)


def cleanup_schedule_for(settings: BackupSettings, current: ScheduleSpec) -> ScheduleSpec:
    """The cleanup job's own cron, in the settings' time zone; paused while retention is off."""
    retention_off = RetentionPolicy.from_settings(settings).is_off
    return ScheduleSpec(cron=current.cron, time_zone=settings.time_zone, paused=retention_off)


class ScheduleSync(Protocol):
    def read(self) -> ScheduleSpec | None:
        """The job's schedule now; None when there is no job to keep in step."""
        ...

    def write(self, spec: ScheduleSpec) -> None:
        """Make the job run on `spec`; raises `ScheduleSyncError`."""
        ...


class NoScheduleSync:
    """Local use: no Scheduler job; scheduled runs are triggered by hand."""

    def read(self) -> ScheduleSpec | None:
        return None

    def write(self, spec: ScheduleSpec) -> None:
        return None


@dataclass(frozen=True)
class SchedulerJobs:
    """The jobs the settings keep in step; `NoScheduleSync` stands for one that is not configured."""

    backup: ScheduleSync = field(default_factory=NoScheduleSync)
    cleanup: ScheduleSync = field(default_factory=NoScheduleSync)


@dataclass(frozen=True)
class JobMove:
    """One job whose schedule a settings save changes, from `before` to `after`."""

    job: str
    """`backup` or `cleanup`."""
    sync: ScheduleSync
    before: ScheduleSpec
    after: ScheduleSpec


def moves_for(jobs: SchedulerJobs, settings: BackupSettings) -> list[JobMove]:
    """Reads every job first (a `ScheduleSyncError` here has changed nothing); the jobs not yet on the
    schedule `settings` want."""
    backup, cleanup = jobs.backup.read(), jobs.cleanup.read()
    moves: list[JobMove] = []
    if backup is not None and backup != (wanted := schedule_for(settings)):
        moves.append(JobMove("backup", jobs.backup, backup, wanted))
    if cleanup is not None and cleanup != (wanted := cleanup_schedule_for(settings, cleanup)):
        moves.append(JobMove("cleanup", jobs.cleanup, cleanup, wanted))
    return moves


def build_scheduler_client(
    credentials: Credentials | None = None, api_endpoint: str | None = None
) -> scheduler_v1.CloudSchedulerClient:
    """A REST-transport client; `credentials=None` uses the function's service account."""
    options = ClientOptions(api_endpoint=api_endpoint) if api_endpoint else None
    return scheduler_v1.CloudSchedulerClient(
        credentials=credentials, transport="rest", client_options=options
    )


class CloudSchedulerSync:
    """One Cloud Scheduler job (`projects/P/locations/L/jobs/J`), created by Terraform, updated here."""

    def __init__(
        self,
        client: scheduler_v1.CloudSchedulerClient,
        job_name: str,
        setting: str = "BACKUP_SCHEDULER_BACKUP_JOB",
    ) -> None:
        """`setting`: the variable that names the job, for error messages."""
        self._client = client
        self._job = job_name
        self._setting = setting

    def read(self) -> ScheduleSpec:
        try:
            job = self._client.get_job(name=self._job)
        except Exception as exc:
            raise self._translate(exc, "read") from None
        return ScheduleSpec(
            cron=job.schedule,
            time_zone=job.time_zone or "UTC",
            paused=job.state == scheduler_v1.Job.State.PAUSED,
        )

    def write(self, spec: ScheduleSpec) -> None:
        try:
            job = self._client.update_job(
                request={
                    "job": scheduler_v1.Job(name=self._job, schedule=spec.cron, time_zone=spec.time_zone),
                    "update_mask": {"paths": ["schedule", "time_zone"]},
                }
            )
            # Scheduler pauses only an enabled job and resumes only a paused one.
            if spec.paused and job.state != scheduler_v1.Job.State.PAUSED:
                self._client.pause_job(name=self._job)
            elif not spec.paused and job.state != scheduler_v1.Job.State.ENABLED:
                self._client.resume_job(name=self._job)
        except Exception as exc:
            raise self._translate(exc, "update") from None

    def _translate(self, exc: Exception, action: str) -> ScheduleSyncError:
        where = f"Cloud Scheduler job {self._job}"
        if isinstance(exc, google_errors.NotFound):
            hint = (
                f"it does not exist; apply the Terraform that creates it, or fix {self._setting}"
            )
        elif isinstance(
            exc, google_errors.PermissionDenied | google_errors.Forbidden | google_errors.Unauthorized
        ):
            hint = _permission_hint(self._job)
        elif isinstance(exc, google_errors.GoogleAPICallError):
            hint = f"Scheduler answered {exc.code}: {exc.message}"
        else:
            hint = f"Scheduler is unreachable ({type(exc).__name__})"
        return ScheduleSyncError(f"could not {action} {where}: {hint}")


SCHEDULER_ROLE_TITLE = "Database backups: Scheduler job updater"
"""The title of the custom role infra/iam.tf creates as `<name_prefix>_scheduler_job_updater` (`-` as `_`)."""


def _permission_hint(job_name: str) -> str:
    """What the function's service account lacks: the narrow role and the actAs infra/ grants, named as
    infra/ names them (jobs `<name_prefix>-backup` and `-cleanup`, account `<name_prefix>-scheduler`)."""
    parts = job_name.split("/")
    project = parts[1] if len(parts) == 6 and parts[0] == "projects" and parts[1] else "PROJECT"
    job_id = parts[-1]
    prefix = next(
        (job_id.removesuffix(suffix) for suffix in ("-backup", "-cleanup") if job_id.endswith(suffix)), ""
    )
    prefix = prefix or "NAME_PREFIX"
    role = f"projects/{project}/roles/{prefix.replace('-', '_')}_scheduler_job_updater"
    account = f"{prefix}-scheduler@{project}.iam.gserviceaccount.com"
    return (
        f"permission denied; grant the function's service account the custom role {SCHEDULER_ROLE_TITLE!r} "
        f"({role}: cloudscheduler.jobs.get, update, pause and enable) and Service Account User "
        f"(roles/iam.serviceAccountUser) on {account}, the job's OIDC account, which updating the job "
        "requires; `terraform apply` in infra/ grants both"
    )
