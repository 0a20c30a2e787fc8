"""Who gets the mail: the settings' notification e-mails, read at send time."""

from __future__ import annotations

import logging

from shared.catalog.base import Catalog
from shared.redaction import redact

_log = logging.getLogger("backup.notify")


class LastKnownRecipients:
    """The settings' notification e-mails, read at send time; while they cannot be read (the catalog does
    not answer, or the stored settings are invalid), the ones read last, so that the mail about the failure
    still goes out. With none read yet, the error passes on."""

    def __init__(self, catalog: Catalog, logger: logging.Logger = _log) -> None:
        self._catalog = catalog
        self._logger = logger
        self._last: list[str] | None = None

    def __call__(self) -> list[str]:
        try:
            self._last = list(self._catalog.get_settings().notification_emails)
        except Exception as error:
            if self._last is None:
                raise
            self._logger.error(
                "the settings' notification e-mails could not be read (%s); mailing the ones read last",
                redact(f"{type(error).__name__}: {error}"),
            )
        return self._last
