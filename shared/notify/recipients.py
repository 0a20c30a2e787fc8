"""Who gets the mail: the settings' notification e-mails, read at send time."""

from __future__ import annotations

import logging

from shared.catalog.base import Catalog
from shared.errors import CatalogUnavailableError

_log = logging.getLogger("backup.notify")


class LastKnownRecipients:
    """The settings' notification e-mails, read at send time; while the catalog does not answer, the ones
    read last, so that the mail about the outage's failures still goes out."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._last: list[str] | None = None

    def __call__(self) -> list[str]:
        try:
            self._last = list(self._catalog.get_settings().notification_emails)
        except CatalogUnavailableError:
            if self._last is None:
                raise
            _log.warning("the catalog does not answer; mailing the recipients it named last")
        return self._last
