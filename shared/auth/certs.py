"""A transport for `verify_token` that keeps Google's signing certificates for a while instead of fetching
them on every call; a token signed by a key not seen yet refreshes them (at most once a minute)."""

from __future__ import annotations

import threading
import time
from typing import Any

from google.auth.transport import Request, Response

CERTS_TTL_SECONDS = 300.0
MIN_REFRESH_SECONDS = 60.0


class CachingCertsRequest(Request):
    """Wraps a google-auth transport; successful GETs of the certificates URL are reused for a TTL."""

    def __init__(self, inner: Request, certs_url: str, ttl: float = CERTS_TTL_SECONDS) -> None:
        self._inner = inner
        self._certs_url = certs_url
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: Response | None = None
        self._fetched_at = 0.0

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: Any = None,
        **kwargs: Any,
    ) -> Response:
        if url != self._certs_url or method != "GET":
            passed: Response = self._inner(
                url, method=method, body=body, headers=headers, timeout=timeout, **kwargs
            )
            return passed
        with self._lock:
            if self._cached is not None and time.monotonic() - self._fetched_at < self._ttl:
                return self._cached
        response: Response = self._inner(
            url, method=method, body=body, headers=headers, timeout=timeout, **kwargs
        )
        if response.status == 200:
            with self._lock:
                self._cached, self._fetched_at = response, time.monotonic()
        return response

    def refresh_allowed(self) -> bool:
        """Drop the cached certificates unless they were fetched within the last minute; True if dropped."""
        with self._lock:
            if self._cached is None or time.monotonic() - self._fetched_at < MIN_REFRESH_SECONDS:
                return False
            self._cached = None
            return True
