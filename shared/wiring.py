"""Builds the service's parts from the configuration: the embedded defaults, or the Google services.

A configured endpoint override (`BACKUP_*_ENDPOINT`, `BACKUP_FIRESTORE_EMULATOR_HOST`) means a local
server — an emulator or a test fake — and is called with anonymous credentials.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import UTC, datetime

import httplib2
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import firestore

from shared.audit import Auditor
from shared.catalog.base import Catalog
from shared.catalog.firestore import FirestoreCatalog
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import Clock, SystemClock
from shared.config import Config
from shared.errors import CatalogUnavailableError, ConfigurationError
from shared.models import BackupSettings, StorageKind
from shared.notify.base import Notifier
from shared.notify.log import LogNotifier
from shared.notify.recipients import LastKnownRecipients
from shared.notify.safe import SafeNotifier
from shared.notify.sendgrid import (
    SENDGRID_HOST,
    SendGridNotifier,
    UnsendableNotifier,
    build_sendgrid_client,
)
from shared.schedule_sync import (
    CloudSchedulerSync,
    NoScheduleSync,
    SchedulerJobs,
    ScheduleSync,
    build_scheduler_client,
)
from shared.secrets import (
    EnvironmentSecrets,
    FileSecrets,
    LayeredSecrets,
    SecretError,
    SecretManagerSecrets,
    Secrets,
    build_secret_manager_client,
)
from shared.services.context import ServiceContext, default_engine_factory
from shared.settings_rules import parse_drive_credentials
from shared.storage.base import Storage
from shared.storage.drive import DEFAULT_ENDPOINT, DriveStorage, build_drive_service
from shared.storage.drive_credentials import (
    OAuthRefreshToken,
    refresh_token_credentials,
    service_account_credentials,
)
from shared.storage.local import LocalStorage

_log = logging.getLogger("backup.notify")


def build_context(config: Config, clock: Clock | None = None) -> ServiceContext:
    context, _ = build_context_and_settings_time(config, clock)
    return context


def build_context_and_settings_time(
    config: Config, clock: Clock | None = None
) -> tuple[ServiceContext, datetime | None]:
    """The context, and `updated_at` of the settings its storages were built from (None when they were
    never saved or the storages do not depend on them): `rebuild_storages` when that changes."""
    clock = clock or SystemClock()
    secrets = build_secrets(config)
    if config.database_url is not None and config.database_password_secret:
        password = secrets.get(config.database_password_secret)
        config = replace(config, database_url=config.database_url.with_password(password))
    catalog = build_catalog(config, clock)
    settings, storages_from = _settings_for_storages(config, catalog)
    storages, targets = storages_for(config, settings, secrets)
    context = ServiceContext(
        config=config,
        catalog=catalog,
        storages=storages,
        targets=targets,
        auditor=Auditor(catalog, clock),
        clock=clock,
        engine_factory=default_engine_factory(config),
        notifier=build_notifier(config, catalog, secrets),
        secrets=secrets,
    )
    return context, storages_from


NOT_FROM_SETTINGS = datetime.min.replace(tzinfo=UTC)
"""`updated_at` of no settings: the storages were built without them, which could not be read, so the
first settings read afterwards rebuild them."""


def _settings_for_storages(
    config: Config, catalog: Catalog
) -> tuple[BackupSettings | None, datetime | None]:
    """The settings the storages are built from, and their `updated_at`. An instance that starts while the
    catalog does not answer starts with the storages as configured, so that its calls can still answer
    and count as attempts (a scheduled run's last one mails the failure)."""
    if not storages_follow_settings(config):
        return None, None
    try:
        settings = catalog.get_settings()
    except CatalogUnavailableError as exc:
        _log.error("starting without the settings, which could not be read: %s", exc)
        return None, NOT_FROM_SETTINGS
    return settings, settings.updated_at


def build_secrets(config: Config) -> Secrets:
    environment = EnvironmentSecrets(config.environ)
    if config.secrets == "files":
        if config.secrets_dir is None:
            raise ConfigurationError(
                "BACKUP_SECRETS=files needs BACKUP_SECRETS_DIR, the folder of secret files"
            )
        return LayeredSecrets(FileSecrets(config.secrets_dir), environment)
    if config.secrets == "secret-manager":
        client = build_secret_manager_client(
            _local_credentials(config.secret_manager_endpoint), config.secret_manager_endpoint
        )
        return SecretManagerSecrets(client, config.require_project("Secret Manager"))
    return environment


def build_catalog(config: Config, clock: Clock) -> Catalog:
    if config.catalog == "firestore":
        return FirestoreCatalog(
            build_firestore_client(config), config.firestore_prefix, clock, config.catalog_timeout_seconds
        )
    return SQLiteCatalog(config.catalog_path, clock)


def build_firestore_client(config: Config) -> firestore.Client:
    project = config.require_project("the Firestore catalog")
    if config.firestore_emulator_host is None:
        return firestore.Client(project=project, database=config.firestore_database)
    # The client only looks for the emulator in the environment, and only while it is being built.
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = config.firestore_emulator_host
    try:
        return firestore.Client(project=project, database=config.firestore_database, credentials=_anonymous())
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


def storages_follow_settings(config: Config) -> bool:
    """Drive's folder, credentials and (with `local,drive`) use come from the settings."""
    return StorageKind.DRIVE in config.storage_targets


def rebuild_storages(context: ServiceContext, settings: BackupSettings) -> None:
    """Build the storages again from `settings` (and the Drive credentials secret as it is now)."""
    secrets = context.secrets if context.secrets is not None else build_secrets(context.config)
    context.storages, context.targets = storages_for(context.config, settings, secrets)


def storages_for(
    config: Config, settings: BackupSettings | None, secrets: Secrets
) -> tuple[dict[StorageKind, Storage], tuple[StorageKind, ...]]:
    """Every configured storage (all can be read and deleted from), and the targets new backups go to.

    With `local,drive`, Drive is a target only while the settings enable it (the seed's optional upload);
    with `drive` alone, Drive is always the target."""
    storages: dict[StorageKind, Storage] = {}
    targets: list[StorageKind] = []
    for kind in config.storage_targets:
        if kind is StorageKind.LOCAL:
            storages[kind] = LocalStorage(config.local_backup_dir)
            targets.append(kind)
            continue
        folder = (settings.google_drive_folder_id if settings else None) or config.drive.folder_id
        if not folder:
            raise ConfigurationError(
                "BACKUP_STORAGE includes drive but no folder is set: set BACKUP_DRIVE_FOLDER_ID "
                "or the google_drive_folder_id setting"
            )
        storages[kind] = build_drive_storage(config, secrets, folder)
        only_target = config.storage_targets == (StorageKind.DRIVE,)
        if only_target or (settings is not None and settings.google_drive_enabled):
            targets.append(kind)
    return storages, tuple(targets)


def build_drive_storage(config: Config, secrets: Secrets, folder_id: str) -> DriveStorage:
    drive = config.drive
    credentials: Credentials
    if drive.credentials == "oauth":
        credentials = refresh_token_credentials(_oauth_token(secrets, drive.oauth_secret))
    elif drive.endpoint is not None:
        credentials = _anonymous()
    else:
        credentials = service_account_credentials()
    http = httplib2.Http(ca_certs=str(drive.ca_certs) if drive.ca_certs else None, timeout=60)
    service = build_drive_service(credentials, drive.endpoint or DEFAULT_ENDPOINT, http)
    return DriveStorage(
        service, folder_id, secret_name=drive.oauth_secret if drive.credentials == "oauth" else ""
    )


def build_notifier(config: Config, catalog: Catalog, secrets: Secrets) -> Notifier:
    """The configured notifier inside `SafeNotifier`. When the SendGrid API key cannot be read, one that
    logs every notification at CRITICAL with the reason, so that backups still run."""
    known_secrets = [config.database_url.password] if config.database_url else []
    if config.notifier != "sendgrid":
        return SafeNotifier(LogNotifier(), known_secrets=known_secrets)
    try:
        api_key = _sendgrid_api_key(secrets, config.sendgrid_api_key_secret)
    except (SecretError, ConfigurationError) as exc:
        reason = f"the SendGrid API key could not be read ({exc}); notifications are only logged"
        _log.critical(reason)
        return SafeNotifier(UnsendableNotifier(reason), known_secrets=known_secrets)
    client = build_sendgrid_client(api_key, config.sendgrid_host or SENDGRID_HOST)
    inner = SendGridNotifier(client, config.notify_from, LastKnownRecipients(catalog))
    return SafeNotifier(inner, known_secrets=[api_key, *known_secrets])


def _sendgrid_api_key(secrets: Secrets, name: str) -> str:
    api_key = secrets.get(name)
    if not api_key.strip():
        raise SecretError(f"secret {name!r} is empty")
    return api_key


def build_schedule_sync(config: Config) -> SchedulerJobs:
    """The Cloud Scheduler jobs the settings keep in step; `NoScheduleSync` for one not configured."""
    scheduler = config.scheduler
    if not scheduler.backup_job and not scheduler.cleanup_job:
        return SchedulerJobs()
    client = build_scheduler_client(_local_credentials(scheduler.endpoint), scheduler.endpoint)

    def job(name: str | None, setting: str) -> ScheduleSync:
        return CloudSchedulerSync(client, name, setting) if name else NoScheduleSync()

    return SchedulerJobs(
        backup=job(scheduler.backup_job, "BACKUP_SCHEDULER_BACKUP_JOB"),
        cleanup=job(scheduler.cleanup_job, "BACKUP_SCHEDULER_CLEANUP_JOB"),
    )


def _anonymous() -> Credentials:
    return AnonymousCredentials()  # type: ignore[no-untyped-call]


def _local_credentials(endpoint: str | None) -> Credentials | None:
    return _anonymous() if endpoint else None


def _oauth_token(secrets: Secrets, name: str) -> OAuthRefreshToken:
    """The Drive refresh token in secret `name`, checked as `backup_settings` checks a new one."""
    try:
        return parse_drive_credentials(secrets.get(name), name)
    except ValueError as exc:
        raise ConfigurationError(f"secret {name!r}: {exc}") from None
