"""Builds the service's parts from the configuration: the embedded defaults, or the Google services.

A configured endpoint override (`BACKUP_*_ENDPOINT`, `BACKUP_FIRESTORE_EMULATOR_HOST`) means a local
server — an emulator or a test fake — and is called with anonymous credentials.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import httplib2
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import firestore

from shared.audit import Auditor
from shared.catalog.base import Catalog
from shared.catalog.firestore import FirestoreCatalog
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import Clock, SystemClock
from shared.config import Config
from shared.errors import ConfigurationError
from shared.models import StorageKind
from shared.notify.base import Notifier
from shared.notify.log import LogNotifier
from shared.notify.safe import SafeNotifier
from shared.notify.sendgrid import SendGridNotifier, build_sendgrid_client
from shared.schedule_sync import CloudSchedulerSync, NoScheduleSync, ScheduleSync, build_scheduler_client
from shared.secrets import (
    EnvironmentSecrets,
    FileSecrets,
    LayeredSecrets,
    SecretManagerSecrets,
    Secrets,
    build_secret_manager_client,
)
from shared.services.context import ServiceContext, default_engine_factory
from shared.storage.base import Storage
from shared.storage.drive import DEFAULT_ENDPOINT, DriveStorage, build_drive_service
from shared.storage.drive_credentials import (
    OAuthRefreshToken,
    refresh_token_credentials,
    service_account_credentials,
)
from shared.storage.local import LocalStorage


def build_context(config: Config, clock: Clock | None = None) -> ServiceContext:
    clock = clock or SystemClock()
    secrets = build_secrets(config)
    if config.database_url is not None and config.database_password_secret:
        password = secrets.get(config.database_password_secret)
        config = replace(config, database_url=config.database_url.with_password(password))
    catalog = build_catalog(config, clock)
    storages, targets = build_storages(config, catalog, secrets)
    return ServiceContext(
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
        return FirestoreCatalog(build_firestore_client(config), config.firestore_prefix, clock)
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


def build_storages(
    config: Config, catalog: Catalog, secrets: Secrets
) -> tuple[dict[StorageKind, Storage], tuple[StorageKind, ...]]:
    """Every configured storage (all can be read and deleted from), and the targets new backups go to.

    With `local,drive`, Drive is a target only while the settings enable it (the seed's optional upload);
    with `drive` alone, Drive is always the target."""
    storages: dict[StorageKind, Storage] = {}
    targets: list[StorageKind] = []
    settings = catalog.get_settings() if StorageKind.DRIVE in config.storage_targets else None
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
        token = OAuthRefreshToken.from_mapping(_json_secret(secrets, drive.oauth_secret), drive.oauth_secret)
        credentials = refresh_token_credentials(token)
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
    if config.notifier != "sendgrid":
        return SafeNotifier(LogNotifier())
    api_key = secrets.get(config.sendgrid_api_key_secret)
    client = (
        build_sendgrid_client(api_key, config.sendgrid_host)
        if config.sendgrid_host
        else build_sendgrid_client(api_key)
    )
    inner = SendGridNotifier(client, config.notify_from, lambda: catalog.get_settings().notification_emails)
    return SafeNotifier(inner, known_secrets=[api_key])


def build_schedule_sync(config: Config) -> ScheduleSync:
    """The Cloud Scheduler job the settings keep in step, or none (local use)."""
    job = config.scheduler.backup_job
    if not job:
        return NoScheduleSync()
    endpoint = config.scheduler.endpoint
    return CloudSchedulerSync(build_scheduler_client(_local_credentials(endpoint), endpoint), job)


def _anonymous() -> Credentials:
    return AnonymousCredentials()  # type: ignore[no-untyped-call]


def _local_credentials(endpoint: str | None) -> Credentials | None:
    return _anonymous() if endpoint else None


def _json_secret(secrets: Secrets, name: str) -> dict[str, object]:
    try:
        value = json.loads(secrets.get(name))
    except json.JSONDecodeError:
        raise ConfigurationError(
            f"secret {name!r} must hold JSON with client_id, client_secret, refresh_token"
        ) from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"secret {name!r} must hold a JSON object")
    return value
