"""A transport for `verify_token` that keeps Google's signing certificates for a while instead of fetching
them on every call; a token signed by a key not seen yet refreshes them (at most once a minute).

Only a 200 whose body is a JSON object of certificates is kept. While the endpoint fails (an error, a hang
cut off by the timeout, a proxy's HTML page), the last good certificates keep serving for up to a day,
and the endpoint is asked again at most once per `retry_interval_seconds`; with no usable certificates
the token cannot be checked at all, which is `TokenCheckUnavailableError` (503), not a verdict on it.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.auth import exceptions as google_auth_errors
from google.auth.transport import Request, Response

from shared.auth.errors import TokenCheckUnavailableError
from shared.redaction import redact

_log = logging.getLogger("backup.auth")
_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True)
class CertsPolicy:
    ttl_seconds: float = 300.0
    """How long fetched certificates are used before they are fetched again."""
    max_stale_seconds: float = 24 * 3600.0
    """How long after the last good fetch its certificates still serve while the endpoint fails."""
    retry_interval_seconds: float = 10.0
    """After a failed fetch, how long until the endpoint is asked again."""
    fetch_timeout_seconds: float = 10.0
    """Connect and read timeout of one fetch (google-auth's transport would wait 120 s)."""
    min_refresh_seconds: float = 60.0
    """An unknown key id refetches only if the certificates are at least this old."""


def certificates_problem(response: Response) -> str | None:
    """Why `response` is not a usable answer of a certificates endpoint; None when it is."""
    if response.status != 200:
        return f"it answered HTTP {response.status}"
    try:
        keys = json.loads(response.data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "it answered 200 with a body that is not JSON (a proxy's page?)"
    if isinstance(keys, dict) and isinstance(keys.get("keys"), list) and keys["keys"]:
        return None  # a JWK set, which google-auth reads too
    if not isinstance(keys, dict) or not keys:
        return "it answered 200 with JSON that is not an object of certificates"
    if not all(isinstance(pem, str) and pem.lstrip().startswith(_PEM_CERTIFICATE) for pem in keys.values()):
        return "it answered 200 with values that are not PEM certificates"
    return None


class CachingCertsRequest(Request):
    """Wraps a google-auth transport; good answers of the certificates URL are reused as `CertsPolicy` says.
    `clock` is monotonic seconds."""

    def __init__(
        self,
        inner: Request,
        certs_url: str,
        policy: CertsPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._certs_url = certs_url
        self._policy = policy or CertsPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        """Guards the fields below."""
        self._fetching = threading.Lock()
        """Held during a fetch: one at a time."""
        self._good: Response | None = None
        self._fetched_at = -math.inf
        self._expired = False
        self._failed_at = -math.inf
        self._fetch_running = False

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: Any = None,
        **kwargs: Any,
    ) -> Response:
        bounded = self._policy.fetch_timeout_seconds if timeout is None else timeout

        def send() -> Response:
            answer: Response = self._inner(
                url, method=method, body=body, headers=headers, timeout=bounded, **kwargs
            )
            return answer

        if url != self._certs_url or method != "GET":
            return send()
        return self._certificates(send)

    def refresh_allowed(self) -> bool:
        """Let the next call refetch unless the certificates were fetched within the last minute; True if so.
        Until a fetch succeeds, the current ones stay the fallback."""
        with self._lock:
            age = self._clock() - self._fetched_at
            if self._good is None or age < self._policy.min_refresh_seconds:
                return False
            self._expired = True
            return True

    def _certificates(self, fetch: Callable[[], Response]) -> Response:
        with self._lock:
            reusable = self._reusable(self._clock())
            if reusable is not None:
                return reusable
            self._refuse_while_waiting_to_retry()
        with self._fetching:
            with self._lock:
                reusable = self._reusable(self._clock())  # fetched (or failed) by another caller meanwhile
                if reusable is not None:
                    return reusable
                self._refuse_while_waiting_to_retry()
                self._fetch_running = True
            try:
                return self._fetch(fetch)
            finally:
                with self._lock:
                    self._fetch_running = False

    def _reusable(self, now: float) -> Response | None:
        """The certificates to use without a fetch: fresh ones, or stale ones while a fetch runs or the last
        one failed moments ago."""
        if self._good is None:
            return None
        age = now - self._fetched_at
        if age < self._policy.ttl_seconds and not self._expired:
            return self._good
        if self._fetch_running or now - self._failed_at < self._policy.retry_interval_seconds:
            return self._stale(now)
        return None

    def _stale(self, now: float) -> Response | None:
        if self._good is not None and now - self._fetched_at < self._policy.max_stale_seconds:
            return self._good
        return None

    def _refuse_while_waiting_to_retry(self) -> None:
        if self._clock() - self._failed_at < self._policy.retry_interval_seconds:
            raise self._unavailable()

    def _fetch(self, fetch: Callable[[], Response]) -> Response:
        try:
            response = fetch()
            problem = certificates_problem(response)
        except google_auth_errors.TransportError as exc:
            problem = redact(f"it could not be reached ({exc})")[:300]
        with self._lock:
            now = self._clock()
            if problem is None:
                self._good, self._fetched_at, self._expired = response, now, False
                return response
            self._failed_at = now
            stale, age = self._stale(now), now - self._fetched_at
        if stale is None:
            _log.error("cannot fetch the ID-token certificates from %s: %s", self._certs_url, problem)
            raise self._unavailable()
        _log.warning(
            "cannot fetch the ID-token certificates from %s: %s; using the ones fetched %.0f s ago",
            self._certs_url,
            problem,
            age,
        )
        return stale

    def _unavailable(self) -> TokenCheckUnavailableError:
        return TokenCheckUnavailableError(
            "the ID token could not be checked: Google's token-signing certificates are unavailable right "
            "now (this says nothing about the token itself); retry in a moment",
            retry_after_seconds=math.ceil(self._policy.retry_interval_seconds),
        )
